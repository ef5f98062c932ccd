#include "customer_rules.hpp"

#include <algorithm>
#include <cctype>

namespace loyalty::customers {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool IsLeap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

}  // namespace

std::string NormalizeEmail(std::string_view email) {
  std::string out(Trim(email));
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IsValidEmail(const std::string& e) {
  if (e.size() < 3 || e.size() > 254) return false;
  const auto at = e.find('@');
  if (at == std::string::npos || at == 0 || e.find('@', at + 1) != std::string::npos) return false;
  const std::string domain = e.substr(at + 1);
  const auto dot = domain.find('.');
  if (dot == std::string::npos || dot == 0 || domain.back() == '.') return false;
  return std::none_of(e.begin(), e.end(), [](unsigned char c) { return std::isspace(c) || c < 0x20; });
}

bool IsValidBirthday(const v1::Birthday& b, int current_year) {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (b.month() < 1 || b.month() > 12) return false;
  if (b.year() != 0 && (b.year() < 1900 || b.year() > current_year)) return false;
  int days = kDays[b.month() - 1];
  if (b.month() == 2 && b.year() != 0 && !IsLeap(b.year())) days = 28;
  return b.day() >= 1 && b.day() <= days;
}

size_t CharCount(std::string_view text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

void CheckEmail(common::Validator& v, const std::string& normalized, const std::string& field) {
  if (v.Check(!normalized.empty(), field, "is required")) {
    v.Check(IsValidEmail(normalized), field, "is not an email address");
  }
}

void CheckName(common::Validator& v, const std::string& name, const std::string& field) {
  v.Check(CharCount(name) <= kMaxNameChars, field,
          "must be at most " + std::to_string(kMaxNameChars) + " characters");
}

void CheckBirthday(common::Validator& v, const v1::Birthday& birthday, int current_year,
                   const std::string& field) {
  v.Check(IsValidBirthday(birthday, current_year), field,
          "is not a real date (month 1-12, a day of that month, year 0 or 1900 to now)");
}

void CheckTags(common::Validator& v, const std::vector<std::string>& tags, const std::string& field) {
  v.Check(tags.size() <= kMaxTags, field, "at most " + std::to_string(kMaxTags) + " tags");
  for (const auto& tag : tags) {
    const bool ok = !tag.empty() && tag.size() <= kMaxTagChars &&
                    std::all_of(tag.begin(), tag.end(), [](unsigned char c) {
                      return std::islower(c) || std::isdigit(c) || c == '-' || c == '_';
                    });
    if (!v.Check(ok, field, "\"" + tag + "\" must be 1-64 of a-z, 0-9, '-', '_'")) break;
  }
}

std::string NewReferralCode(std::mt19937_64& rng) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::string code(kReferralCodeLength, ' ');
  for (auto& c : code) c = kAlphabet[pick(rng)];
  return code;
}

std::string NormalizeReferralCode(std::string_view code) {
  std::string out(Trim(code));
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

}  // namespace loyalty::customers
