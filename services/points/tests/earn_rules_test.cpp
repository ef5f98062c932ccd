// Rule evaluation as tables of cases.
#include "earn_rules.hpp"

#include <gtest/gtest.h>

namespace loyalty::points {
namespace {

v1::Settings PerUnit() { return DefaultSettings("USD", "UTC"); }  // 100 minor per unit

v1::Settings Cashback() {
  auto s = DefaultSettings("USD", "UTC");
  s.set_earn_basis(v1::EARN_BASIS_CASHBACK);
  s.set_redeem_points(100);       // 100 points
  s.set_redeem_value_minor(100);  // = 1.00 USD: a point is worth a cent
  return s;
}

v1::EarnRules Rules(int64_t base_rate) {
  v1::EarnRules r;
  r.set_base_rate(base_rate);
  return r;
}

google::protobuf::Timestamp At(int64_t seconds) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  return t;
}

struct Case {
  const char* name;
  v1::Settings settings;
  v1::EarnRules rules;
  EarnLine line;
  int64_t order_net;
  int64_t expected;
};

TEST(LinePoints, Table) {
  auto multipliers = Rules(1);
  auto* m = multipliers.add_multipliers();
  m->set_category("tea");
  m->set_multiplier_bps(15000);  // ×1.5
  m = multipliers.add_multipliers();
  m->set_sku("gold-tea");
  m->set_multiplier_bps(30000);  // ×3 beats the category
  auto excluded = Rules(1);
  excluded.add_excluded_categories("gift-cards");
  excluded.add_excluded_skus("shipping-insurance");
  auto minimum = Rules(1);
  minimum.set_min_order_minor(5000);

  const std::vector<Case> cases = {
      {"1 point per unit, floor", PerUnit(), Rules(1), {"s", "c", 1999}, 1999, 19},
      {"exact units", PerUnit(), Rules(1), {"s", "c", 2000}, 2000, 20},
      {"5 points per unit", PerUnit(), Rules(5), {"s", "c", 1234}, 1234, 61},
      {"below one unit earns 0", PerUnit(), Rules(1), {"s", "c", 99}, 99, 0},
      {"10% cashback", Cashback(), Rules(1000), {"s", "c", 12345}, 12345, 1234},
      {"15% cashback", Cashback(), Rules(1500), {"s", "c", 10000}, 10000, 1500},
      {"15% cashback rounds down", Cashback(), Rules(1500), {"s", "c", 9999}, 9999, 1499},
      {"category multiplier", PerUnit(), multipliers, {"green-tea", "tea", 1000}, 1000, 15},
      {"sku multiplier wins", PerUnit(), multipliers, {"gold-tea", "tea", 1000}, 1000, 30},
      {"no multiplier", PerUnit(), multipliers, {"mug", "kitchen", 1000}, 1000, 10},
      {"excluded category", PerUnit(), excluded, {"card", "gift-cards", 5000}, 5000, 0},
      {"excluded sku", PerUnit(), excluded, {"shipping-insurance", "x", 5000}, 5000, 0},
      {"below minimum order", PerUnit(), minimum, {"s", "c", 4000}, 4999, 0},
      {"at minimum order", PerUnit(), minimum, {"s", "c", 4000}, 5000, 40},
      {"negative net earns 0", PerUnit(), Rules(1), {"s", "c", -500}, 0, 0},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(LinePoints(c.rules, c.settings, c.line, c.order_net, 0), c.expected) << c.name;
  }
}

TEST(LinePoints, CampaignsApplyOnlyInsideTheirWindowAndCategories) {
  auto rules = Rules(1);
  auto* weekend = rules.add_campaigns();
  weekend->set_name("double points weekend");
  *weekend->mutable_starts_at() = At(1000);
  *weekend->mutable_ends_at() = At(2000);
  weekend->set_multiplier_bps(20000);
  auto* tea = rules.add_campaigns();
  tea->set_name("tea week");
  *tea->mutable_starts_at() = At(1500);
  *tea->mutable_ends_at() = At(3000);
  tea->set_multiplier_bps(15000);
  tea->add_categories("tea");
  const EarnLine tea_line{"s", "tea", 1000};  // 10 base points
  const EarnLine mug{"m", "kitchen", 1000};
  const int64_t us = 1000000;
  EXPECT_EQ(LinePoints(rules, PerUnit(), tea_line, 1000, 999 * us), 10) << "before";
  EXPECT_EQ(LinePoints(rules, PerUnit(), tea_line, 1000, 1000 * us), 20) << "start is inclusive";
  EXPECT_EQ(LinePoints(rules, PerUnit(), tea_line, 1000, 1600 * us), 30) << "both: ×2 ×1.5";
  EXPECT_EQ(LinePoints(rules, PerUnit(), mug, 1000, 1600 * us), 20) << "tea week skips mugs";
  EXPECT_EQ(LinePoints(rules, PerUnit(), tea_line, 1000, 2000 * us), 15) << "end is exclusive";
  EXPECT_EQ(LinePoints(rules, PerUnit(), tea_line, 1000, 3000 * us), 10) << "after";
}

TEST(LinePoints, TierHookMultiplies) {
  EXPECT_EQ(LinePoints(Rules(1), PerUnit(), {"s", "c", 1000}, 1000, 0, 12500), 12);
}

TEST(LinePoints, HugeAmountsDoNotOverflow) {
  auto rules = Rules(1000000);
  auto* c = rules.add_campaigns();
  c->set_name("x100");
  *c->mutable_starts_at() = At(0);
  *c->mutable_ends_at() = At(10);
  c->set_multiplier_bps(1000000);
  EXPECT_EQ(LinePoints(rules, PerUnit(), {"s", "c", 1'000'000'000}, 1'000'000'000, 0),
            1'000'000'000LL * 1'000'000 / 100 * 100);
  // 1e15 minor x 1e6 points per unit x100: 1e13 units x 1e6 x 100 = 1e21 > int64, which used to
  // wrap (found by tests/fuzz/earn_rules_fuzz.cpp); the line earns the cap instead.
  constexpr int64_t kLargestLine = 1'000'000'000'000'000;
  EXPECT_EQ(LinePoints(rules, PerUnit(), {"s", "c", kLargestLine}, kLargestLine, 0),
            kMaxLinePoints);
}

// The fields CheckRules names, in order.
std::vector<std::string> BadFields(const v1::EarnRules& rules, const std::string& prefix) {
  common::Validator v;
  CheckRules(v, rules, prefix);
  std::vector<std::string> fields;
  try {
    v.ThrowIfInvalid();
  } catch (const common::ApiError& e) {
    for (const auto& f : e.fields()) fields.push_back(f.field);
  }
  return fields;
}

TEST(CheckRules, NamesBadFields) {
  v1::EarnRules r;
  r.set_base_rate(-1);
  r.add_multipliers()->set_multiplier_bps(5);  // neither sku nor category
  auto* c = r.add_campaigns();
  c->set_name("backwards");
  *c->mutable_starts_at() = At(10);
  *c->mutable_ends_at() = At(5);
  c->set_multiplier_bps(20000);
  EXPECT_EQ(BadFields(r, "rules."),
            (std::vector<std::string>{"rules.base_rate", "rules.multipliers[0].sku",
                                      "rules.campaigns[0].ends_at"}));
}

// Found by tests/fuzz/earn_rules_fuzz.cpp: a campaign starting some 33,000 years BC validated, and
// TimeUtil's microseconds overflow past ±292,000 years.
TEST(CheckRules, CampaignTimesMustBeOfYears1To9999) {
  v1::EarnRules r;
  auto* c = r.add_campaigns();
  c->set_name("ancient");
  c->mutable_starts_at()->set_seconds(-1099511714176);
  *c->mutable_ends_at() = At(5);
  c->set_multiplier_bps(20000);
  auto* missing = r.add_campaigns();
  missing->set_name("no end");
  *missing->mutable_starts_at() = At(5);
  EXPECT_EQ(BadFields(r, ""),
            (std::vector<std::string>{"campaigns[0].starts_at", "campaigns[1].ends_at"}));
}

}  // namespace
}  // namespace loyalty::points
