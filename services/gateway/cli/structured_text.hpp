// loyaltyctl's settings, rules and queries: YAML or JSON text into the request's proto. Kept apart
// from the CLI so that tests/fuzz/rule_file_fuzz.cpp exercises the same parser.
#pragma once

#include <google/protobuf/message.h>

#include <string>

namespace loyalty::ctl {

// Parses JSON `json` into `message` (proto3 JSON mapping, field names as in the .proto); throws
// std::runtime_error starting with `what` when it is not such a message.
void FromJson(const std::string& json, google::protobuf::Message* message, const std::string& what);

// Parses `text` into `message`: YAML when `yaml` (a mapping whose scalars "true"/"false" are
// booleans, whole decimal numbers are numbers, everything else strings), JSON otherwise. Throws a
// std::exception naming what is wrong (YAML::Exception for bad YAML).
void FromStructuredText(const std::string& text, bool yaml, google::protobuf::Message* message,
                        const std::string& what);

}  // namespace loyalty::ctl
