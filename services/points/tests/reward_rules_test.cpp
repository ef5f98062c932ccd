// The rewards catalogue's rules with no I/O: definition checks, who may redeem and when.
#include "program/reward_rules.hpp"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

namespace loyalty::points {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int64_t kJan1 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z in µs

v1::RewardDefinition FiveOff() {
  v1::RewardDefinition d;
  d.set_name("5 EUR off");
  d.set_kind(v1::REWARD_KIND_AMOUNT_OFF);
  d.set_points_cost(500);
  d.set_amount_off_minor(500);
  return d;
}

std::vector<std::string> Fields(const v1::RewardDefinition& d) {
  common::Validator v;
  CheckRewardDefinition(v, d, "definition.");
  try {
    v.ThrowIfInvalid();
  } catch (const common::ApiError& e) {
    std::vector<std::string> out;
    for (const auto& f : e.fields()) out.push_back(f.field);
    return out;
  }
  return {};
}

TEST(RewardDefinitionTest, AValidDefinitionOfEachKindPasses) {
  EXPECT_TRUE(Fields(FiveOff()).empty());
  auto d = FiveOff();
  d.set_amount_off_minor(0);
  d.set_kind(v1::REWARD_KIND_PERCENT_OFF);
  d.set_percent_off_bps(1'000);
  d.set_cap_minor(2'000);
  EXPECT_TRUE(Fields(d).empty());
  d = FiveOff();
  d.set_amount_off_minor(0);
  d.set_kind(v1::REWARD_KIND_FREE_SHIPPING);
  EXPECT_TRUE(Fields(d).empty());
  d.set_kind(v1::REWARD_KIND_GIFT_WRAP);
  d.set_sku("wrap");
  EXPECT_TRUE(Fields(d).empty());
}

TEST(RewardDefinitionTest, NamesEachBadField) {
  v1::RewardDefinition d;
  EXPECT_EQ(Fields(d), (std::vector<std::string>{"definition.name", "definition.kind",
                                                 "definition.points_cost"}));
  d = FiveOff();
  d.set_kind(v1::REWARD_KIND_PERCENT_OFF);  // amount_off is not a percent's, and no cap
  EXPECT_EQ(Fields(d), (std::vector<std::string>{"definition.amount_off_minor",
                                                 "definition.percent_off_bps",
                                                 "definition.cap_minor"}));
  d = FiveOff();
  d.set_kind(v1::REWARD_KIND_FREE_PRODUCT);
  d.set_amount_off_minor(0);
  EXPECT_EQ(Fields(d), std::vector<std::string>{"definition.sku"});
  d = FiveOff();
  d.add_tier_ids("gold");
  d.add_tier_ids("gold");
  d.set_stock_limit(-1);
  *d.mutable_active_from() = TimeUtil::MicrosecondsToTimestamp(kJan1);
  *d.mutable_active_until() = TimeUtil::MicrosecondsToTimestamp(kJan1);
  EXPECT_EQ(Fields(d), (std::vector<std::string>{"definition.tier_ids[1]",
                                                 "definition.stock_limit",
                                                 "definition.active_until"}));
}

TEST(RewardRedeemableTest, ActiveWindowIsHalfOpen) {
  auto d = FiveOff();
  *d.mutable_active_from() = TimeUtil::MicrosecondsToTimestamp(kJan1);
  *d.mutable_active_until() = TimeUtil::MicrosecondsToTimestamp(kJan1 + 1'000'000);
  EXPECT_EQ(CheckRedeemable(d, 0, {}, kJan1 - 1), RewardRefusal::kNotYetActive);
  EXPECT_EQ(CheckRedeemable(d, 0, {}, kJan1), RewardRefusal::kNone);
  EXPECT_EQ(CheckRedeemable(d, 0, {}, kJan1 + 999'999), RewardRefusal::kNone);
  EXPECT_EQ(CheckRedeemable(d, 0, {}, kJan1 + 1'000'000), RewardRefusal::kEnded);
  d.set_disabled(true);
  EXPECT_EQ(CheckRedeemable(d, 0, {}, kJan1), RewardRefusal::kDisabled);
  EXPECT_STREQ(RefusalReason(RewardRefusal::kEnded), "REWARD_ENDED");
}

TEST(RewardRedeemableTest, StockCountsEveryUnitRedeemed) {
  auto d = FiveOff();
  EXPECT_EQ(CheckRedeemable(d, 1'000'000, {}, kJan1), RewardRefusal::kNone);  // no limit
  d.set_stock_limit(5);
  EXPECT_EQ(CheckRedeemable(d, 4, {}, kJan1), RewardRefusal::kNone);
  EXPECT_EQ(CheckRedeemable(d, 5, {}, kJan1), RewardRefusal::kOutOfStock);
  EXPECT_STREQ(RefusalReason(RewardRefusal::kOutOfStock), "REWARD_OUT_OF_STOCK");
}

TEST(RewardRedeemableTest, TierListAndExclusiveBothHold) {
  auto d = FiveOff();
  d.add_tier_ids("silver");
  d.add_tier_ids("gold");
  EXPECT_EQ(CheckRedeemable(d, 0, {}, kJan1), RewardRefusal::kTierRequired);
  EXPECT_EQ(CheckRedeemable(d, 0, {"member", false}, kJan1), RewardRefusal::kTierRequired);
  EXPECT_EQ(CheckRedeemable(d, 0, {"silver", false}, kJan1), RewardRefusal::kNone);
  d.set_exclusive(true);
  EXPECT_EQ(CheckRedeemable(d, 0, {"silver", false}, kJan1), RewardRefusal::kTierRequired);
  EXPECT_EQ(CheckRedeemable(d, 0, {"gold", true}, kJan1), RewardRefusal::kNone);
  d.clear_tier_ids();
  EXPECT_EQ(CheckRedeemable(d, 0, {"platinum", true}, kJan1), RewardRefusal::kNone);
  EXPECT_EQ(CheckRedeemable(d, 0, {"", false}, kJan1), RewardRefusal::kTierRequired);
}

TEST(RewardTermsTest, CarriesKindAndAmountsToPricing) {
  auto d = FiveOff();
  EXPECT_TRUE(Affordable(d, 500));
  EXPECT_FALSE(Affordable(d, 499));
  auto t = TermsOf(d);
  EXPECT_EQ(t.kind, common::pricing::RewardKind::kAmountOff);
  EXPECT_EQ(t.amount_off_minor, 500);
  d.set_kind(v1::REWARD_KIND_FREE_PRODUCT);
  d.set_sku("sencha");
  t = TermsOf(d);
  EXPECT_EQ(t.kind, common::pricing::RewardKind::kFreeProduct);
  EXPECT_EQ(t.sku, "sencha");
}

}  // namespace
}  // namespace loyalty::points
