// An OpenAPI 3 document of the HTTP/JSON API, generated from the same route table and message
// descriptors that serve it (served at /openapi.json). Pure logic, no I/O.
#pragma once

#include <string>

#include "route_table.hpp"

namespace loyalty::gateway::http {

std::string OpenApiDocument(const RouteTable& routes);

}  // namespace loyalty::gateway::http
