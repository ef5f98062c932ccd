#include "openapi.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <set>

#include "google/rpc/status.pb.h"

namespace loyalty::gateway::http {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using nlohmann::json;

std::string Ref(const Descriptor* message) {
  return "#/components/schemas/" + message->full_name();
}

class SchemaWriter {
 public:
  explicit SchemaWriter(json& schemas) : schemas_(schemas) {}

  // The schema of a message, written once into components/schemas; answers a $ref to it.
  json Message(const Descriptor* message) {
    if (auto known = WellKnown(message)) return *known;
    if (!written_.insert(message->full_name()).second) return {{"$ref", Ref(message)}};
    json properties = json::object();
    for (int i = 0; i < message->field_count(); ++i) {
      const auto* field = message->field(i);
      properties[field->json_name()] = Field(field);
    }
    schemas_[message->full_name()] = {{"type", "object"}, {"properties", properties}};
    return {{"$ref", Ref(message)}};
  }

  json Field(const FieldDescriptor* field) {
    if (field->is_map()) {
      return {{"type", "object"},
              {"additionalProperties", Singular(field->message_type()->map_value())}};
    }
    if (field->is_repeated()) return {{"type", "array"}, {"items", Singular(field)}};
    return Singular(field);
  }

 private:
  // Timestamps, durations and masks have a JSON form of their own (proto3 JSON mapping).
  static std::optional<json> WellKnown(const Descriptor* message) {
    const auto& name = message->full_name();
    if (name == "google.protobuf.Timestamp") return json{{"type", "string"}, {"format", "date-time"}};
    if (name == "google.protobuf.Duration") return json{{"type", "string"}, {"example", "1.5s"}};
    if (name == "google.protobuf.FieldMask") return json{{"type", "string"}, {"example", "name,tags"}};
    if (name == "google.protobuf.Any") return json{{"type", "object"}};
    return std::nullopt;
  }

  json Singular(const FieldDescriptor* field) {
    switch (field->type()) {
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_SINT32:
      case FieldDescriptor::TYPE_SFIXED32:
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_FIXED32:
        return {{"type", "integer"}, {"format", "int32"}};
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_SFIXED64:
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_FIXED64:
        // The proto3 JSON mapping writes 64-bit integers as strings (and reads either).
        return {{"type", "string"}, {"format", "int64"}};
      case FieldDescriptor::TYPE_DOUBLE:
      case FieldDescriptor::TYPE_FLOAT:
        return {{"type", "number"}};
      case FieldDescriptor::TYPE_BOOL:
        return {{"type", "boolean"}};
      case FieldDescriptor::TYPE_BYTES:
        return {{"type", "string"}, {"format", "byte"}};
      case FieldDescriptor::TYPE_ENUM: {
        json names = json::array();
        for (int i = 0; i < field->enum_type()->value_count(); ++i) {
          names.push_back(field->enum_type()->value(i)->name());
        }
        return {{"type", "string"}, {"enum", names}};
      }
      case FieldDescriptor::TYPE_MESSAGE:
      case FieldDescriptor::TYPE_GROUP:
        return Message(field->message_type());
      default:
        return {{"type", "string"}};
    }
  }

  json& schemas_;
  std::set<std::string> written_;
};

// `/v1/orders/{order_id}:fulfill` is already OpenAPI's form; the parameters are its variables.
json PathParameters(const Route& route) {
  json parameters = json::array();
  for (const auto& segment : route.path.segments()) {
    if (segment.field.empty()) continue;
    parameters.push_back({{"name", segment.field},
                          {"in", "path"},
                          {"required", true},
                          {"schema", {{"type", "string"}}}});
  }
  return parameters;
}

}  // namespace

std::string OpenApiDocument(const RouteTable& routes) {
  json schemas = json::object();
  SchemaWriter writer(schemas);
  json paths = json::object();
  const json error = writer.Message(google::rpc::Status::descriptor());
  for (const auto& route : routes.routes()) {
    const auto* method = route.method;
    json operation = {
        {"operationId", method->service()->name() + "_" + method->name()},
        {"tags", json::array({method->service()->name()})},
        {"parameters", PathParameters(route)},
        {"responses",
         {{"200",
           {{"description", "OK"},
            {"content", {{"application/json", {{"schema", writer.Message(method->output_type())}}}}}}},
          {"default",
           {{"description", "google.rpc.Status with ErrorInfo (reason) and BadRequest (fields)"},
            {"content", {{"application/json", {{"schema", error}}}}}}}}}};
    if (method->server_streaming()) {
      operation["responses"]["200"] = {
          {"description",
           "Server-Sent Events: `id:` the cursor (reconnect with Last-Event-ID), `event:` the "
           "type, `data:` the JSON of each item; an `error` event ends the stream"},
          {"content",
           {{"text/event-stream",
             {{"schema", {{"type", "string"}}},
              {"x-item-schema", writer.Message(method->output_type())}}}}}};
    }
    if (route.body.empty()) {
      // Scalars of the request not in the path may come from the query string.
      for (int i = 0; i < method->input_type()->field_count(); ++i) {
        const auto* field = method->input_type()->field(i);
        bool in_path = false;
        for (const auto& segment : route.path.segments()) in_path |= segment.field == field->name();
        if (in_path || field->type() == FieldDescriptor::TYPE_MESSAGE) continue;
        operation["parameters"].push_back(
            {{"name", field->name()}, {"in", "query"}, {"schema", writer.Field(field)}});
      }
    } else {
      const auto* body = route.body == "*"
                             ? method->input_type()
                             : method->input_type()->FindFieldByName(route.body)->message_type();
      operation["requestBody"] = {
          {"required", true},
          {"content", {{"application/json", {{"schema", writer.Message(body)}}}}}};
    }
    std::string verb = route.http_method;
    for (auto& c : verb) c = static_cast<char>(std::tolower(c));
    paths[route.path.text()][verb] = operation;
  }
  const json document = {
      {"openapi", "3.0.3"},
      {"info",
       {{"title", "Loyalty platform HTTP/JSON API"},
        {"version", "v1"},
        {"description",
         "The gateway's StorefrontService and AdminService over HTTP/JSON (proto3 JSON mapping). "
         "Send `Authorization: Bearer <key>`; errors are google.rpc.Status."}}},
      {"security", json::array({{{"bearer", json::array()}}})},
      {"paths", paths},
      {"components",
       {{"schemas", schemas},
        {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}}};
  return document.dump(2);
}

}  // namespace loyalty::gateway::http
