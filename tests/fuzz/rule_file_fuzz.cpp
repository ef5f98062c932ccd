// loyaltyctl's settings and rule files (services/gateway/cli/structured_text.hpp): any text, as
// YAML or JSON, either becomes the request's proto or is refused with a std::exception naming
// what is wrong, which loyaltyctl prints; nothing else (a crash, a hang, another exception).
// A parsed message prints as JSON that parses back to the same message.
//
// Input: one byte choosing Settings or EarnRules and YAML or JSON, then the file's text.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <exception>
#include <memory>
#include <string>

#include "invariant.hpp"
#include "loyalty/points/v1/points_service.pb.h"
#include "structured_text.hpp"

namespace {

using google::protobuf::Message;

void RoundTrips(const Message& message) {
  std::string json;
  REQUIRE(google::protobuf::util::MessageToJsonString(message, &json).ok());
  std::unique_ptr<Message> back(message.New());
  loyalty::ctl::FromJson(json, back.get(), "printed");
  REQUIRE(google::protobuf::util::MessageDifferencer::Equals(message, *back));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool rules = data[0] & 1;
  const bool yaml = data[0] & 2;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  loyalty::points::v1::Settings settings;
  loyalty::points::v1::EarnRules earn_rules;
  Message* message = rules ? static_cast<Message*>(&earn_rules) : &settings;
  try {
    loyalty::ctl::FromStructuredText(text, yaml, message, "file");
  } catch (const std::exception&) {
    return 0;  // refused with a message: what loyaltyctl does with a bad file
  }
  RoundTrips(*message);
  return 0;
}
