// Values kept for a while by key (API key grants, stores' settings); thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace loyalty::common {

// A value is fresh for `ttl` from `since`, the time before it was read, so it is never older than
// ttl; a ttl of 0 keeps nothing.
template <class V>
class ExpiringCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ExpiringCache(std::chrono::milliseconds ttl) : ttl_(ttl) {}

  std::optional<V> Find(const std::string& key, Clock::time_point now = Clock::now()) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.expires <= now) return std::nullopt;
    return it->second.value;
  }
  void Put(const std::string& key, V value, Clock::time_point since) {
    if (ttl_.count() <= 0) return;
    std::lock_guard lock(mutex_);
    entries_[key] = {std::move(value), since + ttl_};
  }
  void Erase(const std::string& key) {
    std::lock_guard lock(mutex_);
    entries_.erase(key);
  }
  void Clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
  }

 private:
  struct Entry {
    V value;
    Clock::time_point expires;
  };
  const std::chrono::milliseconds ttl_;
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace loyalty::common
