#include "loyalty/common/channels.hpp"

#include <map>
#include <mutex>

namespace loyalty::common {
namespace {

// Every call between our services, whatever the method (`"name": [{}]`), is retried when it
// fails UNAVAILABLE: the service was not reachable (restarting), or went away mid-call. Up to 5
// attempts in all, 50 ms to 1 s of jittered backoff apart, within the call's deadline. Safe for
// every method: reads, and writes that carry an idempotency key (every mutating RPC has one). An
// answer one of our services gives is not retried (ServiceHost sends a negative pushback).
// retryThrottling: after a run of failures (each costs a token, a success gives back a tenth),
// retries stop until calls succeed again, so an outage is not multiplied by every hop.
// Not waitForReady: with gRPC 1.51 a call queued for a channel that never connected outlived its
// deadline (seen in GatewayIT.OrdersStoppedAnswersUnavailable...), and the retries above span a
// restart without it.
constexpr const char* kRetryingServiceConfig = R"({
  "methodConfig": [{
    "name": [{}],
    "retryPolicy": {
      "maxAttempts": 5,
      "initialBackoff": "0.05s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }],
  "retryThrottling": {"maxTokens": 20, "tokenRatio": 0.1}
})";

std::mutex registry_mutex;
std::map<std::string, std::weak_ptr<grpc::Channel>>& Registry() {
  static auto* channels = new std::map<std::string, std::weak_ptr<grpc::Channel>>();
  return *channels;
}

}  // namespace

std::shared_ptr<grpc::Channel> InternalChannel(const std::string& address,
                                               const std::string& service, Retries retries) {
  grpc::ChannelArguments args;
  // gRPC's reconnect backoff starts at 1 s and grows to 120 s: after a restart of the service
  // (a few hundred ms) calls would wait for the next attempt. Reconnect every 100 ms to 1 s.
  // Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: gRPC also takes it as the time one connection attempt
  // may take (default 20 s); at 100 ms a handshake on a loaded machine failed (seen under TSan).
  // A refused connection fails at once whatever it is.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, retries == Retries::kOnUnavailable ? 1 : 0);
  if (retries == Retries::kOnUnavailable) args.SetServiceConfigJSON(kRetryingServiceConfig);
  auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  std::lock_guard lock(registry_mutex);
  Registry()[service] = channel;
  return channel;
}

bool ServiceConnected(const std::string& service) {
  std::shared_ptr<grpc::Channel> channel;
  {
    std::lock_guard lock(registry_mutex);
    auto it = Registry().find(service);
    if (it != Registry().end()) channel = it->second.lock();
  }
  return channel == nullptr || channel->GetState(false) == GRPC_CHANNEL_READY;
}

}  // namespace loyalty::common
