// DiffMessages (proto_diff.hpp): what changed between two versions, field by field.
#include "loyalty/common/proto_diff.hpp"

#include <gtest/gtest.h>

#include "loyalty/points/v1/points_service.pb.h"

namespace loyalty::common {
namespace {

using points::v1::EarnRules;
using points::v1::Settings;

std::vector<std::string> Lines(const std::vector<FieldChange>& changes) {
  std::vector<std::string> lines;
  for (const auto& c : changes) lines.push_back(c.path + ": " + c.before + " -> " + c.after);
  return lines;
}

TEST(ProtoDiff, EqualMessagesHaveNoChanges) {
  EarnRules rules;
  rules.set_base_rate(2);
  rules.add_excluded_skus("gift-card");
  EXPECT_TRUE(DiffMessages(rules, rules).empty());
  EXPECT_TRUE(DiffMessages(EarnRules(), EarnRules()).empty());
}

TEST(ProtoDiff, ScalarsListsAndNestedMessagesAreNamedByPath) {
  EarnRules before;
  before.set_base_rate(1);
  auto* mugs = before.add_multipliers();
  mugs->set_category("mugs");
  mugs->set_multiplier_bps(15000);
  before.add_excluded_skus("gift-card");
  before.add_excluded_skus("voucher");

  EarnRules after = before;
  after.set_base_rate(2);
  after.mutable_multipliers(0)->set_multiplier_bps(20000);
  auto* tea = after.add_multipliers();
  tea->set_category("tea");
  tea->set_multiplier_bps(12000);
  after.mutable_excluded_skus()->RemoveLast();
  auto* weekend = after.add_campaigns();
  weekend->set_name("weekend");
  weekend->mutable_starts_at()->set_seconds(1'796'083'200);  // 2026-12-01T00:00:00Z
  weekend->set_multiplier_bps(20000);

  EXPECT_EQ(Lines(DiffMessages(before, after)),
            (std::vector<std::string>{
                "base_rate: 1 -> 2",
                "multipliers[0].multiplier_bps: 15000 -> 20000",
                "multipliers[1]:  -> {\"category\":\"tea\",\"multiplier_bps\":12000}",
                "campaigns[0]:  -> {\"name\":\"weekend\",\"starts_at\":\"2026-12-01T00:00:00Z\","
                "\"multiplier_bps\":20000}",
                "excluded_skus[1]: \"voucher\" -> ",
            }));
}

TEST(ProtoDiff, AnUnsetMessageIsAbsentAndATimestampIsOneValue) {
  Settings before;
  before.set_currency_code("EUR");
  Settings after = before;
  after.mutable_cart_recovery()->set_after_hours(24);
  after.mutable_created_at()->set_seconds(1'796'083'200);
  after.set_clawback_policy(points::v1::CLAWBACK_POLICY_DEBT);
  EXPECT_EQ(Lines(DiffMessages(before, after)),
            (std::vector<std::string>{
                "clawback_policy: \"CLAWBACK_POLICY_UNSPECIFIED\" -> \"CLAWBACK_POLICY_DEBT\"",
                "created_at:  -> \"2026-12-01T00:00:00Z\"",
                "cart_recovery:  -> {\"after_hours\":24}",
            }));
  // Both set: compared inside.
  Settings later = after;
  later.mutable_cart_recovery()->set_after_hours(48);
  EXPECT_EQ(Lines(DiffMessages(after, later)),
            (std::vector<std::string>{"cart_recovery.after_hours: 24 -> 48"}));
}

TEST(ProtoDiff, MessagesOfDifferentTypesHaveNothingToCompare) {
  EXPECT_TRUE(DiffMessages(EarnRules(), Settings()).empty());
}

}  // namespace
}  // namespace loyalty::common
