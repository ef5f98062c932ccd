#include <gtest/gtest.h>

#include "loyalty/common/db.hpp"
#include "loyalty/common/errors.hpp"
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

TEST(NotifiedPartition, IsTheAggregatesHashModuloTheWorkersOrNoneForAnythingElse) {
  EXPECT_EQ(NotifiedPartition("7", 4), 3);
  EXPECT_EQ(NotifiedPartition("2147483647", 4), 3);
  EXPECT_EQ(NotifiedPartition("8", 4), 0);
  EXPECT_EQ(NotifiedPartition("8", 1), 0);
  // An empty NOTIFY (a catch-up, an operator's retry) or anything unexpected wakes everyone.
  EXPECT_EQ(NotifiedPartition("", 4), std::nullopt);
  EXPECT_EQ(NotifiedPartition("-3", 4), std::nullopt);
  EXPECT_EQ(NotifiedPartition("12x", 4), std::nullopt);
  EXPECT_EQ(NotifiedPartition("99999999999999999999999", 4), std::nullopt);
  EXPECT_EQ(NotifiedPartition("5", 0), std::nullopt);
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

template <class E, class... Args>
EventRetry OfEvent(Args&&... args) {
  return RetryOfEvent(std::make_exception_ptr(E(std::forward<Args>(args)...)));
}

EventRetry OfApi(grpc::StatusCode code) {
  return RetryOfEvent(std::make_exception_ptr(ApiError(code, "R", "m")));
}

TEST(RetryOfEvent, WhatCanNeverPassIsDeadLetteredAtOnce) {
  EXPECT_EQ(OfEvent<InvalidEvent>("bad payload"), EventRetry::kNever);
  for (auto code : {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::FAILED_PRECONDITION,
                    grpc::StatusCode::NOT_FOUND, grpc::StatusCode::ALREADY_EXISTS,
                    grpc::StatusCode::OUT_OF_RANGE}) {
    EXPECT_EQ(OfApi(code), EventRetry::kNever) << code;
  }
  // Constraints (class 23) and bad data (class 22), typed by libpqxx or not.
  EXPECT_EQ(OfEvent<pqxx::check_violation>("c", "q", "23514"), EventRetry::kNever);
  EXPECT_EQ(OfEvent<pqxx::foreign_key_violation>("f", "q", "23503"), EventRetry::kNever);
  EXPECT_EQ(OfEvent<pqxx::not_null_violation>("n", "q", "23502"), EventRetry::kNever);
  EXPECT_EQ(OfEvent<pqxx::restrict_violation>("r", "q", "23001"), EventRetry::kNever);
  EXPECT_EQ(OfEvent<pqxx::data_exception>("d", "q", "22003"), EventRetry::kNever);
  EXPECT_EQ(OfEvent<pqxx::sql_error>("d", "q", "22P02"), EventRetry::kNever);
}

TEST(RetryOfEvent, AUniqueViolationIsTriedOnceMoreAtOnce) {
  // A lost check-then-insert race passes at once; a real duplicate fails again (then kNever).
  EXPECT_EQ(OfEvent<pqxx::unique_violation>("u", "q", "23505"), EventRetry::kAtOnce);
  EXPECT_EQ(OfEvent<pqxx::sql_error>("u", "q", "23505"), EventRetry::kAtOnce);
}

TEST(RetryOfEvent, WhatMayPassLaterIsRetriedLater) {
  EXPECT_EQ(OfEvent<pqxx::serialization_failure>("40001"), EventRetry::kLater);
  EXPECT_EQ(OfEvent<pqxx::deadlock_detected>("40P01"), EventRetry::kLater);
  EXPECT_EQ(OfEvent<pqxx::broken_connection>("gone"), EventRetry::kLater);
  EXPECT_EQ(OfEvent<pqxx::in_doubt_error>("in doubt"), EventRetry::kLater);
  EXPECT_EQ(OfEvent<pqxx::sql_error>("timeout", "q", "57014"), EventRetry::kLater);
  EXPECT_EQ(OfEvent<pqxx::sql_error>("shutdown", "q", "57P01"), EventRetry::kLater);
  EXPECT_EQ(OfEvent<pqxx::sql_error>("no state"), EventRetry::kLater);
  for (auto code : {grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::DEADLINE_EXCEEDED,
                    grpc::StatusCode::ABORTED, grpc::StatusCode::RESOURCE_EXHAUSTED,
                    grpc::StatusCode::INTERNAL, grpc::StatusCode::UNAUTHENTICATED,
                    grpc::StatusCode::PERMISSION_DENIED, grpc::StatusCode::UNIMPLEMENTED}) {
    EXPECT_EQ(OfApi(code), EventRetry::kLater) << code;
  }
  EXPECT_EQ(OfEvent<std::runtime_error>("unknown"), EventRetry::kLater);
}

}  // namespace
}  // namespace loyalty::common
