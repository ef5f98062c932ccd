// Calendar dates in a store's time zone: the pure rules (which birthdays a day honours, 29
// February included; the day, week, month or year around a day) and the one statement that turns
// an instant into the store's local date (Postgres's AT TIME ZONE, the tz database). Used by the
// points service's member actions and the checkout service's campaigns.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace loyalty::common {

class Database;

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

// Prepares LocalDateAt's statement on every connection of `db`: a service that calls
// LocalDateAt calls this once at start-up (its store's constructor).
void PrepareCalendar(Database& db);
// The store's local date at `at_us` (microseconds since the epoch) in the IANA `time_zone`.
LocalDate LocalDateAt(pqxx::transaction_base& tx, int64_t at_us, const std::string& time_zone);

// A birthday, month and day.
struct MonthDay {
  int32_t month = 0;
  int32_t day = 0;
  auto operator<=>(const MonthDay&) const = default;
};

// The birthdays honoured on `today`: today's own, and on 28 February of a year without a
// 29 February, the 29 February birthdays too (so they are honoured once every year).
std::vector<MonthDay> BirthdaysOn(const LocalDate& today);

// The local dates [start, end) of a calendar period.
struct LocalPeriod {
  LocalDate start;
  LocalDate end;
};
enum class CalendarUnit { kDay, kWeek, kMonth, kYear };
// The period of `unit` that contains `day`; weeks start on Monday.
LocalPeriod CalendarPeriodOf(const LocalDate& day, CalendarUnit unit);
// The calendar month before the one containing `day`.
LocalPeriod MonthBefore(const LocalDate& day);
// `day` moved by `days` (negative: back).
LocalDate AddDays(const LocalDate& day, int32_t days);

}  // namespace loyalty::common
