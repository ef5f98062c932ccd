// The HTTP/JSON routes of the public API, read at start-up from the `google.api.http` option of
// each RPC (protos/loyalty/gateway/v1): no route is written by hand. Pure logic, no I/O.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loyalty::gateway::http {

// A path template such as `/v1/stores/{store_id}/keys/{key_id}:revoke`: literal segments,
// variables (one segment each, bound to a request field, dotted for a nested one) and an
// optional custom verb after the last segment.
class PathTemplate {
 public:
  struct Segment {
    std::string literal;  // empty for a variable
    std::string field;    // the field a variable binds, e.g. "customer.customer_id"
  };
  using Bindings = std::vector<std::pair<std::string, std::string>>;  // field, value

  // Throws std::invalid_argument naming what is wrong.
  static PathTemplate Parse(std::string_view text);
  // The variables' values (percent-decoded) when `path` matches; nullopt otherwise.
  std::optional<Bindings> Match(std::string_view path) const;
  // The same match, ignoring what the variables hold: do two templates overlap?
  bool Overlaps(const PathTemplate& other) const;
  const std::string& text() const { return text_; }
  const std::vector<Segment>& segments() const { return segments_; }

 private:
  std::string text_;
  std::vector<Segment> segments_;
  std::string verb_;
};

struct Route {
  std::string http_method;  // GET, POST, PUT, PATCH or DELETE
  PathTemplate path;
  std::string body;  // "*": the whole request; a field name; empty: no body
  const google::protobuf::MethodDescriptor* method = nullptr;
};

class RouteTable {
 public:
  // Every method of `services` with a google.api.http option (and its additional bindings).
  // Throws std::invalid_argument for a bad template, a client stream, a server stream with
  // anything but one GET route, or two routes of one HTTP method that could match the same path.
  static RouteTable FromServices(
      const std::vector<const google::protobuf::ServiceDescriptor*>& services);

  struct Found {
    const Route* route = nullptr;
    PathTemplate::Bindings bindings;
  };
  // The route for a request; nullopt when none. `allowed` then lists the HTTP methods the path
  // has (for 405 and its Allow header), empty when no route has the path at all.
  std::optional<Found> Find(std::string_view http_method, std::string_view path,
                            std::vector<std::string>* allowed) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// Fills `request` as the route says: the JSON body (proto3 JSON mapping, unknown fields
// refused) into the whole request or the field `route.body` names, the path variables, then the
// query parameters into the other fields. Throws common::ApiError INVALID_ARGUMENT naming the
// field (or `body`, or the query parameter) on anything malformed.
void BindRequest(const Route& route, const PathTemplate::Bindings& bindings,
                 const std::multimap<std::string, std::string>& query, std::string_view body,
                 google::protobuf::Message& request);

// The parameters of a URL's query string (`a=1&b=x%20y`, `+` for a space), read from the URL
// alone: a body is JSON whatever its Content-Type (curl -d sends a form type). Throws
// INVALID_ARGUMENT naming `query` on a malformed escape.
std::multimap<std::string, std::string> ParseQuery(std::string_view query);

// True when `text` is valid UTF-8 (JSON bodies must be).
bool IsValidUtf8(std::string_view text);

}  // namespace loyalty::gateway::http
