// The pure rules of member actions: the calendar period a cap counts in (dates and birthdays:
// loyalty/common/calendar.hpp), a referral's mailbox comparison and the settings' checks.
// No I/O: the store's local date comes from Postgres (AT TIME ZONE, the tz database), and
// tests/action_rules_test.cpp covers the rest.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/common/calendar.hpp"
#include "loyalty/common/errors.hpp"
#include "loyalty/points/v1/points_service.pb.h"

namespace loyalty::points {

using common::BirthdaysOn;
using common::FormatLocalDate;
using common::LocalDate;
using common::LocalPeriod;
using common::MonthDay;
using common::ParseLocalDate;

// The calendar period of a cap containing `day` (UNSPECIFIED is a month).
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
