// The pure rules of member actions: which birthdays a local date honours (29 February included),
// the calendar period a cap counts in, a referral's mailbox comparison and the settings' checks.
// No I/O: the store's local date comes from Postgres (AT TIME ZONE, the tz database), and
// tests/action_rules_test.cpp covers the rest.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/common/errors.hpp"
#include "loyalty/points/v1/points_service.pb.h"

namespace loyalty::points {

// A calendar date in the store's time zone.
struct LocalDate {
  int32_t year = 0;
  int32_t month = 0;  // 1-12
  int32_t day = 0;    // 1-31
  auto operator<=>(const LocalDate&) const = default;
};

// "YYYY-MM-DD" (as Postgres prints a date) to a valid date; nullopt otherwise.
std::optional<LocalDate> ParseLocalDate(std::string_view text);
std::string FormatLocalDate(const LocalDate& date);

// A birthday, month and day.
struct MonthDay {
  int32_t month = 0;
  int32_t day = 0;
  auto operator<=>(const MonthDay&) const = default;
};

// The birthdays honoured on `today`: today's own, and on 28 February of a year without a
// 29 February, the 29 February birthdays too (so they are honoured once every year).
std::vector<MonthDay> BirthdaysOn(const LocalDate& today);

// The local dates [start, end) of the calendar period containing `day` (weeks start on Monday;
// UNSPECIFIED is a month).
struct LocalPeriod {
  LocalDate start;
  LocalDate end;
};
LocalPeriod PeriodOf(const LocalDate& day, v1::ActionPeriod period);

// Whether one more reward fits when `rewarded` were already given in the period (cap 0: no cap).
bool UnderCap(int64_t rewarded, int32_t cap);

// The mailbox an email delivers to, for the referral rule "not by the same email": lower case,
// with a "+tag" dropped from the local part (ada+2@x.com reaches ada@x.com). Empty stays empty.
std::string MailboxOf(std::string_view email);

// Field checks for the actions' settings, naming each bad field under `prefix`.
void CheckActionSettings(common::Validator& v, const v1::ActionSettings& actions,
                         const std::string& prefix);

}  // namespace loyalty::points
