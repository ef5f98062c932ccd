// The tier rules with no I/O: windows (rolling, calendar year in a time zone), evaluation, the
// downgrade policy with grace, manual tiers, progress and the program's checks.
#include "program/tier_rules.hpp"

#include <absl/time/civil_time.h>
#include <gtest/gtest.h>

#include "earn_rules.hpp"

namespace loyalty::points {
namespace {

// UTC-5 all year: a zone built in memory (no zoneinfo file read), where local midnight of 1 January
// is 05:00 UTC.
const absl::TimeZone kZone = absl::FixedTimeZone(-5 * 3600);
const absl::TimeZone kUtc = absl::UTCTimeZone();
constexpr int64_t kDay = 86'400'000'000;

int64_t Utc(int y, int mo, int d, int h = 0, int mi = 0) {
  return absl::ToUnixMicros(absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), kUtc));
}

v1::TierProgram Program(v1::TierWindow window, int grace_days = 0) {
  v1::TierProgram p;
  p.set_measure(v1::TIER_MEASURE_SPEND);
  p.set_window(window);
  p.set_grace_days(grace_days);
  const auto add = [&](const char* id, const char* name, int64_t threshold, int32_t bps,
                       bool free_shipping) {
    auto* t = p.add_tiers();
    t->set_tier_id(id);
    t->set_name(name);
    t->set_threshold(threshold);
    t->mutable_benefits()->set_earn_multiplier_bps(bps);
    t->mutable_benefits()->set_free_shipping(free_shipping);
  };
  add("member", "Member", 0, 0, false);
  add("silver", "Silver", 10'000, 12'500, false);
  add("gold", "Gold", 50'000, 15'000, true);
  return p;
}

TEST(TierRules, ReachedTierIsTheHighestThresholdMet) {
  const auto p = Program(v1::TIER_WINDOW_ROLLING_12_MONTHS);
  EXPECT_EQ(ReachedTier(p, 0), 0);
  EXPECT_EQ(ReachedTier(p, 9'999), 0);
  EXPECT_EQ(ReachedTier(p, 10'000), 1);
  EXPECT_EQ(ReachedTier(p, 49'999), 1);
  EXPECT_EQ(ReachedTier(p, 50'000), 2);
  auto no_base = p;
  no_base.mutable_tiers(0)->set_threshold(1);
  EXPECT_EQ(ReachedTier(no_base, 0), -1);
  EXPECT_EQ(TierIndex(p, "gold"), 2);
  EXPECT_EQ(TierIndex(p, "platinum"), -1);
  EXPECT_EQ(TierEarnBps(p, 0), kOneX);  // 0 means ×1
  EXPECT_EQ(TierEarnBps(p, 2), 15'000);
  EXPECT_EQ(TierEarnBps(p, -1), kOneX);
}

TEST(TierRules, CalendarYearStartsAtLocalMidnightOfFirstJanuary) {
  const auto p = Program(v1::TIER_WINDOW_CALENDAR_YEAR);
  // 1 January 03:00 UTC is still 31 December locally: last year's window.
  const auto late = QualifyingWindow(p, kZone, Utc(2027, 1, 1, 3));
  EXPECT_EQ(late.from_us, Utc(2026, 1, 1, 5));
  EXPECT_EQ(late.to_us, Utc(2027, 1, 1, 3) + 1);
  const auto early = QualifyingWindow(p, kZone, Utc(2027, 1, 1, 6));
  EXPECT_EQ(early.from_us, Utc(2027, 1, 1, 5));
  // In UTC the same instant is already the new year.
  EXPECT_EQ(QualifyingWindow(p, kUtc, Utc(2027, 1, 1, 3)).from_us, Utc(2027, 1, 1));
}

TEST(TierRules, RollingWindowIsTheTwelveMonthsBefore) {
  const auto p = Program(v1::TIER_WINDOW_ROLLING_12_MONTHS);
  const auto w = QualifyingWindow(p, kUtc, Utc(2027, 3, 15, 12));
  EXPECT_EQ(w.from_us, Utc(2026, 3, 15, 12) + 1);  // exactly 12 months old no longer counts
  EXPECT_EQ(w.to_us, Utc(2027, 3, 15, 12) + 1);
  // 29 February: a year earlier is 1 March.
  EXPECT_EQ(QualifyingWindow(p, kUtc, Utc(2028, 2, 29)).from_us, Utc(2027, 3, 1) + 1);
}

TEST(TierRules, KeptUntilIsThePeriodEndPlusGrace) {
  const int64_t met = Utc(2026, 6, 15, 10);
  EXPECT_EQ(KeptUntil(Program(v1::TIER_WINDOW_CALENDAR_YEAR), kZone, met), Utc(2027, 1, 1, 5));
  EXPECT_EQ(KeptUntil(Program(v1::TIER_WINDOW_CALENDAR_YEAR, 30), kZone, met),
            Utc(2027, 1, 1, 5) + 30 * kDay);
  EXPECT_EQ(KeptUntil(Program(v1::TIER_WINDOW_ROLLING_12_MONTHS, 7), kUtc, met),
            Utc(2027, 6, 15, 10) + 7 * kDay);
}

TEST(TierRules, TheOrderThatCrossesTheThresholdMovesUp) {
  const auto p = Program(v1::TIER_WINDOW_CALENDAR_YEAR, 10);
  TierState s;
  const int64_t t0 = Utc(2026, 3, 1);
  auto d = EvaluateTier(p, kZone, s, 9'000, t0, TierTrigger::kOrder, "order o-1");
  EXPECT_TRUE(d.changed);
  EXPECT_EQ(d.from, "");
  EXPECT_EQ(d.to, "member");
  d = EvaluateTier(p, kZone, d.next, 50'000, t0 + kDay, TierTrigger::kOrder, "order o-2");
  EXPECT_TRUE(d.changed);
  EXPECT_EQ(d.from, "member");
  EXPECT_EQ(d.to, "gold");  // straight past silver
  EXPECT_EQ(d.next.since_us, t0 + kDay);
  EXPECT_EQ(d.next.kept_until_us, Utc(2027, 1, 1, 5) + 10 * kDay);
  EXPECT_EQ(d.reason, "order o-2: qualifying 50000 reached Gold (threshold 50000)");
}

TEST(TierRules, OrdersAndRefundsNeverLowerATier) {
  const auto p = Program(v1::TIER_WINDOW_CALENDAR_YEAR);
  TierState gold{"gold", Utc(2026, 3, 1), Utc(2027, 1, 1, 5), "", std::nullopt, "", ""};
  for (const auto trigger : {TierTrigger::kOrder, TierTrigger::kRefund}) {
    const auto d = EvaluateTier(p, kZone, gold, 100, Utc(2027, 2, 1), trigger, "refund o-2");
    EXPECT_FALSE(d.changed);
    EXPECT_EQ(d.next.tier_id, "gold");
  }
}

TEST(TierRules, TheJobLowersOnlyFromThePeriodEndPlusGrace) {
  const auto p = Program(v1::TIER_WINDOW_CALENDAR_YEAR, 10);
  const int64_t kept = Utc(2027, 1, 1, 5) + 10 * kDay;
  TierState gold{"gold", Utc(2026, 3, 1), kept, "", std::nullopt, "", ""};
  // Below Gold (a refund took it back) but the grace runs: nothing yet.
  auto d = EvaluateTier(p, kZone, gold, 20'000, kept - 1, TierTrigger::kJob, "tier job");
  EXPECT_FALSE(d.changed);
  d = EvaluateTier(p, kZone, gold, 20'000, kept, TierTrigger::kJob, "tier job");
  EXPECT_TRUE(d.changed);
  EXPECT_EQ(d.to, "silver");  // to what the figure reaches, not one step
  EXPECT_EQ(d.next.since_us, kept);
  EXPECT_EQ(d.next.kept_until_us, Utc(2028, 1, 1, 5) + 10 * kDay);
  EXPECT_NE(d.reason.find("below Gold (threshold 50000), reaches Silver"), std::string::npos)
      << d.reason;
  // The same run again: nothing more.
  const auto again = EvaluateTier(p, kZone, d.next, 20'000, kept, TierTrigger::kJob, "tier job");
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.next.tier_id, "silver");
}

TEST(TierRules, MeetingTheTierAgainKeepsItAnotherPeriod) {
  const auto p = Program(v1::TIER_WINDOW_ROLLING_12_MONTHS);
  TierState gold{"gold", Utc(2026, 3, 1), Utc(2027, 3, 1), "", std::nullopt, "", ""};
  const auto d = EvaluateTier(p, kUtc, gold, 60'000, Utc(2026, 9, 1), TierTrigger::kOrder, "o");
  EXPECT_FALSE(d.changed);
  EXPECT_EQ(d.next.kept_until_us, Utc(2027, 9, 1));
  // The job before that finds the tier kept even with a lower figure.
  EXPECT_FALSE(
      EvaluateTier(p, kUtc, d.next, 0, Utc(2027, 8, 31), TierTrigger::kJob, "job").changed);
}

TEST(TierRules, AManualTierLastsUntilItsEnd) {
  const auto p = Program(v1::TIER_WINDOW_ROLLING_12_MONTHS);
  const int64_t until = Utc(2026, 12, 1);
  TierState s{"member", Utc(2026, 1, 1), Utc(2027, 1, 1), "gold", until, "key_1", "VIP"};
  EXPECT_EQ(TierInForce(s, until - 1), "gold");
  EXPECT_EQ(TierInForce(s, until), "member");
  // An order meanwhile changes the earned tier underneath, not the one in force.
  auto d = EvaluateTier(p, kUtc, s, 10'000, until - kDay, TierTrigger::kOrder, "order o-1");
  EXPECT_FALSE(d.changed);
  EXPECT_EQ(d.next.tier_id, "silver");
  EXPECT_EQ(TierInForce(d.next, until - 1), "gold");
  d = EvaluateTier(p, kUtc, d.next, 10'000, until, TierTrigger::kJob, "tier job");
  EXPECT_TRUE(d.changed);
  EXPECT_EQ(d.from, "gold");
  EXPECT_EQ(d.to, "silver");
  EXPECT_TRUE(d.next.manual_tier_id.empty());
  EXPECT_EQ(d.reason.rfind("manual tier gold ended", 0), 0u) << d.reason;
}

TEST(TierRules, ATierThatLeftTheProgramIsReplaced) {
  const auto p = Program(v1::TIER_WINDOW_ROLLING_12_MONTHS);
  TierState s{"platinum", Utc(2026, 1, 1), Utc(2027, 1, 1), "", std::nullopt, "", ""};
  const auto d = EvaluateTier(p, kUtc, s, 12'000, Utc(2026, 2, 1), TierTrigger::kOrder, "o");
  EXPECT_TRUE(d.changed);
  EXPECT_EQ(d.to, "silver");
}

TEST(TierRules, ProgressIsWhatIsMissingForTheNextTier) {
  const auto p = Program(v1::TIER_WINDOW_ROLLING_12_MONTHS);
  auto pr = Progress(p, 0, 7'250);
  EXPECT_EQ(pr.qualifying(), 7'250);
  EXPECT_EQ(pr.reached_tier_id(), "member");
  EXPECT_EQ(pr.next_tier_id(), "silver");
  EXPECT_EQ(pr.next_tier_name(), "Silver");
  EXPECT_EQ(pr.missing(), 2'750);
  // Kept Gold with a Silver figure: nothing above Gold.
  pr = Progress(p, 2, 20'000);
  EXPECT_EQ(pr.reached_tier_id(), "silver");
  EXPECT_TRUE(pr.next_tier_id().empty());
  EXPECT_EQ(pr.missing(), 0);
  // A figure past the tier in force (before the event applies it): the one above that.
  pr = Progress(p, 0, 10'000);
  EXPECT_EQ(pr.next_tier_id(), "gold");
  EXPECT_EQ(pr.missing(), 40'000);
}

TEST(TierRules, CheckNamesEachBadField) {
  auto p = Program(v1::TIER_WINDOW_CALENDAR_YEAR);
  p.mutable_tiers(2)->set_threshold(10'000);
  p.mutable_tiers(1)->set_tier_id("member");
  p.mutable_tiers(0)->mutable_benefits()->set_earn_multiplier_bps(-1);
  p.set_currency_code("USD");
  p.set_grace_days(400);
  common::Validator v;
  CheckTierProgram(v, p, "EUR", "program.");
  try {
    v.ThrowIfInvalid();
    FAIL() << "accepted";
  } catch (const common::ApiError& e) {
    std::set<std::string> fields;
    for (const auto& f : e.fields()) fields.insert(f.field);
    EXPECT_EQ(fields,
              (std::set<std::string>{"program.tiers[2].threshold", "program.tiers[1].tier_id",
                                     "program.tiers[0].benefits.earn_multiplier_bps",
                                     "program.currency_code", "program.grace_days"}));
  }
  common::Validator ok;
  CheckTierProgram(ok, Program(v1::TIER_WINDOW_CALENDAR_YEAR), "EUR", "program.");
  EXPECT_NO_THROW(ok.ThrowIfInvalid());
}

}  // namespace
}  // namespace loyalty::points
