// A reward's dry run (program/reward_replay.*): each redemption, oldest first, under the draft's
// withdrawal, window and stock (what the draft refused never takes stock), at its points cost.
#include "program/reward_replay.hpp"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

namespace loyalty::points {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int64_t kDay = 86'400'000'000;

v1::RewardDefinition Draft(int64_t cost) {
  v1::RewardDefinition d;
  d.set_name("5 off");
  d.set_kind(v1::REWARD_KIND_AMOUNT_OFF);
  d.set_points_cost(cost);
  d.set_amount_off_minor(500);
  return d;
}

const std::vector<Redemption> kFour = {
    {"ada", 500, 1 * kDay}, {"bob", 500, 2 * kDay}, {"ada", 500, 3 * kDay}, {"cy", 450, 4 * kDay}};

TEST(RewardReplay, ADraftPricesEachRedemptionAtItsCost) {
  const auto r = ReplayRedemptions(Draft(400), 0, kFour);
  EXPECT_EQ(r.redemptions(), 4);
  EXPECT_EQ(r.points_in_force(), 1950);
  EXPECT_EQ(r.redemptions_draft(), 4);
  EXPECT_EQ(r.points_draft(), 1600);
  EXPECT_EQ(r.customers(), 3);
}

TEST(RewardReplay, StockCountsWhatCameBeforeAndOnlyWhatTheDraftAllowed) {
  auto draft = Draft(400);
  draft.set_stock_limit(3);
  const auto r = ReplayRedemptions(draft, 1, kFour);  // one before the period
  EXPECT_EQ(r.redemptions_draft(), 2);
  EXPECT_EQ(r.refused_stock(), 2);
  EXPECT_EQ(r.points_draft(), 800);
}

TEST(RewardReplay, TheWindowAndAWithdrawalRefuse) {
  auto draft = Draft(400);
  *draft.mutable_active_from() = TimeUtil::MicrosecondsToTimestamp(2 * kDay);
  *draft.mutable_active_until() = TimeUtil::MicrosecondsToTimestamp(4 * kDay);  // exclusive
  draft.set_stock_limit(1);
  auto r = ReplayRedemptions(draft, 0, kFour);
  // Day 1 before the window and day 4 at its end: refused, taking no stock; day 2 takes the one
  // unit, so day 3 is out of stock.
  EXPECT_EQ(r.refused_window(), 2);
  EXPECT_EQ(r.redemptions_draft(), 1);
  EXPECT_EQ(r.refused_stock(), 1);
  draft.set_disabled(true);
  r = ReplayRedemptions(draft, 0, kFour);
  EXPECT_EQ(r.refused_disabled(), 4);
  EXPECT_EQ(r.points_draft(), 0);
}

TEST(RewardReplay, ATierRestrictionIsTakenAsMet) {
  auto draft = Draft(400);
  draft.add_tier_ids("gold");
  draft.set_exclusive(true);
  EXPECT_EQ(ReplayRedemptions(draft, 0, kFour).redemptions_draft(), 4);
}

}  // namespace
}  // namespace loyalty::points
