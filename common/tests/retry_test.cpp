#include <gtest/gtest.h>

#include "loyalty/common/db.hpp"
#include "loyalty/common/events.hpp"

namespace loyalty::common {
namespace {

template <class E, class... Args>
bool Retryable(Args&&... args) {
  return RetryPolicy::IsRetryable(std::make_exception_ptr(E(std::forward<Args>(args)...)));
}

TEST(RetryPolicy, RetriesOnlySerializationFailuresAndDeadlocks) {
  EXPECT_TRUE(Retryable<pqxx::serialization_failure>("40001"));
  EXPECT_TRUE(Retryable<pqxx::deadlock_detected>("40P01"));
  // A commit whose outcome is unknown must not be blindly run again.
  EXPECT_FALSE(Retryable<pqxx::statement_completion_unknown>("unknown"));
  EXPECT_FALSE(Retryable<pqxx::in_doubt_error>("in doubt"));
  EXPECT_FALSE(Retryable<pqxx::unique_violation>("dup", "q", "23505"));
  EXPECT_FALSE(Retryable<pqxx::broken_connection>("gone"));
  EXPECT_FALSE(Retryable<std::runtime_error>("other"));
}

TEST(RetryPolicy, BackoffIsJitteredAndCapped) {
  RetryPolicy policy;
  policy.base_delay = std::chrono::milliseconds(10);
  policy.max_delay = std::chrono::milliseconds(100);
  std::mt19937_64 rng(42);
  for (int attempt = 1; attempt <= 10; ++attempt) {
    const long long ceiling = std::min(100LL, 10LL << (attempt - 1));
    long long seen_max = 0;
    long long seen_min = ceiling;
    for (int i = 0; i < 500; ++i) {
      const long long delay = policy.Backoff(attempt, rng).count();
      ASSERT_GE(delay, 0);
      ASSERT_LE(delay, ceiling);
      seen_max = std::max(seen_max, delay);
      seen_min = std::min(seen_min, delay);
    }
    // Jitter spreads the delays over the range rather than one fixed value.
    EXPECT_GT(seen_max - seen_min, ceiling / 2) << "attempt " << attempt;
  }
}

TEST(RelayBackoff, DoublesFrom100MsUpToTheCap) {
  const auto cap = std::chrono::milliseconds(30000);
  EXPECT_EQ(RelayBackoff(1, cap).count(), 100);
  EXPECT_EQ(RelayBackoff(2, cap).count(), 200);
  EXPECT_EQ(RelayBackoff(5, cap).count(), 1600);
  EXPECT_EQ(RelayBackoff(30, cap).count(), 30000);
}

}  // namespace
}  // namespace loyalty::common

namespace loyalty::common {
namespace {

TEST(StatementTimeoutMs, IsAPowerOfTwoBetweenHalfAndAllOfWhatIsLeft) {
  EXPECT_EQ(StatementTimeoutMs(1), 1);
  EXPECT_EQ(StatementTimeoutMs(5000), 4096);
  EXPECT_EQ(StatementTimeoutMs(4096), 4096);
  EXPECT_EQ(StatementTimeoutMs(4095), 2048);
  for (int64_t left = 1; left < 100000; left += 7) {
    const int64_t t = StatementTimeoutMs(left);
    ASSERT_LE(t, left);
    ASSERT_GT(t * 2, left);
    ASSERT_EQ(t & (t - 1), 0) << t;
  }
  // Deadlines a few milliseconds apart share the value: no statement to set it again.
  EXPECT_EQ(StatementTimeoutMs(4990), StatementTimeoutMs(4200));
  EXPECT_THROW(StatementTimeoutMs(0), ApiError);
}

}  // namespace
}  // namespace loyalty::common
