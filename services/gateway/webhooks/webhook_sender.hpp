// One outbound webhook POST. The host is resolved first and every address checked; the request
// then goes to the checked address (cpp-httplib's host→address map), so a DNS answer that
// changes between check and connect (rebinding) cannot reach a private address.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "webhooks/webhook_rules.hpp"

namespace loyalty::gateway::webhooks {

struct SendOptions {
  bool allow_private = false;                 // LOYALTY_WEBHOOKS_ALLOW_PRIVATE
  // LOYALTY_WEBHOOK_TIMEOUT_MS: connect, write and read each.
  std::chrono::milliseconds timeout{15000};
};

struct SendResult {
  bool refused = false;  // never connected: bad URL, unresolvable or forbidden address
  int status = 0;        // HTTP status; 0 without an answer
  std::string error;     // for people, empty on 2xx
  std::optional<std::chrono::seconds> retry_after;
  int64_t latency_ms = 0;
};

SendResult Send(const std::string& url, const std::map<std::string, std::string>& headers,
                const std::string& body, const SendOptions& options);

}  // namespace loyalty::gateway::webhooks
