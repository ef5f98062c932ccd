#include "route_table.hpp"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <charconv>
#include <regex>
#include <set>
#include <stdexcept>

#include "google/api/annotations.pb.h"
#include "loyalty/common/errors.hpp"

namespace loyalty::gateway::http {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using common::InvalidField;

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  if (path.empty() || path.front() != '/') return parts;
  path.remove_prefix(1);
  while (true) {
    const auto slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding of one path segment; nullopt when an escape is malformed.
std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int hi = HexValue(text[i + 1]), lo = HexValue(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// The field at a dotted path of `descriptor` (proto names, or JSON names for the query string);
// nullptr when there is none. `parents` receives the message fields on the way.
const FieldDescriptor* FindPath(const google::protobuf::Descriptor* descriptor,
                                std::string_view path,
                                std::vector<const FieldDescriptor*>* parents) {
  const FieldDescriptor* field = nullptr;
  while (true) {
    const auto dot = path.find('.');
    const std::string name(path.substr(0, dot));
    field = descriptor->FindFieldByName(name);
    for (int i = 0; field == nullptr && i < descriptor->field_count(); ++i) {
      if (descriptor->field(i)->json_name() == name) field = descriptor->field(i);
    }
    if (field == nullptr) return nullptr;
    if (dot == std::string_view::npos) return field;
    if (field->type() != FieldDescriptor::TYPE_MESSAGE || field->is_repeated()) return nullptr;
    if (parents != nullptr) parents->push_back(field);
    descriptor = field->message_type();
    path.remove_prefix(dot + 1);
  }
}

bool IsScalar(const FieldDescriptor* field) {
  return field->type() != FieldDescriptor::TYPE_MESSAGE &&
         field->type() != FieldDescriptor::TYPE_GROUP &&
         field->type() != FieldDescriptor::TYPE_BYTES;
}

template <class Int>
Int ParseInt(const std::string& field, const std::string& text) {
  Int value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    throw InvalidField(field, "must be an integer in range");
  }
  return value;
}

// Sets (or, for a repeated field, adds) the scalar at `path` from its text in a path or query.
// `from_path`: a value the body already set differently is a conflict.
void SetScalar(Message& request, const std::string& path, const std::string& text,
               bool from_path) {
  std::vector<const FieldDescriptor*> parents;
  const auto* field = FindPath(request.GetDescriptor(), path, &parents);
  if (field == nullptr) throw InvalidField(path, "is not a field of this request");
  if (!IsScalar(field)) throw InvalidField(path, "cannot be given in the path or query string");
  Message* target = &request;
  for (const auto* parent : parents) {
    target = target->GetReflection()->MutableMessage(target, parent);
  }
  const auto* reflection = target->GetReflection();
  const bool repeated = field->is_repeated();
  if (from_path && !repeated && field->type() == FieldDescriptor::TYPE_STRING) {
    const auto current = reflection->GetString(*target, field);
    if (!current.empty() && current != text) throw InvalidField(path, "differs from the path");
  }
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      repeated ? reflection->AddString(target, field, text)
               : reflection->SetString(target, field, text);
      break;
    case FieldDescriptor::CPPTYPE_INT32: {
      const auto v = ParseInt<int32_t>(path, text);
      repeated ? reflection->AddInt32(target, field, v) : reflection->SetInt32(target, field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      const auto v = ParseInt<int64_t>(path, text);
      repeated ? reflection->AddInt64(target, field, v) : reflection->SetInt64(target, field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      const auto v = ParseInt<uint32_t>(path, text);
      repeated ? reflection->AddUInt32(target, field, v) : reflection->SetUInt32(target, field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      const auto v = ParseInt<uint64_t>(path, text);
      repeated ? reflection->AddUInt64(target, field, v) : reflection->SetUInt64(target, field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      if (text != "true" && text != "false") throw InvalidField(path, "must be true or false");
      repeated ? reflection->AddBool(target, field, text == "true")
               : reflection->SetBool(target, field, text == "true");
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* value = field->enum_type()->FindValueByName(text);
      if (value == nullptr) throw InvalidField(path, "is not one of the enum's names");
      repeated ? reflection->AddEnum(target, field, value)
               : reflection->SetEnum(target, field, value);
      break;
    }
    default:
      throw InvalidField(path, "cannot be given in the path or query string");
  }
}

// protobuf's JSON parser says where and what in its own words ("cart.lines[0].quantity: ...",
// "Cannot find field"); the client gets the field and ours.
common::ApiError JsonError(std::string_view message, const std::string& prefix) {
  // "nope: Cannot find field." or "(cart.lines[0].quantity): invalid value ..." (protobuf 3.21).
  static const std::regex kLocated(R"(^\(?([A-Za-z0-9_.\[\]]+)\)?: (.*)$)");
  std::string text(message);
  std::string field = "body";
  std::smatch m;
  if (std::regex_match(text, m, kLocated)) {
    field = prefix.empty() ? m[1].str() : prefix + "." + m[1].str();
    text = m[2].str();
  }
  if (text.find("Cannot find field") != std::string::npos) {
    // protobuf names the unknown field in its message; keep only the name.
    static const std::regex kUnknown(R"(Cannot find field[^A-Za-z0-9_]*([A-Za-z0-9_]+))");
    if (std::regex_search(text, m, kUnknown) && field == "body") field = m[1].str();
    return InvalidField(field, "is not a field of this request");
  }
  if (field == "body") return InvalidField("body", "is not valid JSON for this request");
  return InvalidField(field, "has the wrong type or format");
}

void ParseJson(std::string_view body, Message& target, const std::string& prefix) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), &target, options);
  if (!status.ok()) {
    throw JsonError(std::string_view(status.message().data(), status.message().size()), prefix);
  }
}

bool IsBlank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; });
}

}  // namespace

PathTemplate PathTemplate::Parse(std::string_view text) {
  PathTemplate t;
  t.text_ = std::string(text);
  if (text.empty() || text.front() != '/') throw std::invalid_argument("must start with /");
  // A custom verb follows the last segment after ':' (outside a variable's braces).
  const auto last_slash = text.rfind('/');
  const auto colon = text.find(':', last_slash);
  const auto close = text.rfind('}');
  if (colon != std::string_view::npos && (close == std::string_view::npos || colon > close)) {
    t.verb_ = std::string(text.substr(colon + 1));
    text = text.substr(0, colon);
    if (t.verb_.empty()) throw std::invalid_argument("empty verb");
  }
  for (auto part : SplitPath(text)) {
    if (part.empty()) throw std::invalid_argument("empty segment");
    if (part.front() == '{') {
      if (part.back() != '}') throw std::invalid_argument("unclosed variable");
      auto name = part.substr(1, part.size() - 2);
      if (name.ends_with("=*")) name.remove_suffix(2);
      if (name.empty() || name.find_first_of("{}=*/") != std::string_view::npos) {
        throw std::invalid_argument("variables are {field} or {field=*}");
      }
      t.segments_.push_back({"", std::string(name)});
    } else {
      if (part.find_first_of("{}*") != std::string_view::npos) {
        throw std::invalid_argument("wildcards other than {field} are not supported");
      }
      t.segments_.push_back({std::string(part), ""});
    }
  }
  return t;
}

std::optional<PathTemplate::Bindings> PathTemplate::Match(std::string_view path) const {
  if (!verb_.empty()) {
    const std::string suffix = ":" + verb_;
    if (!path.ends_with(suffix)) return std::nullopt;
    path.remove_suffix(suffix.size());
  }
  const auto parts = SplitPath(path);
  if (parts.size() != segments_.size()) return std::nullopt;
  Bindings bindings;
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& segment = segments_[i];
    if (segment.field.empty()) {
      if (parts[i] != segment.literal) return std::nullopt;
      continue;
    }
    if (parts[i].empty()) return std::nullopt;
    auto value = PercentDecode(parts[i]);
    if (!value) return std::nullopt;
    bindings.emplace_back(segment.field, std::move(*value));
  }
  return bindings;
}

bool PathTemplate::Overlaps(const PathTemplate& other) const {
  if (verb_ != other.verb_ || segments_.size() != other.segments_.size()) return false;
  for (size_t i = 0; i < segments_.size(); ++i) {
    const auto& a = segments_[i];
    const auto& b = other.segments_[i];
    if (!a.field.empty() || !b.field.empty()) continue;  // a variable matches any literal
    if (a.literal != b.literal) return false;
  }
  return true;
}

RouteTable RouteTable::FromServices(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services) {
  RouteTable table;
  for (const auto* service : services) {
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* method = service->method(i);
      if (!method->options().HasExtension(google::api::http)) continue;
      const auto what = [&](const std::string& why) {
        return std::invalid_argument(method->full_name() + ": " + why);
      };
      const auto& rule = method->options().GetExtension(google::api::http);
      // A server stream is served as Server-Sent Events: a GET without a body.
      if (method->client_streaming() ||
          (method->server_streaming() && (!rule.has_get() || !rule.body().empty() ||
                                          rule.additional_bindings_size() > 0))) {
        throw what("only a server stream with one GET route has an HTTP route");
      }
      std::vector<const google::api::HttpRule*> rules = {&rule};
      for (const auto& extra : rule.additional_bindings()) rules.push_back(&extra);
      for (const auto* r : rules) {
        Route route;
        route.method = method;
        route.body = r->body();
        std::string path;
        switch (r->pattern_case()) {
          case google::api::HttpRule::kGet: route.http_method = "GET"; path = r->get(); break;
          case google::api::HttpRule::kPut: route.http_method = "PUT"; path = r->put(); break;
          case google::api::HttpRule::kPost: route.http_method = "POST"; path = r->post(); break;
          case google::api::HttpRule::kDelete:
            route.http_method = "DELETE";
            path = r->delete_();
            break;
          case google::api::HttpRule::kPatch:
            route.http_method = "PATCH";
            path = r->patch();
            break;
          default:
            throw what("only get, put, post, delete and patch routes are supported");
        }
        try {
          route.path = PathTemplate::Parse(path);
        } catch (const std::invalid_argument& e) {
          throw what(path + ": " + e.what());
        }
        for (const auto& segment : route.path.segments()) {
          if (segment.field.empty()) continue;
          const auto* field = FindPath(method->input_type(), segment.field, nullptr);
          if (field == nullptr || !IsScalar(field) || field->is_repeated()) {
            throw what(segment.field + " is not a singular scalar field of the request");
          }
        }
        if (!route.body.empty() && route.body != "*") {
          const auto* field = method->input_type()->FindFieldByName(route.body);
          if (field == nullptr || field->type() != FieldDescriptor::TYPE_MESSAGE ||
              field->is_repeated()) {
            throw what("body " + route.body + " is not a message field of the request");
          }
        }
        for (const auto& other : table.routes_) {
          if (other.http_method == route.http_method && other.path.Overlaps(route.path)) {
            throw what(route.http_method + " " + path + " overlaps " + other.method->full_name() +
                       "'s " + other.path.text());
          }
        }
        table.routes_.push_back(std::move(route));
      }
    }
  }
  return table;
}

std::optional<RouteTable::Found> RouteTable::Find(std::string_view http_method,
                                                  std::string_view path,
                                                  std::vector<std::string>* allowed) const {
  std::set<std::string> methods;
  for (const auto& route : routes_) {
    auto bindings = route.path.Match(path);
    if (!bindings) continue;
    if (route.http_method == http_method) return Found{&route, std::move(*bindings)};
    methods.insert(route.http_method);
  }
  if (allowed != nullptr) allowed->assign(methods.begin(), methods.end());
  return std::nullopt;
}

void BindRequest(const Route& route, const PathTemplate::Bindings& bindings,
                 const std::multimap<std::string, std::string>& query, std::string_view body,
                 Message& request) {
  if (!IsValidUtf8(body)) throw InvalidField("body", "is not valid UTF-8");
  if (route.body.empty()) {
    if (!IsBlank(body)) throw InvalidField("body", "this route takes no body");
  } else if (!IsBlank(body)) {
    if (route.body == "*") {
      ParseJson(body, request, "");
    } else {
      const auto* field = request.GetDescriptor()->FindFieldByName(route.body);
      ParseJson(body, *request.GetReflection()->MutableMessage(&request, field), route.body);
    }
  }
  for (const auto& [field, value] : bindings) SetScalar(request, field, value, true);
  for (const auto& [name, value] : query) {
    if (route.body == "*") {
      throw InvalidField(name, "send it in the body: this route takes no query parameters");
    }
    if (!route.body.empty() && (name == route.body || name.starts_with(route.body + "."))) {
      throw InvalidField(name, "is in the body");
    }
    for (const auto& [bound, unused] : bindings) {
      if (bound == name) throw InvalidField(name, "is in the path");
    }
    SetScalar(request, name, value, false);
  }
}

std::multimap<std::string, std::string> ParseQuery(std::string_view query) {
  std::multimap<std::string, std::string> params;
  const auto decode = [](std::string_view text) {
    std::string spaced(text);
    std::replace(spaced.begin(), spaced.end(), '+', ' ');
    auto decoded = PercentDecode(spaced);
    if (!decoded) throw InvalidField("query", "has a malformed %-escape");
    return *decoded;
  };
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      params.emplace(decode(pair.substr(0, eq)),
                     eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return params;
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    int extra = 0;
    uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are invalid.
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMin[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace loyalty::gateway::http
