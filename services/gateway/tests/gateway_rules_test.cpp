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
  for (auto r : {Role::kViewer, Role::kEditor, Role::kOwner, Role::kOperator}) {
    EXPECT_EQ(RoleFromString(RoleToString(r)), r);
  }
  EXPECT_EQ(RoleFromString("admin"), Role::kNone);
}

TEST(Roles, NoKeyGrantsARoleAboveItsOwn) {
  EXPECT_TRUE(MayGrant(Role::kOwner, Role::kOwner));
  EXPECT_TRUE(MayGrant(Role::kOwner, Role::kViewer));
  EXPECT_TRUE(MayGrant(Role::kOwner, Role::kNone)) << "storefront keys have no role";
  EXPECT_FALSE(MayGrant(Role::kOwner, Role::kOperator)) << "only the operator makes operators";
  EXPECT_TRUE(MayGrant(Role::kOperator, Role::kOperator));
  EXPECT_FALSE(MayGrant(Role::kEditor, Role::kOwner));
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

}  // namespace
}  // namespace loyalty::gateway
