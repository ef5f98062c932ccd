// Channels between our services, and what they know about the service at the other end.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace loyalty::common {

// Whether a channel's calls are retried by gRPC on UNAVAILABLE (see channels.cpp). The relay
// keeps its own durable retries and asks for none.
enum class Retries { kOnUnavailable, kNone };

// A plaintext channel to another of our services (`service`: "points"), in the cluster. It
// reconnects every 100 ms-1 s, and its calls are retried within their deadline when the service
// is restarting. The channel is known by the service's name, so that a failed call can tell
// "unavailable" from "slow" (DownstreamError).
std::shared_ptr<grpc::Channel> InternalChannel(const std::string& address,
                                               const std::string& service,
                                               Retries retries = Retries::kOnUnavailable);

// Whether the channel last made for `service` is connected (READY). A call that ran out of time
// on a channel that is not connected waited for a service that is down or restarting.
bool ServiceConnected(const std::string& service);

}  // namespace loyalty::common
