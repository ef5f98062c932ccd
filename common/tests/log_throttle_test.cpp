// The rate limiter of repeated log lines (log::Throttle): which occurrences are written and what
// the summaries of the others say. The caller passes the time; nothing is written here.
#include <gtest/gtest.h>

#include "loyalty/common/log.hpp"

namespace loyalty::common::log {
namespace {

using namespace std::chrono_literals;
using Clock = Throttle::Clock;

class ThrottleTest : public ::testing::Test {
 protected:
  std::optional<int64_t> Admit(const std::string& key, Clock::duration at,
                               const std::string& error = "refused") {
    return throttle_.Admit(key, Level::kWarn, "database check failed", {"Check", "c-1", ""},
                           {{"error", error}}, 10s, start_ + at);
  }
  Throttle throttle_;
  const Clock::time_point start_ = Clock::now();
};

TEST_F(ThrottleTest, WritesTheFirstAndCountsTheRestOfAnInterval) {
  EXPECT_EQ(Admit("db", 0s), 0) << "the first occurrence is written, nothing left out before it";
  for (int i = 1; i <= 5; ++i) EXPECT_FALSE(Admit("db", std::chrono::seconds(i)).has_value());
  EXPECT_TRUE(throttle_.Due(start_ + 9s).empty()) << "its interval has not passed yet";

  // A 5 s outage: after the interval, one summary of the five left out, with the last one's
  // fields and context.
  const auto due = throttle_.Due(start_ + 10s);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].suppressed, 5);
  EXPECT_EQ(due[0].message, "database check failed");
  EXPECT_EQ(due[0].level, Level::kWarn);
  EXPECT_EQ(due[0].context.method, "Check");
  EXPECT_EQ(due[0].extra["error"], "refused");
  EXPECT_EQ(due[0].since_last, 5s);
  EXPECT_TRUE(throttle_.Due(start_ + 30s).empty()) << "summarised once";
}

TEST_F(ThrottleTest, AFailureThatGoesOnWritesOneLinePerInterval) {
  int lines = 0;
  int64_t accounted = 0;  // occurrences written or counted in a line
  auto flush = [&](Clock::duration at) {
    for (const auto& summary : throttle_.Due(start_ + at)) {
      ++lines;
      accounted += summary.suppressed;
    }
  };
  for (int s = 0; s < 60; ++s) {  // one failure a second for a minute, flushed every second
    const auto at = std::chrono::seconds(s);
    if (const auto left_out = Admit("db", at)) {
      ++lines;
      accounted += 1 + *left_out;
    }
    flush(at);
  }
  flush(70s);  // after it stopped
  EXPECT_EQ(lines, 7) << "at 0, 10, 20, 30, 40, 50 s, and the rest once it stopped";
  EXPECT_EQ(accounted, 60) << "every occurrence is written or counted, once";
}

TEST_F(ThrottleTest, WithoutSummariesTheNextLineCarriesTheCount) {
  Admit("db", 0s);
  Admit("db", 1s);
  Admit("db", 2s);
  EXPECT_EQ(Admit("db", 12s), 2);
  EXPECT_EQ(Admit("db", 23s), 0);
}

TEST_F(ThrottleTest, KeysAreCountedApart) {
  EXPECT_EQ(Admit("relay points", 0s), 0);
  EXPECT_EQ(Admit("relay recommendations", 1s), 0) << "another failure is news";
  EXPECT_FALSE(Admit("relay points", 2s).has_value());
  const auto due = throttle_.Due(start_ + 10s);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].suppressed, 1);
}

}  // namespace
}  // namespace loyalty::common::log
