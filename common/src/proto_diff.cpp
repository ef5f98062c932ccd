#include "loyalty/common/proto_diff.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

namespace loyalty::common {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// A scalar field's value (index -1: singular) as JSON.
std::string ScalarJson(const Message& m, const FieldDescriptor* f, int index) {
  const Reflection* r = m.GetReflection();
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return std::to_string(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return std::to_string(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32:
      return std::to_string(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return std::to_string(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return nlohmann::json(rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f)).dump();
    case FieldDescriptor::CPPTYPE_FLOAT:
      return nlohmann::json(rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f)).dump();
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* value = rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f);
      return nlohmann::json(value->name()).dump();
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string text = rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
      // Bytes may be binary: shown as their length, never raw.
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        return nlohmann::json(std::to_string(text.size()) + " bytes").dump();
      }
      return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return "";
}

void Diff(const Message& a, const Message& b, const std::string& prefix,
          std::vector<FieldChange>& out);

// Compared whole: scalars and protobuf's own messages (Timestamp, Duration, ...), whose JSON
// is their one value.
bool Leaf(const FieldDescriptor* f) {
  return f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
         f->message_type()->file()->package() == "google.protobuf";
}

// Element `index` of repeated field `f`, or the singular field (index -1), on one side: JSON,
// or "" when the side lacks it.
std::string ValueJson(const Message& m, const FieldDescriptor* f, int index) {
  const Reflection* r = m.GetReflection();
  if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) return ScalarJson(m, f, index);
  if (index >= 0) return MessageJson(r->GetRepeatedMessage(m, f, index));
  return r->HasField(m, f) ? MessageJson(r->GetMessage(m, f)) : "";
}

void DiffField(const Message& a, const Message& b, const FieldDescriptor* f,
               const std::string& path, std::vector<FieldChange>& out) {
  const Reflection* ra = a.GetReflection();
  const Reflection* rb = b.GetReflection();
  const bool leaf = Leaf(f);
  if (!f->is_repeated()) {
    if (!leaf && ra->HasField(a, f) && rb->HasField(b, f)) {
      return Diff(ra->GetMessage(a, f), rb->GetMessage(b, f), path + ".", out);
    }
    const std::string va = ValueJson(a, f, -1), vb = ValueJson(b, f, -1);
    if (va != vb) out.push_back({path, va, vb});
    return;
  }
  const int na = ra->FieldSize(a, f), nb = rb->FieldSize(b, f);
  for (int i = 0; i < std::max(na, nb); ++i) {
    const std::string at = path + "[" + std::to_string(i) + "]";
    if (i < na && i < nb) {
      if (!leaf) {
        Diff(ra->GetRepeatedMessage(a, f, i), rb->GetRepeatedMessage(b, f, i), at + ".", out);
      } else if (ValueJson(a, f, i) != ValueJson(b, f, i)) {
        out.push_back({at, ValueJson(a, f, i), ValueJson(b, f, i)});
      }
    } else {
      out.push_back({at, i < na ? ValueJson(a, f, i) : "", i < nb ? ValueJson(b, f, i) : ""});
    }
  }
}

void Diff(const Message& a, const Message& b, const std::string& prefix,
          std::vector<FieldChange>& out) {
  const auto* descriptor = a.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* f = descriptor->field(i);
    DiffField(a, b, f, prefix + f->name(), out);
  }
}

}  // namespace

std::string MessageJson(const Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

std::vector<FieldChange> DiffMessages(const Message& before, const Message& after) {
  std::vector<FieldChange> changes;
  if (before.GetDescriptor() != after.GetDescriptor()) return changes;
  Diff(before, after, "", changes);
  return changes;
}

}  // namespace loyalty::common
