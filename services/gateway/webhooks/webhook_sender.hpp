// Outbound webhook POSTs to one endpoint. The host is resolved first and every address checked;
// requests then go to the checked address (cpp-httplib's host→address map), so a DNS answer
// that changes between check and connect (rebinding) cannot reach a private address.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "webhooks/webhook_rules.hpp"

namespace httplib {
class Client;
}

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

// One endpoint's batch of requests, sent one after the other over one keep-alive connection
// while the receiver keeps it open: the host is resolved and checked once per batch, and a
// connection (with its TCP handshake) is not paid per event. Not thread-safe; one per batch.
class Sender {
 public:
  Sender(const std::string& url, const SendOptions& options);
  ~Sender();
  SendResult Post(const std::map<std::string, std::string>& headers, const std::string& body);

 private:
  SendResult refused_;  // why the URL cannot be sent to (refused), or nothing
  std::string target_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace loyalty::gateway::webhooks
