// ReplayTiers (program/tier_replay.hpp): the published program's tiers beside a draft's.
#include "program/tier_replay.hpp"

#include <gtest/gtest.h>

namespace loyalty::points {
namespace {

constexpr int64_t kNow = 1'796'083'200'000'000;  // 2026-12-01T00:00:00Z

v1::TierProgram Program(int64_t silver, int64_t gold) {
  v1::TierProgram p;
  p.set_measure(v1::TIER_MEASURE_SPEND);
  p.set_window(v1::TIER_WINDOW_ROLLING_12_MONTHS);
  auto* s = p.add_tiers();
  s->set_tier_id("silver");
  s->set_threshold(silver);
  auto* g = p.add_tiers();
  g->set_tier_id("gold");
  g->set_threshold(gold);
  return p;
}

TierStanding Customer(const std::string& id, int64_t spend, const std::string& stored = "") {
  TierStanding s;
  s.customer_id = id;
  s.qualifying_now = spend;
  s.qualifying_draft = spend;
  s.state.tier_id = stored;
  return s;
}

std::vector<std::string> Moves(const v1::TiersDryRun& r) {
  std::vector<std::string> out;
  for (const auto& m : r.moves()) {
    out.push_back(m.from_tier_id() + ">" + m.to_tier_id() + ":" + std::to_string(m.customers()));
  }
  return out;
}

TEST(TierReplay, LowerThresholdsMoveCustomersUpAndTheCountsFollow) {
  const auto published = Program(10'000, 50'000);
  const auto draft = Program(5'000, 30'000);
  const std::vector<TierStanding> standings = {
      Customer("a", 4'000),               // none → none: left out
      Customer("b", 6'000),               // none → silver
      Customer("c", 12'000, "silver"),    // silver → silver
      Customer("d", 35'000, "silver"),    // silver → gold
      Customer("e", 60'000, "gold"),      // gold → gold
      Customer("f", 40'000),              // never evaluated: silver now (what it reaches) → gold
  };
  const auto r = ReplayTiers(&published, draft, standings, kNow);
  EXPECT_EQ(r.customers(), 5);
  EXPECT_EQ(r.customers_moved(), 3);
  EXPECT_EQ(Moves(r), (std::vector<std::string>{">silver:1", "silver>gold:2"}));
  ASSERT_EQ(r.tiers_size(), 2);
  EXPECT_EQ(r.tiers(0).tier_id(), "silver");
  EXPECT_EQ(r.tiers(0).customers_now(), 3);
  EXPECT_EQ(r.tiers(0).customers_draft(), 2);
  EXPECT_EQ(r.tiers(1).tier_id(), "gold");
  EXPECT_EQ(r.tiers(1).customers_now(), 1);
  EXPECT_EQ(r.tiers(1).customers_draft(), 3);
}

TEST(TierReplay, AManualTierStaysAndARemovedTierIsCountedOnItsOwn) {
  auto draft = Program(10'000, 50'000);
  draft.mutable_tiers(1)->set_tier_id("platinum");  // gold is gone from the draft
  auto manual = Customer("m", 0);
  manual.state.manual_tier_id = "gold";
  manual.state.manual_until_us = kNow + 1;
  auto lapsed = Customer("l", 0);  // a manual tier that has ended: what the draft reaches
  lapsed.state.manual_tier_id = "gold";
  lapsed.state.manual_until_us = kNow;
  const auto published = Program(10'000, 50'000);
  const auto r =
      ReplayTiers(&published, draft, {manual, lapsed, Customer("g", 70'000, "gold")}, kNow);
  EXPECT_EQ(Moves(r), (std::vector<std::string>{"gold>platinum:1"}));
  ASSERT_EQ(r.tiers_size(), 3);
  EXPECT_EQ(r.tiers(2).tier_id(), "gold");  // only the published program has it
  EXPECT_EQ(r.tiers(2).customers_now(), 2);
  EXPECT_EQ(r.tiers(2).customers_draft(), 1);
}

TEST(TierReplay, WithoutAPublishedProgramEveryoneStartsInNoTier) {
  const auto r = ReplayTiers(nullptr, Program(100, 200), {Customer("a", 150), Customer("b", 50)},
                             kNow);
  EXPECT_EQ(r.customers(), 1);
  EXPECT_EQ(Moves(r), (std::vector<std::string>{">silver:1"}));
}

}  // namespace
}  // namespace loyalty::points
