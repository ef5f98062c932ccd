// WorkerPool from several threads at once: what it accepts runs exactly once, the queue limit
// holds under contention, and Stop() runs everything queued before it returns. The tasks write
// plain (non-atomic) slots, so a task run twice or a missing happens-before between a task and
// Stop()'s return is both a failed expectation and, in the ThreadSanitizer build, a data race
// (docs/testing.md).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <thread>
#include <vector>

#include "loyalty/common/worker_pool.hpp"

namespace loyalty::common {
namespace {

using namespace std::chrono_literals;

// Keeps the pool's threads busy until Open(): lets a test fill the queue deterministically.
class Gate {
 public:
  // Submits one blocking task per worker thread and waits until all of them run.
  void Occupy(WorkerPool& pool, int threads) {
    std::latch started(threads);
    for (int i = 0; i < threads; ++i) {
      ASSERT_TRUE(pool.TrySubmit([this, &started] {
        started.count_down();
        opened_.wait();
      }));
    }
    started.wait();
  }
  void Open() { open_.set_value(); }

 private:
  std::promise<void> open_;
  std::shared_future<void> opened_ = open_.get_future().share();
};

// Polls `done` for up to ten seconds.
template <class Fn>
bool WaitUntil(Fn&& done) {
  for (int i = 0; i < 10000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return done();
}

TEST(WorkerPool, EveryAcceptedTaskRunsExactlyOnceWhileManyThreadsSubmit) {
  constexpr int kSubmitters = 8;
  constexpr int kPerSubmitter = 500;
  std::vector<int> runs(kSubmitters * kPerSubmitter, 0);      // written by the tasks only
  std::vector<char> accepted(kSubmitters * kPerSubmitter, 0);  // by the submitters only
  {
    // A small queue, so that some submissions are refused while the workers drain it.
    WorkerPool pool(4, 16);
    std::latch go(kSubmitters);
    std::vector<std::thread> submitters;
    for (int s = 0; s < kSubmitters; ++s) {
      submitters.emplace_back([&, s] {
        go.arrive_and_wait();
        for (int i = 0; i < kPerSubmitter; ++i) {
          const int id = s * kPerSubmitter + i;
          accepted[id] = pool.TrySubmit([&runs, id] { ++runs[id]; }) ? 1 : 0;
          if (i % 8 == 0) std::this_thread::yield();
        }
      });
    }
    for (auto& t : submitters) t.join();
    pool.Stop();
  }
  int accepted_count = 0;
  for (size_t id = 0; id < runs.size(); ++id) {
    ASSERT_EQ(runs[id], accepted[id]) << "task " << id << (accepted[id] ? " accepted" : " refused");
    accepted_count += accepted[id];
  }
  EXPECT_GT(accepted_count, 0);
  RecordProperty("accepted", accepted_count);
}

TEST(WorkerPool, RefusesBeyondTheQueueLimitEvenUnderContention) {
  constexpr int kThreads = 3;
  constexpr int kLimit = 40;
  constexpr int kSubmitters = 6;
  constexpr int kPerSubmitter = 30;  // 180 attempts for 40 places
  std::atomic<int> ran{0};
  std::atomic<int> accepted{0};
  WorkerPool pool(kThreads, kLimit);
  Gate gate;
  gate.Occupy(pool, kThreads);  // nothing is taken off the queue until the gate opens
  ASSERT_EQ(pool.queued(), 0);

  std::latch go(kSubmitters);
  std::vector<std::thread> submitters;
  for (int s = 0; s < kSubmitters; ++s) {
    submitters.emplace_back([&] {
      go.arrive_and_wait();
      for (int i = 0; i < kPerSubmitter; ++i) {
        if (pool.TrySubmit([&ran] { ran.fetch_add(1); })) accepted.fetch_add(1);
      }
    });
  }
  for (auto& t : submitters) t.join();
  EXPECT_EQ(accepted.load(), kLimit) << "exactly the limit, however the submitters interleave";
  EXPECT_EQ(pool.queued(), kLimit);
  EXPECT_FALSE(pool.TrySubmit([] {})) << "still full";

  gate.Open();
  ASSERT_TRUE(WaitUntil([&] { return pool.queued() == 0; }));
  EXPECT_TRUE(pool.TrySubmit([&ran] { ran.fetch_add(1); })) << "room again once drained";
  pool.Stop();
  EXPECT_EQ(ran.load(), kLimit + 1);
}

// Stop() promises (worker_pool.hpp): "Runs what is queued, then joins the threads", and a pool
// that is stopping accepts nothing. So Stop() cannot return while tasks are still queued or
// running, and every task queued before it ran once when it returns.
TEST(WorkerPool, StopRunsEverythingQueuedBeforeItReturnsAndRefusesNewTasks) {
  constexpr int kThreads = 2;
  constexpr int kQueued = 50;
  std::vector<int> runs(kQueued, 0);
  std::atomic<int> late_ran{0};
  WorkerPool pool(kThreads, 1000);
  Gate gate;
  gate.Occupy(pool, kThreads);
  for (int id = 0; id < kQueued; ++id) ASSERT_TRUE(pool.TrySubmit([&runs, id] { ++runs[id]; }));
  ASSERT_EQ(pool.queued(), kQueued);

  std::atomic<bool> stop_returned{false};
  std::thread stopper([&] {
    pool.Stop();
    stop_returned = true;
  });
  // Until the stopper has begun, a submission may still be accepted; it must run too.
  int late_accepted = 0;
  ASSERT_TRUE(WaitUntil([&] {
    if (!pool.TrySubmit([&late_ran] { late_ran.fetch_add(1); })) return true;
    ++late_accepted;
    return false;
  }));
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(stop_returned.load()) << "returned while its workers were still busy";
  EXPECT_EQ(pool.queued(), kQueued + late_accepted) << "stopping drops nothing queued";

  gate.Open();
  stopper.join();
  EXPECT_TRUE(stop_returned.load());
  EXPECT_EQ(pool.queued(), 0);
  for (int id = 0; id < kQueued; ++id) EXPECT_EQ(runs[id], 1) << "task " << id;
  EXPECT_EQ(late_ran.load(), late_accepted);
  EXPECT_FALSE(pool.TrySubmit([] {})) << "a stopped pool accepts nothing";
  pool.Stop();  // idempotent
}

// Stop() from several threads at once (a shutdown path racing the destructor's): each call
// returns only after the queued tasks ran and the threads were joined.
TEST(WorkerPool, StopFromSeveralThreadsAtOnceWaitsInEachOfThem) {
  constexpr int kThreads = 3;
  constexpr int kQueued = 30;
  constexpr int kStoppers = 4;
  std::vector<int> runs(kQueued, 0);
  WorkerPool pool(kThreads, 1000);
  Gate gate;
  gate.Occupy(pool, kThreads);
  for (int id = 0; id < kQueued; ++id) ASSERT_TRUE(pool.TrySubmit([&runs, id] { ++runs[id]; }));

  std::latch go(kStoppers + 1);
  std::vector<std::thread> stoppers;
  std::vector<int> seen(kStoppers * kQueued, -1);  // what each stopper saw once Stop() returned
  for (int s = 0; s < kStoppers; ++s) {
    stoppers.emplace_back([&, s] {
      go.arrive_and_wait();
      pool.Stop();
      for (int id = 0; id < kQueued; ++id) seen[s * kQueued + id] = runs[id];
    });
  }
  go.arrive_and_wait();
  std::this_thread::sleep_for(20ms);
  gate.Open();
  for (auto& t : stoppers) t.join();
  for (int i = 0; i < kStoppers * kQueued; ++i) {
    EXPECT_EQ(seen[i], 1) << "stopper " << i / kQueued << ", task " << i % kQueued;
  }
}

TEST(SleepUnlessStopped, ReturnsEarlyWhenStopIsRequested) {
  std::atomic<bool> slept_fully{true};
  const auto start = std::chrono::steady_clock::now();
  {
    std::jthread sleeper([&](std::stop_token stop) {
      slept_fully = SleepUnlessStopped(stop, std::chrono::milliseconds(30000));
    });
    std::this_thread::sleep_for(20ms);
  }  // request_stop() and join
  EXPECT_FALSE(slept_fully.load());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);

  std::stop_source never;
  EXPECT_TRUE(SleepUnlessStopped(never.get_token(), std::chrono::milliseconds(5)));
}

}  // namespace
}  // namespace loyalty::common
