// The rules of customer data, with no I/O: normalisation, validation, referral codes.
#pragma once

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/common/errors.hpp"
#include "loyalty/customers/v1/customers_service.pb.h"

namespace loyalty::customers {

inline constexpr size_t kMaxNameChars = 200;
inline constexpr size_t kMaxTags = 20;
inline constexpr size_t kMaxTagChars = 64;
inline constexpr int kReferralCodeLength = 8;

// Trimmed and lower-cased. Validity is checked separately.
std::string NormalizeEmail(std::string_view email);
// A deliberately plain check: one '@', a non-empty local part, a dotted domain, no spaces.
bool IsValidEmail(const std::string& normalized);
// month 1-12 and a day that exists in it; 29 February needs a leap year or no year;
// year 0 (unknown) or 1900..current_year.
bool IsValidBirthday(const v1::Birthday& birthday, int current_year);
// Characters (UTF-8 code points) in `text`.
size_t CharCount(std::string_view text);

// Checks the fields a register or update sets; `prefix` names them ("" or "customer.").
void CheckEmail(common::Validator& v, const std::string& normalized, const std::string& field);
void CheckName(common::Validator& v, const std::string& name, const std::string& field);
void CheckBirthday(common::Validator& v, const v1::Birthday& birthday, int current_year,
                   const std::string& field);
void CheckTags(common::Validator& v, const std::vector<std::string>& tags, const std::string& field);

// Eight characters from an alphabet without look-alikes (no 0/O, 1/I/L).
std::string NewReferralCode(std::mt19937_64& rng);
// Normalises a code a customer typed: trimmed, upper case.
std::string NormalizeReferralCode(std::string_view code);

}  // namespace loyalty::customers
