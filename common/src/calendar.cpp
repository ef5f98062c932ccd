#include "loyalty/common/calendar.hpp"

#include <chrono>
#include <cstdio>
#include <pqxx/pqxx>
#include <stdexcept>

#include "loyalty/common/db.hpp"
#include "loyalty/common/sql_time.hpp"

namespace loyalty::common {
namespace {

using std::chrono::day;
using std::chrono::days;
using std::chrono::month;
using std::chrono::months;
using std::chrono::sys_days;
using std::chrono::year;
using std::chrono::year_month_day;
using std::chrono::years;

year_month_day ToYmd(const LocalDate& d) {
  return year_month_day{year{d.year}, month{static_cast<unsigned>(d.month)},
                        day{static_cast<unsigned>(d.day)}};
}

LocalDate FromYmd(const year_month_day& d) {
  return {static_cast<int32_t>(d.year()), static_cast<int32_t>(static_cast<unsigned>(d.month())),
          static_cast<int32_t>(static_cast<unsigned>(d.day()))};
}

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

void PrepareCalendar(Database& db) {
  db.Prepare("calendar_local_date",
             "SELECT to_char(" FROM_MICROS("$1") " AT TIME ZONE $2::text, 'YYYY-MM-DD')");
}

LocalDate LocalDateAt(pqxx::transaction_base& tx, int64_t at_us, const std::string& time_zone) {
  const auto text =
      tx.exec_prepared1("calendar_local_date", at_us, time_zone)[0].as<std::string>();
  const auto date = ParseLocalDate(text);
  if (!date) throw std::runtime_error("unexpected local date " + text);
  return *date;
}

std::vector<MonthDay> BirthdaysOn(const LocalDate& today) {
  std::vector<MonthDay> days{{today.month, today.day}};
  if (today.month == 2 && today.day == 28 && !year{today.year}.is_leap()) days.push_back({2, 29});
  return days;
}

LocalPeriod CalendarPeriodOf(const LocalDate& d, CalendarUnit unit) {
  const year_month_day ymd = ToYmd(d);
  switch (unit) {
    case CalendarUnit::kDay:
      return {d, FromYmd(year_month_day{sys_days{ymd} + days{1}})};
    case CalendarUnit::kWeek: {
      const sys_days today{ymd};
      // iso_encoding: Monday 1 … Sunday 7.
      const auto since_monday = days{std::chrono::weekday{today}.iso_encoding() - 1};
      const sys_days monday = today - since_monday;
      return {FromYmd(year_month_day{monday}), FromYmd(year_month_day{monday + days{7}})};
    }
    case CalendarUnit::kYear: {
      const year_month_day start{ymd.year(), month{1}, day{1}};
      return {FromYmd(start), FromYmd(start + years{1})};
    }
    case CalendarUnit::kMonth:
      break;
  }
  const year_month_day start{ymd.year(), ymd.month(), day{1}};
  return {FromYmd(start), FromYmd(start + months{1})};
}

LocalPeriod MonthBefore(const LocalDate& d) {
  const year_month_day this_month{year{d.year}, month{static_cast<unsigned>(d.month)}, day{1}};
  return {FromYmd(this_month - months{1}), FromYmd(this_month)};
}

LocalDate AddDays(const LocalDate& d, int32_t n) {
  return FromYmd(year_month_day{sys_days{ToYmd(d)} + days{n}});
}

}  // namespace loyalty::common
