#include "program/action_rules.hpp"

#include <cctype>
#include <chrono>
#include <cstdio>

namespace loyalty::points {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::year;
using std::chrono::year_month_day;

year_month_day ToYmd(const LocalDate& d) {
  return year_month_day{year{d.year}, month{static_cast<unsigned>(d.month)},
                        day{static_cast<unsigned>(d.day)}};
}

LocalDate FromYmd(const year_month_day& d) {
  return {static_cast<int32_t>(d.year()), static_cast<int32_t>(static_cast<unsigned>(d.month())),
          static_cast<int32_t>(static_cast<unsigned>(d.day()))};
}

constexpr int64_t kMaxActionPoints = 1'000'000'000;

}  // namespace

std::optional<LocalDate> ParseLocalDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int32_t parts[3] = {0, 0, 0};
  const size_t starts[3] = {0, 5, 8};
  const size_t lengths[3] = {4, 2, 2};
  for (int i = 0; i < 3; ++i) {
    for (size_t k = 0; k < lengths[i]; ++k) {
      const char c = text[starts[i] + k];
      if (c < '0' || c > '9') return std::nullopt;
      parts[i] = parts[i] * 10 + (c - '0');
    }
  }
  const LocalDate date{parts[0], parts[1], parts[2]};
  if (date.month < 1 || date.month > 12 || date.day < 1 || !ToYmd(date).ok()) return std::nullopt;
  return date;
}

std::string FormatLocalDate(const LocalDate& date) {
  char out[16];
  std::snprintf(out, sizeof out, "%04d-%02d-%02d", date.year, date.month, date.day);
  return out;
}

std::vector<MonthDay> BirthdaysOn(const LocalDate& today) {
  std::vector<MonthDay> days{{today.month, today.day}};
  if (today.month == 2 && today.day == 28 && !year{today.year}.is_leap()) days.push_back({2, 29});
  return days;
}

LocalPeriod PeriodOf(const LocalDate& d, v1::ActionPeriod period) {
  using std::chrono::days;
  using std::chrono::months;
  using std::chrono::sys_days;
  using std::chrono::years;
  const year_month_day ymd = ToYmd(d);
  switch (period) {
    case v1::ACTION_PERIOD_DAY:
      return {d, FromYmd(year_month_day{sys_days{ymd} + days{1}})};
    case v1::ACTION_PERIOD_WEEK: {
      const sys_days today{ymd};
      // iso_encoding: Monday 1 … Sunday 7.
      const auto since_monday = days{std::chrono::weekday{today}.iso_encoding() - 1};
      const sys_days monday = today - since_monday;
      return {FromYmd(year_month_day{monday}), FromYmd(year_month_day{monday + days{7}})};
    }
    case v1::ACTION_PERIOD_YEAR: {
      const year_month_day start{ymd.year(), month{1}, day{1}};
      return {FromYmd(start), FromYmd(start + years{1})};
    }
    default: {  // MONTH, and UNSPECIFIED as documented
      const year_month_day start{ymd.year(), ymd.month(), day{1}};
      return {FromYmd(start), FromYmd(start + months{1})};
    }
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
