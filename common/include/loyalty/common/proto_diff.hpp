// The differences between two messages of one type, field by field, for showing what a new
// version of a store's settings, earn rules, tiers or a reward changed. Pure; unit-tested in
// tests/proto_diff_test.cpp.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <vector>

namespace loyalty::common {

// One difference: the field's path in proto names ("multipliers[1].multiplier_bps",
// "cart_recovery.after_hours") and its value on each side as JSON ("150", "\"mugs\"",
// "\"2026-12-01T00:00:00Z\"", "{...}"), "" where that side lacks it (an unset message, a
// repeated element beyond the shorter list).
struct FieldChange {
  std::string path;
  std::string before;
  std::string after;
};

// A message as JSON with its proto field names ("multiplier_bps"), as the changes show values.
std::string MessageJson(const google::protobuf::Message& message);

// Walks both messages' fields in declaration order; repeated fields are compared element by
// element at the same index, messages recursively but for protobuf's own types (a Timestamp is
// one value). Messages of different types have no comparable fields: no changes.
std::vector<FieldChange> DiffMessages(const google::protobuf::Message& before,
                                      const google::protobuf::Message& after);

}  // namespace loyalty::common
