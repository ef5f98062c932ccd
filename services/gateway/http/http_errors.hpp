// How a gRPC answer becomes an HTTP one: the usual status mapping and google.rpc.Status as JSON.
// Pure logic, no I/O.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

namespace loyalty::gateway::http {

// INVALID_ARGUMENT 400, UNAUTHENTICATED 401, PERMISSION_DENIED 403, NOT_FOUND 404,
// ALREADY_EXISTS and ABORTED 409, RESOURCE_EXHAUSTED 429, UNAVAILABLE 503, ... (docs/http.md).
int HttpStatus(grpc::StatusCode code);

// The status as google.rpc.Status in the proto3 JSON mapping: code, message and details (the
// ErrorInfo with its reason and metadata, the BadRequest naming the fields), exactly what a gRPC
// client reads from the same error.
std::string StatusJson(const grpc::Status& status);

}  // namespace loyalty::gateway::http
