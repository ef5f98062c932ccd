// The gateway's HTTP/JSON port: every RPC with a google.api.http route, transcoded. A request is
// bound to its RPC's request message (route_table), sent through an in-process channel into the
// gateway's own gRPC server, so keys, roles, rate limits, idempotency, deadlines, logs and metrics
// are the gRPC path's own; the answer (or google.rpc.Status) goes back as JSON. Also serves
// /openapi.json and the admin console's static files at /admin (console_files.hpp). No business
// rule lives here.
#pragma once

#include <google/protobuf/descriptor.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "loyalty/common/server.hpp"

namespace loyalty::gateway::http {

struct HttpOptions {
  int port = 8080;                           // LOYALTY_HTTP_PORT; 0: no HTTP port
  std::size_t max_body_bytes = 1024 * 1024;  // LOYALTY_HTTP_MAX_BODY_BYTES
  std::string tls_cert_file;                 // HTTPS when set, as the gRPC port
  std::string tls_key_file;
  std::string console_dir;  // the admin console's files (LOYALTY_CONSOLE_DIR); empty: none
};

// The services the HTTP port transcodes: StorefrontService and AdminService.
std::vector<const google::protobuf::ServiceDescriptor*> PublicServices();

// The header an HTTP caller sets its deadline with, in milliseconds (the gRPC deadline's twin).
inline constexpr const char* kTimeoutHeader = "X-Timeout-Ms";

class HttpFront {
 public:
  // Binds the port (throws if it cannot) and serves on threads of its own until destroyed.
  HttpFront(common::ServiceHost& host, HttpOptions options,
            const std::vector<const google::protobuf::ServiceDescriptor*>& services);
  ~HttpFront();
  HttpFront(const HttpFront&) = delete;
  HttpFront& operator=(const HttpFront&) = delete;

  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loyalty::gateway::http
