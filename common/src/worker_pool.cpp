#include "loyalty/common/worker_pool.hpp"

namespace loyalty::common {

WorkerPool::WorkerPool(int threads, int max_queued) : max_queued_(static_cast<size_t>(max_queued)) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

WorkerPool::~WorkerPool() { Stop(); }

bool WorkerPool::TrySubmit(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(task));
  }
  ready_.notify_one();
  return true;
}

void WorkerPool::Stop() {
  // A second caller waits here for the first to finish joining: two callers joining the same
  // threads (and one clearing threads_ while the other walks it) was a data race, found by
  // WorkerPool.StopFromSeveralThreadsAtOnceWaitsInEachOfThem under ThreadSanitizer.
  std::lock_guard joining(stop_mutex_);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

int WorkerPool::queued() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(queue_.size());
}

void WorkerPool::Loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace loyalty::common
