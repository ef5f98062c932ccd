// The gateway's rules, without I/O: key format and hashing, roles, the rate limiter and the
// money of a cart quote. Unit-tested in tests/gateway_rules_test.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/common/hex.hpp"

namespace loyalty::gateway {

// ---- keys ----------------------------------------------------------------------------------
// A key is "lk_<key_id>_<secret>": the key id (16 hex digits) finds the stored hash, the whole
// key is hashed with SHA-256 and compared in constant time.
struct KeyParts {
  std::string key_id;
  std::string key;  // the whole key
};
// The bearer key of an `authorization` header value; nullopt when malformed.
std::optional<KeyParts> ParseBearer(const std::string& header);
// A new random key (and its id).
KeyParts NewKey();
// Key hashes are lower-case hex SHA-256.
using common::Sha256Hex;
// "st_" + 16 random hex digits.
std::string NewStoreId();

// ---- roles ---------------------------------------------------------------------------------
enum class Role { kNone = 0, kViewer = 1, kEditor = 2, kOwner = 3 };
Role RoleFromString(const std::string& s);
std::string RoleToString(Role role);

// ---- rate limit ----------------------------------------------------------------------------
// A token bucket per key: `rate` calls a second, bursts up to `rate`.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // True when the call may go ahead.
  bool Allow(const std::string& key_id, int rate, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point last;
  };
  std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
};

// ---- short-lived copies ----------------------------------------------------------------------
// Values kept for `ttl` by key (API key grants, stores' settings); thread-safe. A value is fresh
// for ttl from `since`, the time before it was read, so it is never older than ttl; a ttl of 0
// keeps nothing.
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

 private:
  struct Entry {
    V value;
    Clock::time_point expires;
  };
  const std::chrono::milliseconds ttl_;
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

// ---- cart quote ----------------------------------------------------------------------------
struct QuoteLine {
  std::string line_id;
  int64_t unit_price_minor = 0;
  int32_t quantity = 0;
};

struct QuoteInput {
  std::vector<QuoteLine> lines;
  int64_t discounts_minor = 0;     // sum of order-level discounts
  int64_t shipping_fee_minor = 0;  // before free shipping
  int64_t points_to_redeem = 0;
  int64_t points_available = 0;
  int64_t redeem_points = 0;  // redeem_points points are worth redeem_value_minor
  int64_t redeem_value_minor = 0;
  int64_t free_shipping_threshold_minor = 0;  // 0 = never free
};

struct QuoteResult {
  int64_t subtotal_minor = 0;
  int64_t discount_minor = 0;
  int64_t max_points = 0;
  int64_t max_points_amount_minor = 0;
  int64_t points_used = 0;
  int64_t points_amount_minor = 0;
  int64_t merchandise_minor = 0;  // subtotal - discount - points amount
  int64_t shipping_minor = 0;
  int64_t total_minor = 0;
  int64_t free_shipping_gap_minor = 0;
  // Each line's net amount after its share of discounts and points (by gross amount).
  std::vector<int64_t> line_net_minor;
};

// What `points` points are worth: floor(points x value / points_unit).
int64_t PointsValue(int64_t points, int64_t redeem_points, int64_t redeem_value_minor);
QuoteResult Quote(const QuoteInput& in);
// Splits `amount` across `weights` in proportion (floor, remainders to the largest weights
// first); the parts sum to `amount` when the weights sum to more than 0.
std::vector<int64_t> Allocate(int64_t amount, const std::vector<int64_t>& weights);

// Shipping after free shipping: free when a threshold is set and the merchandise reaches it.
int64_t ShippingAfterThreshold(int64_t merchandise_minor, int64_t fee_minor, int64_t threshold);

}  // namespace loyalty::gateway
