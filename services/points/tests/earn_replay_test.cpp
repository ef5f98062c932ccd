// The dry run's arithmetic (program/earn_replay.*): which version each order earns under, the
// totals, their cost and the most affected customers, on a small hand-computed case.
#include "program/earn_replay.hpp"

#include <gtest/gtest.h>

#include "earn_rules.hpp"

namespace loyalty::points {
namespace {

google::protobuf::Timestamp At(int64_t seconds) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  return t;
}

v1::RuleVersion Version(int32_t version, int64_t effective_from, int64_t base_rate) {
  v1::RuleVersion v;
  v.set_version(version);
  *v.mutable_effective_from() = At(effective_from);
  v.mutable_rules()->set_base_rate(base_rate);
  return v;
}

orders::v1::PlacedOrder Order(const std::string& customer, int64_t placed_at,
                              const std::string& category, int64_t net, bool earns = true) {
  orders::v1::PlacedOrder o;
  o.set_order_id(customer + "-" + std::to_string(placed_at));
  o.set_customer_id(customer);
  *o.mutable_placed_at() = At(placed_at);
  o.set_earns_points(earns);
  auto* line = o.add_lines();
  line->set_line_id("l1");
  line->set_sku("sku");
  line->set_category(category);
  line->set_quantity(1);
  line->set_net_minor(net);
  return o;
}

// USD, 1 point per unit for base rate 1, 100 points worth 1.00. Versions: none before t=1000;
// base 1 from 1000; from 2000 two versions tie and the higher one (base 3) is in force. The
// draft: base 5, gift cards excluded.
TEST(EarnReplay, ReplaysEachOrderUnderItsVersionAndTheDraft) {
  v1::EarnRules draft;
  draft.set_base_rate(5);
  draft.add_excluded_categories("gift");
  EarnReplay replay(DefaultSettings("USD", "UTC"),
                    {Version(3, 2000, 3), Version(1, 1000, 1), Version(2, 2000, 2)}, draft);
  replay.Add(Order("c0", 500, "tea", 1000));   // no version yet: 0; draft 50
  replay.Add(Order("c5", 600, "tea", 1000));   // 0; 50 (ties c0's difference)
  replay.Add(Order("c1", 1500, "tea", 1999));  // v1: 19; draft floor(99.95) = 99
  replay.Add(Order("c2", 2000, "tea", 1000));  // at the tie's time: v3, 30; 50
  replay.Add(Order("c2", 2500, "tea", 1000, /*earns=*/false));  // history: 0 and 0
  replay.Add(Order("c3", 3000, "gift", 1000));  // v3: 30; the draft excludes gift cards: 0
  replay.Add(Order("c4", 3000, "tea", 0));      // 0 and 0: not affected

  const auto report = replay.Report(3);
  EXPECT_EQ(report.orders(), 7);
  EXPECT_EQ(report.lines(), 7);
  EXPECT_EQ(report.customers(), 6);
  EXPECT_EQ(report.customers_affected(), 5);
  EXPECT_EQ(report.points_in_force(), 0 + 0 + 19 + 30 + 30);
  EXPECT_EQ(report.points_draft(), 50 + 50 + 99 + 50 + 0);
  EXPECT_EQ(report.currency_code(), "USD");
  EXPECT_EQ(report.cost_in_force_minor(), 79);  // a point is worth a cent
  EXPECT_EQ(report.cost_draft_minor(), 249);
  ASSERT_EQ(report.most_affected_size(), 3);
  EXPECT_EQ(report.most_affected(0).customer_id(), "c1");  // 80 more
  EXPECT_EQ(report.most_affected(0).points_in_force(), 19);
  EXPECT_EQ(report.most_affected(0).points_draft(), 99);
  EXPECT_EQ(report.most_affected(1).customer_id(), "c0");  // 50, and c0 < c5
  EXPECT_EQ(report.most_affected(2).customer_id(), "c5");
  EXPECT_EQ(replay.Report(0).most_affected_size(), 0);
  EXPECT_EQ(replay.Report(100).most_affected_size(), 5);
  EXPECT_EQ(replay.Report(100).most_affected(3).customer_id(), "c3");  // 30 fewer
  EXPECT_EQ(replay.Report(100).most_affected(3).orders(), 1);
}

TEST(EarnReplay, AnUnchangedDraftAffectsNobody) {
  const auto version = Version(1, 0, 2);
  EarnReplay replay(DefaultSettings("EUR", "UTC"), {version}, version.rules());
  for (int i = 0; i < 50; ++i) replay.Add(Order("c" + std::to_string(i % 7), 100 + i, "x", 777 * i));
  const auto report = replay.Report(10);
  EXPECT_EQ(report.points_in_force(), report.points_draft());
  EXPECT_GT(report.points_in_force(), 0);
  EXPECT_EQ(report.customers_affected(), 0);
  EXPECT_EQ(report.most_affected_size(), 0);
}

}  // namespace
}  // namespace loyalty::points
