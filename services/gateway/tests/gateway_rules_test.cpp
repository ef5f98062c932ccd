#include "gateway_rules.hpp"

#include <gtest/gtest.h>

namespace loyalty::gateway {
namespace {

TEST(Keys, NewKeyParsesBackAndHashesStably) {
  const auto key = NewKey();
  const auto parsed = ParseBearer("Bearer " + key.key);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->key_id, key.key_id);
  EXPECT_EQ(parsed->key, key.key);
  EXPECT_EQ(Sha256Hex(key.key), Sha256Hex(key.key));
  EXPECT_EQ(Sha256Hex(key.key).size(), 64u);
  EXPECT_NE(NewKey().key, key.key);
}

TEST(Keys, MalformedHeadersAreRefused) {
  EXPECT_FALSE(ParseBearer(""));
  EXPECT_FALSE(ParseBearer("Bearer "));
  EXPECT_FALSE(ParseBearer("Basic abc"));
  EXPECT_FALSE(ParseBearer("Bearer lk_short_key"));
  auto key = NewKey().key;
  key[25] = 'Z';
  EXPECT_FALSE(ParseBearer("Bearer " + key));
}

TEST(Roles, RoundTrip) {
  for (auto r : {Role::kViewer, Role::kEditor, Role::kOwner}) {
    EXPECT_EQ(RoleFromString(RoleToString(r)), r);
  }
  EXPECT_EQ(RoleFromString("admin"), Role::kNone);
}

TEST(RateLimiter, AllowsTheRateThenRefillsOverTime) {
  RateLimiter limiter;
  const auto t0 = RateLimiter::Clock::now();
  int allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += limiter.Allow("k", 5, t0) ? 1 : 0;
  EXPECT_EQ(allowed, 5);
  EXPECT_FALSE(limiter.Allow("k", 5, t0 + std::chrono::milliseconds(100)));
  EXPECT_TRUE(limiter.Allow("k", 5, t0 + std::chrono::milliseconds(300)));
  EXPECT_TRUE(limiter.Allow("other", 5, t0));
}

TEST(ExpiringCache, KeepsAValueForItsTtlFromBeforeTheRead) {
  ExpiringCache<int> cache(std::chrono::milliseconds(1000));
  const auto t0 = ExpiringCache<int>::Clock::now();
  EXPECT_FALSE(cache.Find("k", t0));
  cache.Put("k", 7, t0);
  EXPECT_EQ(cache.Find("k", t0 + std::chrono::milliseconds(999)), 7);
  EXPECT_FALSE(cache.Find("k", t0 + std::chrono::milliseconds(1000))) << "never older than ttl";
  cache.Put("k", 8, t0 + std::chrono::milliseconds(1000));
  EXPECT_EQ(cache.Find("k", t0 + std::chrono::milliseconds(1500)), 8);
  cache.Erase("k");
  EXPECT_FALSE(cache.Find("k", t0 + std::chrono::milliseconds(1500)));

  ExpiringCache<int> off(std::chrono::milliseconds(0));
  off.Put("k", 1, t0);
  EXPECT_FALSE(off.Find("k", t0)) << "a ttl of 0 keeps nothing";
}

TEST(Allocate, SumsExactlyAndFollowsWeights) {
  const auto parts = Allocate(100, {1000, 2000, 1});
  EXPECT_EQ(parts[0] + parts[1] + parts[2], 100);
  EXPECT_EQ(parts[1], 67);
  EXPECT_EQ(Allocate(0, {1, 2}), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(Allocate(5, {0, 0}), (std::vector<int64_t>{0, 0}));
}

TEST(Quote, PointsCappedByMerchandiseAndFreeShippingGap) {
  QuoteInput in;
  in.lines = {{"l1", 2000, 2}, {"l2", 1500, 1}};  // 5,500
  in.discounts_minor = 500;                          // 5,000
  in.shipping_fee_minor = 499;
  in.points_to_redeem = 1000;  // worth 1,000 at 1 point = 1 minor
  in.points_available = 100000;
  in.redeem_points = 100;
  in.redeem_value_minor = 100;
  in.free_shipping_threshold_minor = 5000;
  const auto q = Quote(in);
  EXPECT_EQ(q.subtotal_minor, 5500);
  EXPECT_EQ(q.discount_minor, 500);
  EXPECT_EQ(q.max_points, 5000);
  EXPECT_EQ(q.points_used, 1000);
  EXPECT_EQ(q.points_amount_minor, 1000);
  EXPECT_EQ(q.merchandise_minor, 4000);
  EXPECT_EQ(q.shipping_minor, 499);  // not free after points
  EXPECT_EQ(q.total_minor, 4499);
  EXPECT_EQ(q.free_shipping_gap_minor, 1000);
  int64_t net = 0;
  for (auto n : q.line_net_minor) net += n;
  EXPECT_EQ(net, 4000);
}

TEST(Quote, FreeShippingAtThresholdAndNoGapWithoutThreshold) {
  QuoteInput in;
  in.lines = {{"l1", 5000, 1}};
  in.shipping_fee_minor = 499;
  in.free_shipping_threshold_minor = 5000;
  auto q = Quote(in);
  EXPECT_EQ(q.shipping_minor, 0);
  EXPECT_EQ(q.free_shipping_gap_minor, 0);
  in.free_shipping_threshold_minor = 0;
  q = Quote(in);
  EXPECT_EQ(q.shipping_minor, 499);
  EXPECT_EQ(q.free_shipping_gap_minor, 0);
  EXPECT_EQ(q.max_points, 0);  // no redemption rate
}

}  // namespace
}  // namespace loyalty::gateway
