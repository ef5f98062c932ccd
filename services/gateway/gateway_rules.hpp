// The gateway's rules, without I/O: key format and hashing, roles and the rate limiter. Unit-tested in tests/gateway_rules_test.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/common/expiring_cache.hpp"
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
// Each role may do what the ones below it may. The operator (the people who run the platform)
// also handles what is stuck: dead letters, the ledger check, the jobs.
enum class Role { kNone = 0, kViewer = 1, kEditor = 2, kOwner = 3, kOperator = 4 };
Role RoleFromString(const std::string& s);
std::string RoleToString(Role role);
// Whether a key of role `caller` may create a key of role `granted`: never above its own, so
// only the operator makes operator keys.
bool MayGrant(Role caller, Role granted);

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

// Values kept for a while (API key grants, stores' settings).
using common::ExpiringCache;

}  // namespace loyalty::gateway
