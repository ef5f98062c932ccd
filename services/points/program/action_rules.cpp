#include "program/action_rules.hpp"

#include <cctype>

namespace loyalty::points {
namespace {
constexpr int64_t kMaxActionPoints = 1'000'000'000;
}  // namespace

LocalPeriod PeriodOf(const LocalDate& day, v1::ActionPeriod period) {
  switch (period) {
    case v1::ACTION_PERIOD_DAY:
      return common::CalendarPeriodOf(day, common::CalendarUnit::kDay);
    case v1::ACTION_PERIOD_WEEK:
      return common::CalendarPeriodOf(day, common::CalendarUnit::kWeek);
    case v1::ACTION_PERIOD_YEAR:
      return common::CalendarPeriodOf(day, common::CalendarUnit::kYear);
    default:  // MONTH, and UNSPECIFIED as documented
      return common::CalendarPeriodOf(day, common::CalendarUnit::kMonth);
  }
}

bool UnderCap(int64_t rewarded, int32_t cap) { return cap == 0 || rewarded < cap; }

std::string MailboxOf(std::string_view email) {
  std::string out;
  const size_t at = email.rfind('@');
  const std::string_view local = at == std::string_view::npos ? email : email.substr(0, at);
  const std::string_view domain = at == std::string_view::npos ? "" : email.substr(at);
  const std::string_view mailbox = local.substr(0, local.find('+'));
  for (const char c : mailbox)
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char c : domain) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void CheckActionSettings(common::Validator& v, const v1::ActionSettings& a, const std::string& p) {
  const auto points = [&](int64_t value, const char* field) {
    v.Check(value >= 0 && value <= kMaxActionPoints, p + field, "must be 0 to 1,000,000,000");
  };
  points(a.signup_points(), "signup_points");
  points(a.first_purchase_points(), "first_purchase_points");
  points(a.birthday_points(), "birthday_points");
  points(a.share_points(), "share_points");
  points(a.review_points(), "review_points");
  points(a.referrer_points(), "referrer_points");
  points(a.referee_points(), "referee_points");
  v.Check(a.share_cap() >= 0 && a.share_cap() <= 1000, p + "share_cap", "must be 0 to 1000");
  v.Check(a.referral_cap() >= 0 && a.referral_cap() <= 1000, p + "referral_cap",
          "must be 0 to 1000");
  v.Check(v1::ActionPeriod_IsValid(a.share_period()), p + "share_period", "is not a period");
  v.Check(v1::ActionPeriod_IsValid(a.referral_period()), p + "referral_period", "is not a period");
}

}  // namespace loyalty::points
