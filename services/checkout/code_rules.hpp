// Discount codes' rules, with no I/O (docs/codes.md): an admin's definition and code text, whether
// a shopper may use a code on a cart, what it takes off (the pricing path's RewardOff, as a
// reward would) and generated codes. The quote and the checkout's claim both decide here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/common/errors.hpp"
#include "loyalty/common/pricing.hpp"
#include "loyalty/gateway/v1/gateway_service.pb.h"

namespace loyalty::checkout {

// Generated codes: 12 characters of an alphabet without look-alikes (no 0/O, 1/I/L).
inline constexpr std::string_view kCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
inline constexpr size_t kGeneratedCodeLength = 12;
inline constexpr int kMaxCodesPerBatch = 100'000;

// A code as a quote or a claim reads it.
struct CodeState {
  std::string code;  // canonical: upper case
  gateway::v1::CodeDefinition definition;
  int64_t uses = 0;           // orders holding or having used it
  int64_t customer_uses = 0;  // of those, the shopper's
};

enum class CodeRefusal { kNone, kExpired, kMinimumNotMet, kUsedUp, kNotYours, kCustomerLimit };

// The code as the store keeps it: ASCII letters upper-cased (shoppers type codes any case).
std::string CanonicalCode(std::string_view typed);

// A code the admin chooses or a shopper types: 3-32 letters, digits or '-'.
bool ValidCodeText(std::string_view code);

// Checks an admin's definition, naming fields under `prefix` ("definition.").
void CheckCodeDefinition(common::Validator& v, const gateway::v1::CodeDefinition& d,
                         const std::string& prefix);

// Whether `customer_id` may use `code` at `now_micros` on a cart whose merchandise after its own
// discounts is `merchandise_minor`. The first refusal in this order: expired, not yours, used up,
// the customer's limit, the minimum spend.
CodeRefusal CheckCodeUsable(const CodeState& code, const std::string& customer_id,
                            int64_t merchandise_minor, int64_t now_micros);

// The refusal as the shopper sees it: reason (CODE_EXPIRED, ...) and a sentence.
struct CodeRefusalText {
  const char* reason;
  std::string message;
};
CodeRefusalText RefusalTextOf(CodeRefusal refusal, const CodeState& code);

// FAILED_PRECONDITION naming cart.discount_code with the refusal's reason.
common::ApiError CodeRefusalError(CodeRefusal refusal, const CodeState& code);
// NOT_FOUND CODE_NOT_FOUND naming cart.discount_code.
common::ApiError CodeNotFound(const std::string& code);

// The definition as the pricing path takes it.
common::pricing::RewardTerms CodeTermsOf(const gateway::v1::CodeDefinition& d);

// One generated code from `random` (at least kGeneratedCodeLength bytes of a CSPRNG); each byte
// picks a character without bias (bytes past the alphabet's last whole multiple are skipped, so
// it may need more than kGeneratedCodeLength bytes: empty when `random` runs out).
std::string CodeFromRandom(std::string_view random);

// `count` fresh generated codes from OpenSSL's CSPRNG (common::RandomBytes), drawn in one call.
std::vector<std::string> GenerateCodes(int count);

// The terms of a code issued to one customer (a thank-you, cart-recovery or campaign code) from
// its template batch's: bound to that customer, single-use.
gateway::v1::CodeDefinition PersonalTerms(gateway::v1::CodeDefinition terms,
                                          const std::string& customer_id);

}  // namespace loyalty::checkout
