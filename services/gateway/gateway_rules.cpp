#include "gateway_rules.hpp"

#include <algorithm>
#include <stdexcept>

namespace loyalty::gateway {

namespace {

std::string RandomHex(size_t bytes) { return common::HexEncode(common::RandomBytes(bytes)); }

bool IsHex(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

std::optional<KeyParts> ParseBearer(const std::string& header) {
  static const std::string kPrefix = "Bearer ";
  if (header.size() <= kPrefix.size() || header.compare(0, kPrefix.size(), kPrefix) != 0) {
    return std::nullopt;
  }
  std::string key = header.substr(kPrefix.size());
  // lk_ + 16 + _ + 64
  if (key.size() != 3 + 16 + 1 + 64 || key.compare(0, 3, "lk_") != 0 || key[19] != '_') {
    return std::nullopt;
  }
  KeyParts parts;
  parts.key_id = key.substr(3, 16);
  if (!IsHex(parts.key_id) || !IsHex(key.substr(20))) return std::nullopt;
  parts.key = std::move(key);
  return parts;
}

KeyParts NewKey() {
  KeyParts parts;
  parts.key_id = RandomHex(8);
  parts.key = "lk_" + parts.key_id + "_" + RandomHex(32);
  return parts;
}

std::string NewStoreId() { return "st_" + RandomHex(8); }

Role RoleFromString(const std::string& s) {
  if (s == "viewer") return Role::kViewer;
  if (s == "editor") return Role::kEditor;
  if (s == "owner") return Role::kOwner;
  if (s == "operator") return Role::kOperator;
  return Role::kNone;
}

std::string RoleToString(Role role) {
  switch (role) {
    case Role::kViewer: return "viewer";
    case Role::kEditor: return "editor";
    case Role::kOwner: return "owner";
    case Role::kOperator: return "operator";
    case Role::kNone: break;
  }
  return "";
}

bool MayGrant(Role caller, Role granted) {
  return static_cast<int>(granted) <= static_cast<int>(caller);
}

bool RateLimiter::Allow(const std::string& key_id, int rate, Clock::time_point now) {
  if (rate <= 0) return true;
  std::lock_guard lock(mutex_);
  auto [it, inserted] = buckets_.try_emplace(key_id);
  Bucket& b = it->second;
  if (inserted) {
    b.tokens = rate;
    b.last = now;
  } else {
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min<double>(rate, b.tokens + std::max(0.0, elapsed) * rate);
    b.last = now;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

}  // namespace loyalty::gateway
