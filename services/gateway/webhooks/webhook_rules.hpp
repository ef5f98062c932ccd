// Webhooks without I/O: secrets, Standard Webhooks 1.0 signatures, URL and address checks, and
// the retry schedule. Unit-tested in tests/webhook_rules_test.cpp.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace loyalty::gateway::webhooks {

// "whsec_" + base64 of 24 random bytes (OpenSSL's RAND_bytes).
std::string NewSecret();

std::string Base64Encode(const std::string& bytes);
// nullopt for text that is not padded standard base64.
std::optional<std::string> Base64Decode(const std::string& text);

// "v1,<base64 HMAC-SHA256 of id.timestamp.body>" keyed with the bytes after "whsec_";
// nullopt when the secret is not of that form.
std::optional<std::string> Sign(const std::string& secret, const std::string& webhook_id,
                                int64_t timestamp, const std::string& body);
// The webhook-signature header: one signature per secret, space-separated (rotation).
std::string SignatureHeader(const std::vector<std::string>& secrets, const std::string& webhook_id,
                            int64_t timestamp, const std::string& body);

struct Url {
  std::string scheme;  // http | https
  std::string host;    // without brackets for IPv6
  int port = 0;
  std::string target;  // path and query, at least "/"
};
// nullopt with *why set for anything but an absolute http(s) URL without credentials.
std::optional<Url> ParseUrl(const std::string& text, std::string* why);

// True for addresses a webhook must not reach unless private addresses are allowed: loopback,
// private (RFC 1918, ULA), link-local, carrier-grade NAT, unspecified, multicast, broadcast,
// documentation ranges, and IPv4-mapped forms of these.
bool IsForbiddenAddress(const sockaddr* address);

// The delay before attempt `attempt` (1-based, 1 is the first: no delay) of the schedule
// 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h, multiplied by `scale` (tests shrink it)
// and by a jitter factor in [0.8, 1.2) from `unit_random` in [0, 1). nullopt past the schedule.
std::optional<std::chrono::milliseconds> RetryDelay(int attempt, double scale, double unit_random);
// Attempts in the schedule (10).
int ScheduleLength();

// A Retry-After header in delay-seconds form; nullopt for anything else (HTTP dates are ignored).
std::optional<std::chrono::seconds> ParseRetryAfter(const std::string& header);

// The webhook-id of an event: "evt_" + the event id part of its "<txid>:<id>" cursor, so every
// attempt of one event carries the same id.
std::string WebhookId(const std::string& event_cursor);

// True when `type` passes the endpoint's filter (empty: every type).
bool Wanted(const std::vector<std::string>& filter, const std::string& type);

}  // namespace loyalty::gateway::webhooks
