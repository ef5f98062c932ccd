// The pure rules of member actions: the calendar period a cap counts in (dates and birthdays:
// common/tests/calendar_test.cpp), caps, mailboxes for the referral rule, settings checks.
#include "lot_key.hpp"
#include "program/action_rules.hpp"

#include <gtest/gtest.h>

namespace loyalty::points {
namespace {

TEST(ActionRules, PeriodsAreCalendarPeriods) {
  const LocalDate d{2027, 12, 31};  // a Friday
  auto p = PeriodOf(d, v1::ACTION_PERIOD_DAY);
  EXPECT_EQ(p.start, d);
  EXPECT_EQ(p.end, (LocalDate{2028, 1, 1}));
  p = PeriodOf(d, v1::ACTION_PERIOD_WEEK);
  EXPECT_EQ(p.start, (LocalDate{2027, 12, 27})) << "weeks start on Monday";
  EXPECT_EQ(p.end, (LocalDate{2028, 1, 3}));
  p = PeriodOf({2027, 12, 27}, v1::ACTION_PERIOD_WEEK);
  EXPECT_EQ(p.start, (LocalDate{2027, 12, 27})) << "a Monday starts its own week";
  p = PeriodOf({2028, 1, 2}, v1::ACTION_PERIOD_WEEK);
  EXPECT_EQ(p.start, (LocalDate{2027, 12, 27})) << "a Sunday ends it";
  p = PeriodOf({2028, 2, 29}, v1::ACTION_PERIOD_MONTH);
  EXPECT_EQ(p.start, (LocalDate{2028, 2, 1}));
  EXPECT_EQ(p.end, (LocalDate{2028, 3, 1}));
  p = PeriodOf({2027, 12, 5}, v1::ACTION_PERIOD_UNSPECIFIED);
  EXPECT_EQ(p.start, (LocalDate{2027, 12, 1})) << "unspecified is a month";
  EXPECT_EQ(p.end, (LocalDate{2028, 1, 1}));
  p = PeriodOf({2028, 2, 29}, v1::ACTION_PERIOD_YEAR);
  EXPECT_EQ(p.start, (LocalDate{2028, 1, 1}));
  EXPECT_EQ(p.end, (LocalDate{2029, 1, 1}));
}

TEST(ActionRules, ACapOfThreeAllowsThree) {
  EXPECT_TRUE(UnderCap(0, 3));
  EXPECT_TRUE(UnderCap(2, 3));
  EXPECT_FALSE(UnderCap(3, 3)) << "the 4th is refused";
  EXPECT_FALSE(UnderCap(4, 3));
  EXPECT_TRUE(UnderCap(1'000'000, 0)) << "0 is no cap";
}

TEST(ActionRules, MailboxesIgnoreCaseAndPlusTags) {
  EXPECT_EQ(MailboxOf("Ada+friend@Example.com"), "ada@example.com");
  EXPECT_EQ(MailboxOf("ada@example.com"), MailboxOf("ada+2@example.com"));
  EXPECT_NE(MailboxOf("ada@example.com"), MailboxOf("ada2@example.com"));
  EXPECT_NE(MailboxOf("ada@example.com"), MailboxOf("ada@example.org"));
  EXPECT_EQ(MailboxOf(""), "");
}

TEST(ActionRules, ActionKeysKeepTheirPartsApart) {
  // Share references and order ids may hold ':': a review of order "a:b" line "c" is not one of
  // order "a" line "b:c", and a birthday key is per year.
  EXPECT_NE(LotId(kActionLot, {"review", "a:b", "c"}), LotId(kActionLot, {"review", "a", "b:c"}));
  EXPECT_NE(LotId(kActionLot, {"birthday", "c1", "2027"}),
            LotId(kActionLot, {"birthday", "c1", "2028"}));
  EXPECT_EQ(LotId(kActionLot, {"share", "https://x/1"}), "action:share:https%3A//x/1");
}

TEST(ActionRules, SettingsChecksNameTheField) {
  v1::ActionSettings a;
  a.set_share_points(-1);
  a.set_share_cap(1001);
  a.set_referral_period(static_cast<v1::ActionPeriod>(9));
  common::Validator v;
  CheckActionSettings(v, a, "settings.actions.");
  try {
    v.ThrowIfInvalid();
    FAIL() << "accepted";
  } catch (const common::ApiError& e) {
    std::vector<std::string> fields;
    for (const auto& f : e.fields()) fields.push_back(f.field);
    EXPECT_EQ(fields, (std::vector<std::string>{"settings.actions.share_points",
                                                "settings.actions.share_cap",
                                                "settings.actions.referral_period"}));
  }
  common::Validator ok;
  a.set_share_points(10);
  a.set_share_cap(3);
  a.set_referral_period(v1::ACTION_PERIOD_YEAR);
  CheckActionSettings(ok, a, "");
  EXPECT_NO_THROW(ok.ThrowIfInvalid());
}

}  // namespace
}  // namespace loyalty::points
