// A fixed set of threads with a bounded queue. RPC handlers run here, never on gRPC's own
// threads, because they block on the database (see docs/architecture.md, "Threading").
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

namespace loyalty::common {

class WorkerPool {
 public:
  WorkerPool(int threads, int max_queued);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues a task; false (and nothing queued) when the queue is full or the pool stopped.
  bool TrySubmit(std::function<void()> task);
  // Runs what is queued, then joins the threads. Idempotent; from several threads at once, each
  // call returns once that is done. Not from one of the pool's own tasks.
  void Stop();
  int queued() const;

 private:
  void Loop();

  const size_t max_queued_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::mutex stop_mutex_;  // held by Stop() while it joins; guards threads_ after construction
  std::vector<std::thread> threads_;
};

// Sleeps for `duration` or until stop is requested; true when the full time passed.
inline bool SleepUnlessStopped(std::stop_token stop, std::chrono::milliseconds duration) {
  std::mutex mutex;
  std::unique_lock lock(mutex);
  std::condition_variable_any().wait_for(lock, stop, duration, [] { return false; });
  return !stop.stop_requested();
}

}  // namespace loyalty::common
