#include "code_rules.hpp"

#include <google/protobuf/util/time_util.h>

#include <algorithm>

#include "loyalty/common/hex.hpp"
#include "loyalty/common/time.hpp"

namespace loyalty::checkout {

namespace pricing = common::pricing;
using google::protobuf::util::TimeUtil;

namespace {

constexpr const char* kField = "cart.discount_code";

bool ValidStamp(const google::protobuf::Timestamp& t) {
  return t.seconds() >= TimeUtil::kTimestampMinSeconds &&
         t.seconds() <= TimeUtil::kTimestampMaxSeconds && t.nanos() >= 0 &&
         t.nanos() <= 999'999'999;
}

}  // namespace

std::string CanonicalCode(std::string_view typed) {
  std::string code(typed);
  for (char& c : code) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return code;
}

bool ValidCodeText(std::string_view code) {
  return code.size() >= 3 && code.size() <= 32 && std::all_of(code.begin(), code.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-';
         });
}

void CheckCodeDefinition(common::Validator& v, const gateway::v1::CodeDefinition& d,
                         const std::string& prefix) {
  using gateway::v1::CodeKind;
  v.Check(d.kind() != gateway::v1::CODE_KIND_UNSPECIFIED && gateway::v1::CodeKind_IsValid(d.kind()),
          prefix + "kind", "is required: AMOUNT_OFF, PERCENT_OFF or FREE_SHIPPING");
  // Each kind's own fields are required with it and refused without it, as for rewards.
  const bool amount = d.kind() == gateway::v1::CODE_KIND_AMOUNT_OFF;
  const bool percent = d.kind() == gateway::v1::CODE_KIND_PERCENT_OFF;
  v.Check(amount ? d.amount_off_minor() >= 1 && d.amount_off_minor() <= pricing::kMaxAmount
                 : d.amount_off_minor() == 0,
          prefix + "amount_off_minor", amount ? "must be 1 to 5e17" : "is only for AMOUNT_OFF",
          "AMOUNT_OUT_OF_RANGE");
  v.Check(percent ? d.percent_off_bps() >= 1 && d.percent_off_bps() <= pricing::kMaxPercentBps
                  : d.percent_off_bps() == 0,
          prefix + "percent_off_bps", percent ? "must be 1 to 10,000" : "is only for PERCENT_OFF");
  v.Check(percent ? d.cap_minor() >= 1 && d.cap_minor() <= pricing::kMaxAmount
                  : d.cap_minor() == 0,
          prefix + "cap_minor", percent ? "is required, 1 to 5e17" : "is only for PERCENT_OFF",
          "AMOUNT_OUT_OF_RANGE");
  v.Check(d.minimum_spend_minor() >= 0 && d.minimum_spend_minor() <= pricing::kMaxAmount,
          prefix + "minimum_spend_minor", "must be 0 to 5e17", "AMOUNT_OUT_OF_RANGE");
  if (d.has_expires_at()) v.Check(ValidStamp(d.expires_at()), prefix + "expires_at", "is not a time");
  v.Check(d.max_uses() >= 0 && d.max_uses() <= pricing::kMaxAmount, prefix + "max_uses",
          "must be 0 (no limit) to 5e17", "AMOUNT_OUT_OF_RANGE");
  v.Check(d.per_customer_limit() >= 0 && d.per_customer_limit() <= pricing::kMaxAmount,
          prefix + "per_customer_limit", "must be 0 (no limit) to 5e17", "AMOUNT_OUT_OF_RANGE");
  if (!d.customer_id().empty()) v.RequireId(d.customer_id(), prefix + "customer_id");
}

CodeRefusal CheckCodeUsable(const CodeState& code, const std::string& customer_id,
                            int64_t merchandise_minor, int64_t now_micros) {
  const auto& d = code.definition;
  if (d.has_expires_at() && now_micros >= TimeUtil::TimestampToMicroseconds(d.expires_at())) return CodeRefusal::kExpired;
  if (!d.customer_id().empty() && d.customer_id() != customer_id) return CodeRefusal::kNotYours;
  if (d.max_uses() > 0 && code.uses >= d.max_uses()) return CodeRefusal::kUsedUp;
  if (d.per_customer_limit() > 0 && code.customer_uses >= d.per_customer_limit()) {
    return CodeRefusal::kCustomerLimit;
  }
  if (merchandise_minor < d.minimum_spend_minor()) return CodeRefusal::kMinimumNotMet;
  return CodeRefusal::kNone;
}

CodeRefusalText RefusalTextOf(CodeRefusal refusal, const CodeState& code) {
  switch (refusal) {
    case CodeRefusal::kExpired:
      return {"CODE_EXPIRED", "the code " + code.code + " has expired"};
    case CodeRefusal::kNotYours:
      return {"CODE_NOT_YOURS", "the code " + code.code + " belongs to another customer"};
    case CodeRefusal::kUsedUp:
      return {"CODE_USED_UP", "the code " + code.code + " has been used up"};
    case CodeRefusal::kCustomerLimit:
      return {"CODE_CUSTOMER_LIMIT",
              "the code " + code.code + " may be used " +
                  std::to_string(code.definition.per_customer_limit()) + " time(s) per customer"};
    case CodeRefusal::kMinimumNotMet:
      return {"CODE_MINIMUM_NOT_MET",
              "the code " + code.code + " needs merchandise of at least " +
                  std::to_string(code.definition.minimum_spend_minor()) + " (minor units)"};
    case CodeRefusal::kNone:
      break;
  }
  return {"", ""};
}

common::ApiError CodeRefusalError(CodeRefusal refusal, const CodeState& code) {
  auto text = RefusalTextOf(refusal, code);
  return common::ApiError(grpc::StatusCode::FAILED_PRECONDITION, text.reason, text.message,
                          {{kField, text.message}});
}

common::ApiError CodeNotFound(const std::string& code) {
  return common::ApiError(grpc::StatusCode::NOT_FOUND, "CODE_NOT_FOUND",
                          "the store has no code " + code, {{kField, "is not a code of the store"}});
}

pricing::RewardTerms CodeTermsOf(const gateway::v1::CodeDefinition& d) {
  pricing::RewardTerms t;
  switch (d.kind()) {
    case gateway::v1::CODE_KIND_PERCENT_OFF:
      t.kind = pricing::RewardKind::kPercentOff;
      break;
    case gateway::v1::CODE_KIND_FREE_SHIPPING:
      t.kind = pricing::RewardKind::kFreeShipping;
      break;
    default:
      t.kind = pricing::RewardKind::kAmountOff;
      break;
  }
  t.amount_off_minor = d.amount_off_minor();
  t.percent_off_bps = d.percent_off_bps();
  t.cap_minor = d.cap_minor();
  return t;
}

std::string CodeFromRandom(std::string_view random) {
  // 256 - 256 % 31: bytes from here up would favour the alphabet's first characters.
  constexpr unsigned kLimit = 256 - 256 % kCodeAlphabet.size();
  std::string code;
  for (unsigned char b : random) {
    if (b >= kLimit) continue;
    code += kCodeAlphabet[b % kCodeAlphabet.size()];
    if (code.size() == kGeneratedCodeLength) return code;
  }
  return "";
}

// `count` fresh codes from the CSPRNG, drawn in one call. Each code takes twice its length of
// bytes: a byte past the alphabet's last whole multiple is skipped (1 in 32), so a slice runs out
// only if more than 12 of its 24 bytes are (about 1 in 10^12): that code is drawn again.
std::vector<std::string> GenerateCodes(int count) {
  constexpr size_t kSlice = 2 * kGeneratedCodeLength;
  std::vector<std::string> codes;
  codes.reserve(static_cast<size_t>(count));
  while (static_cast<int>(codes.size()) < count) {
    const std::string random = common::RandomBytes(kSlice * (count - codes.size()));
    for (size_t at = 0; at < random.size(); at += kSlice) {
      auto code = CodeFromRandom(std::string_view(random).substr(at, kSlice));
      if (!code.empty()) codes.push_back(std::move(code));
    }
  }
  return codes;
}

gateway::v1::CodeDefinition PersonalTerms(gateway::v1::CodeDefinition terms,
                                          const std::string& customer_id) {
  terms.set_customer_id(customer_id);
  terms.set_max_uses(1);
  return terms;
}

}  // namespace loyalty::checkout
