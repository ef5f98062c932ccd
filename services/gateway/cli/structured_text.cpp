#include "structured_text.hpp"

#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace loyalty::ctl {

namespace {

// YAML aliases let a few hundred bytes name a tree of a billion values ("billion laughs"), or an
// endless one (an alias inside its own anchor), which the conversion below would build until
// memory or the stack runs out (both found by tests/fuzz/rule_file_fuzz.cpp). No settings or rules
// file comes near these limits (1,000 multipliers and 100 campaigns at most, 4 levels deep).
constexpr size_t kMaxValues = 100'000;
constexpr int kMaxDepth = 32;

nlohmann::json YamlToJson(const YAML::Node& node, size_t& values, int depth = 0) {
  if (++values > kMaxValues || depth > kMaxDepth) {
    throw std::runtime_error("more than " + std::to_string(kMaxValues) + " values or " +
                             std::to_string(kMaxDepth) + " levels (YAML aliases?)");
  }
  switch (node.Type()) {
    case YAML::NodeType::Sequence: {
      auto out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(YamlToJson(item, values, depth + 1));
      return out;
    }
    case YAML::NodeType::Map: {
      auto out = nlohmann::json::object();
      for (const auto& kv : node) {
        out[kv.first.as<std::string>()] = YamlToJson(kv.second, values, depth + 1);
      }
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = node.as<std::string>();
      if (s == "true" || s == "false") return s == "true";
      // A whole decimal number (from_chars: no exception per word, which fuzzing found slow).
      long long number = 0;
      const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), number);
      if (error == std::errc() && end == s.data() + s.size() && !s.empty()) return number;
      return s;
    }
    default:
      return nullptr;
  }
}

}  // namespace

void FromJson(const std::string& json, google::protobuf::Message* message,
              const std::string& what) {
  const auto status = google::protobuf::util::JsonStringToMessage(json, message);
  if (!status.ok()) throw std::runtime_error(what + ": " + std::string(status.message()));
}

void FromStructuredText(const std::string& text, bool yaml, google::protobuf::Message* message,
                        const std::string& what) {
  if (!yaml) return FromJson(text, message, what);
  size_t values = 0;
  FromJson(YamlToJson(YAML::Load(text), values).dump(), message, what);
}

}  // namespace loyalty::ctl
