#include "gateway_rules.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace loyalty::gateway {

namespace {

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return common::HexEncode(std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()));
}

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
  return Role::kNone;
}

std::string RoleToString(Role role) {
  switch (role) {
    case Role::kViewer: return "viewer";
    case Role::kEditor: return "editor";
    case Role::kOwner: return "owner";
    case Role::kNone: break;
  }
  return "";
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

int64_t PointsValue(int64_t points, int64_t redeem_points, int64_t redeem_value_minor) {
  if (points <= 0 || redeem_points <= 0 || redeem_value_minor <= 0) return 0;
  __extension__ const __int128 v = static_cast<__int128>(points) * redeem_value_minor / redeem_points;
  return static_cast<int64_t>(v);
}

int64_t ShippingAfterThreshold(int64_t merchandise_minor, int64_t fee_minor, int64_t threshold) {
  if (threshold > 0 && merchandise_minor >= threshold) return 0;
  return std::max<int64_t>(0, fee_minor);
}

std::vector<int64_t> Allocate(int64_t amount, const std::vector<int64_t>& weights) {
  std::vector<int64_t> parts(weights.size(), 0);
  const int64_t total = std::accumulate(weights.begin(), weights.end(), int64_t{0});
  if (total <= 0 || amount <= 0) return parts;
  int64_t given = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    __extension__ const __int128 p = static_cast<__int128>(amount) * weights[i] / total;
    parts[i] = static_cast<int64_t>(p);
    given += parts[i];
  }
  std::vector<size_t> order(weights.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return weights[a] > weights[b]; });
  for (size_t k = 0; given < amount && !order.empty(); k = (k + 1) % order.size()) {
    if (parts[order[k]] < weights[order[k]]) {
      ++parts[order[k]];
      ++given;
    }
  }
  return parts;
}

QuoteResult Quote(const QuoteInput& in) {
  QuoteResult r;
  std::vector<int64_t> gross;
  for (const auto& line : in.lines) {
    gross.push_back(line.unit_price_minor * line.quantity);
    r.subtotal_minor += gross.back();
  }
  r.discount_minor = std::clamp<int64_t>(in.discounts_minor, 0, r.subtotal_minor);
  const int64_t after_discount = r.subtotal_minor - r.discount_minor;
  // The most points whose value does not exceed what is left to pay for the merchandise.
  int64_t cap = 0;
  if (in.redeem_points > 0 && in.redeem_value_minor > 0) {
    __extension__ const __int128 c =
        static_cast<__int128>(after_discount) * in.redeem_points / in.redeem_value_minor;
    cap = static_cast<int64_t>(c);
  }
  r.max_points = std::max<int64_t>(0, std::min(in.points_available, cap));
  r.max_points_amount_minor = PointsValue(r.max_points, in.redeem_points, in.redeem_value_minor);
  r.points_used = std::clamp<int64_t>(in.points_to_redeem, 0, r.max_points);
  r.points_amount_minor = PointsValue(r.points_used, in.redeem_points, in.redeem_value_minor);
  r.merchandise_minor = after_discount - r.points_amount_minor;
  r.shipping_minor = ShippingAfterThreshold(r.merchandise_minor, in.shipping_fee_minor,
                                            in.free_shipping_threshold_minor);
  r.total_minor = r.merchandise_minor + r.shipping_minor;
  if (in.free_shipping_threshold_minor > 0 && r.merchandise_minor < in.free_shipping_threshold_minor) {
    r.free_shipping_gap_minor = in.free_shipping_threshold_minor - r.merchandise_minor;
  }
  const auto discounts = Allocate(r.discount_minor, gross);
  std::vector<int64_t> after(gross.size());
  for (size_t i = 0; i < gross.size(); ++i) after[i] = gross[i] - discounts[i];
  const auto points = Allocate(r.points_amount_minor, after);
  r.line_net_minor.resize(gross.size());
  for (size_t i = 0; i < gross.size(); ++i) r.line_net_minor[i] = after[i] - points[i];
  return r;
}

}  // namespace loyalty::gateway
