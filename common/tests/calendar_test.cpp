// Calendar dates in a store's time zone: parsing, birthdays (29 February), calendar periods.
#include "loyalty/common/calendar.hpp"

#include <gtest/gtest.h>

namespace loyalty::common {
namespace {

using Days = std::vector<MonthDay>;

TEST(Calendar, ParsesAndFormatsLocalDates) {
  EXPECT_EQ(ParseLocalDate("2027-02-28"), (LocalDate{2027, 2, 28}));
  EXPECT_EQ(ParseLocalDate("2028-02-29"), (LocalDate{2028, 2, 29}));
  EXPECT_FALSE(ParseLocalDate("2027-02-29")) << "not a leap year";
  EXPECT_FALSE(ParseLocalDate("2027-13-01"));
  EXPECT_FALSE(ParseLocalDate("2027-1-01"));
  EXPECT_FALSE(ParseLocalDate("2027-01-0x"));
  EXPECT_EQ(FormatLocalDate({2027, 3, 1}), "2027-03-01");
}

TEST(Calendar, ABirthdayIsHonouredOnItsDay) {
  EXPECT_EQ(BirthdaysOn({2027, 7, 14}), (Days{{7, 14}}));
  EXPECT_EQ(BirthdaysOn({2027, 3, 1}), (Days{{3, 1}})) << "29 February is not moved to 1 March";
}

TEST(Calendar, TwentyNinthOfFebruaryIsHonouredOnTheTwentyEighthInOtherYears) {
  EXPECT_EQ(BirthdaysOn({2027, 2, 28}), (Days{{2, 28}, {2, 29}}));
  EXPECT_EQ(BirthdaysOn({2100, 2, 28}), (Days{{2, 28}, {2, 29}})) << "2100 is not a leap year";
  // In a leap year on its own day only, so never twice.
  EXPECT_EQ(BirthdaysOn({2028, 2, 28}), (Days{{2, 28}}));
  EXPECT_EQ(BirthdaysOn({2028, 2, 29}), (Days{{2, 29}}));
  EXPECT_EQ(BirthdaysOn({2000, 2, 28}), (Days{{2, 28}})) << "2000 is a leap year";
}

TEST(Calendar, TheMonthBeforeCrossesYearsAndLeapFebruaries) {
  auto p = MonthBefore({2027, 1, 15});
  EXPECT_EQ(p.start, (LocalDate{2026, 12, 1}));
  EXPECT_EQ(p.end, (LocalDate{2027, 1, 1}));
  p = MonthBefore({2028, 3, 31});
  EXPECT_EQ(p.start, (LocalDate{2028, 2, 1}));
  EXPECT_EQ(p.end, (LocalDate{2028, 3, 1}));
  p = MonthBefore({2026, 7, 1});
  EXPECT_EQ(p.start, (LocalDate{2026, 6, 1})) << "the first of a month is in its month";
  EXPECT_EQ(p.end, (LocalDate{2026, 7, 1}));
}

TEST(Calendar, AddingDaysCrossesMonthsYearsAndLeapDays) {
  EXPECT_EQ(AddDays({2028, 2, 28}, 1), (LocalDate{2028, 2, 29}));
  EXPECT_EQ(AddDays({2027, 2, 28}, 1), (LocalDate{2027, 3, 1}));
  EXPECT_EQ(AddDays({2027, 1, 1}, -1), (LocalDate{2026, 12, 31}));
  EXPECT_EQ(AddDays({2027, 1, 1}, -365), (LocalDate{2026, 1, 1}));
}

TEST(Calendar, AMonthPeriodEndsOnTheFirstOfTheNext) {
  const auto p = CalendarPeriodOf({2026, 12, 31}, CalendarUnit::kMonth);
  EXPECT_EQ(p.start, (LocalDate{2026, 12, 1}));
  EXPECT_EQ(p.end, (LocalDate{2027, 1, 1}));
}

}  // namespace
}  // namespace loyalty::common
