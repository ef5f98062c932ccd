// ExpiringCache from several threads at once (the gateway's and checkout's RPC workers read and
// fill it while the program listener drops entries): a value read is always one value written
// whole, never an expired one, and a dropped entry stays dropped. Times are passed explicitly, so
// expiry does not depend on how fast the threads run. In the ThreadSanitizer build a missing lock
// shows as a data race too (docs/testing.md).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "loyalty/common/expiring_cache.hpp"

namespace loyalty::common {
namespace {

using namespace std::chrono_literals;

// A value whose parts must agree: a torn copy (half of one write, half of another) or a value
// stored under the wrong key shows as a mismatch.
struct Stamp {
  std::string key;
  int64_t at_ms = 0;  // when it was read from "the database": `since` of its Put
  std::string payload;
};

std::string PayloadFor(const std::string& key, int64_t at_ms) {
  return std::string(64 + static_cast<size_t>(at_ms % 97), static_cast<char>('a' + at_ms % 26)) + key;
}

bool Whole(const Stamp& s, const std::string& key) {
  return s.key == key && s.payload == PayloadFor(key, s.at_ms);
}

using Cache = ExpiringCache<Stamp>;

TEST(ExpiringCacheConcurrency, ReadersSeeWholeFreshValuesWhileWritersAndDroppersRun) {
  constexpr auto kTtl = 50ms;
  constexpr int kKeys = 8;
  constexpr int kWriters = 3;
  constexpr int kReaders = 3;
  constexpr int kRounds = 1500;
  Cache cache(kTtl);
  const auto t0 = Cache::Clock::now();
  auto key = [](int k) { return "store-" + std::to_string(k); };

  std::atomic<int> hits{0}, misses{0}, torn{0}, stale{0};
  std::latch go(kWriters + kReaders + 1);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      go.arrive_and_wait();
      for (int i = 0; i < kRounds; ++i) {
        const std::string k = key((i + w) % kKeys);
        const int64_t at = i;  // a simulated clock, one millisecond per round
        cache.Put(k, Stamp{k, at, PayloadFor(k, at)}, t0 + std::chrono::milliseconds(at));
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      go.arrive_and_wait();
      for (int i = 0; i < kRounds; ++i) {
        const std::string k = key((i * 3 + r) % kKeys);
        const int64_t now = i;
        const auto found = cache.Find(k, t0 + std::chrono::milliseconds(now));
        if (!found) {
          misses.fetch_add(1);
          continue;
        }
        hits.fetch_add(1);
        if (!Whole(*found, k)) torn.fetch_add(1);
        // Fresh for kTtl from its `since`: a value read at `now` was put at most kTtl before.
        if (found->at_ms + kTtl.count() <= now) stale.fetch_add(1);
      }
    });
  }
  // The program listener: drops one store on a NOTIFY, everything on a reconnect.
  threads.emplace_back([&] {
    go.arrive_and_wait();
    for (int i = 0; i < kRounds / 2; ++i) {
      if (i % 50 == 49) {
        cache.Clear();
      } else {
        cache.Erase(key(i % kKeys));
      }
      if (i % 4 == 0) std::this_thread::yield();
    }
  });
  for (auto& t : threads) t.join();

  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(stale.load(), 0) << "a value older than its ttl was returned";
  EXPECT_GT(hits.load() + misses.load(), 0);
  RecordProperty("hits", hits.load());

  // After the threads: the last value of each key is whole and expires exactly at since + ttl.
  const auto late = t0 + std::chrono::milliseconds(kRounds);
  cache.Put("k", Stamp{"k", kRounds, PayloadFor("k", kRounds)}, late);
  ASSERT_TRUE(cache.Find("k", late + kTtl - 1ms));
  EXPECT_TRUE(Whole(*cache.Find("k", late + kTtl - 1ms), "k"));
  EXPECT_FALSE(cache.Find("k", late + kTtl)) << "never older than ttl";
}

// What one thread dropped stays dropped for it, whatever the others do with their own keys and
// however often someone drops everything: a thread sees its own last value or nothing, never
// another thread's, and nothing after it erased its key.
TEST(ExpiringCacheConcurrency, ADroppedEntryStaysDroppedWhileOthersPutAndClear) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 1500;
  Cache cache(1h);
  const auto t0 = Cache::Clock::now();
  std::atomic<int> wrong{0}, resurrected{0}, seen_own{0};
  std::latch go(kThreads + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string mine = "thread-" + std::to_string(t);
      go.arrive_and_wait();
      for (int i = 0; i < kRounds; ++i) {
        cache.Put(mine, Stamp{mine, i, PayloadFor(mine, i)}, t0);
        if (const auto got = cache.Find(mine, t0)) {
          if (!Whole(*got, mine) || got->at_ms != i) wrong.fetch_add(1);
          seen_own.fetch_add(1);
        }
        cache.Put("shared", Stamp{"shared", i, PayloadFor("shared", i)}, t0);
        if (i % 3 == 0) {
          cache.Erase(mine);
          if (cache.Find(mine, t0)) resurrected.fetch_add(1);
        }
      }
    });
  }
  threads.emplace_back([&] {
    go.arrive_and_wait();
    for (int i = 0; i < kRounds / 10; ++i) {
      cache.Clear();
      std::this_thread::yield();
    }
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0) << "a thread read a value it did not write last";
  EXPECT_EQ(resurrected.load(), 0) << "an erased entry came back";
  EXPECT_GT(seen_own.load(), 0);

  cache.Clear();
  for (int t = 0; t < kThreads; ++t) EXPECT_FALSE(cache.Find("thread-" + std::to_string(t), t0));
  EXPECT_FALSE(cache.Find("shared", t0));
}

TEST(ExpiringCacheConcurrency, AZeroTtlKeepsNothingUnderConcurrentPuts) {
  Cache cache(0ms);
  const auto t0 = Cache::Clock::now();
  std::atomic<int> found{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string k = "k" + std::to_string(t % 2);
      for (int i = 0; i < 500; ++i) {
        cache.Put(k, Stamp{k, i, PayloadFor(k, i)}, t0);
        if (cache.Find(k, t0 - 1h)) found.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(found.load(), 0);
}

}  // namespace
}  // namespace loyalty::common
