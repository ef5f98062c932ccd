// How many points an order line earns, and what settings and rules are valid. No I/O.
#pragma once

#include <cstdint>
#include <string>

#include "loyalty/common/errors.hpp"
#include "loyalty/points/v1/points_service.pb.h"

namespace loyalty::points {

inline constexpr int32_t kOneX = 10000;  // a multiplier of 10,000 basis points is ×1
inline constexpr int64_t kMaxMultiplierBps = 1000000;  // ×100, after combining
// The most one line earns. Valid rules and settings reach ~1e23 for the largest line (1e15
// minor, ×100, a base rate of 1e6 per minor unit), past int64; capped like money
// (common/pricing.hpp) so that the 500 lines of an order add up to at most 5e17.
inline constexpr int64_t kMaxLinePoints = 1'000'000'000'000'000;

struct EarnLine {
  std::string sku;
  std::string category;
  int64_t net_minor = 0;
};

// Points for one line under `rules` and `settings` at `placed_at_micros`; the formula is in the
// EarnRules comment of points_service.proto. `order_net_minor` is the whole order's net amount
// (for the minimum order). `tier_bps` is the customer's tier multiplier (kOneX until tiers).
int64_t LinePoints(const v1::EarnRules& rules, const v1::Settings& settings, const EarnLine& line,
                   int64_t order_net_minor, int64_t placed_at_micros, int32_t tier_bps = kOneX);

// Field checks, naming each bad field under `prefix`.
void CheckSettings(common::Validator& v, const v1::Settings& settings, const std::string& prefix);
void CheckRules(common::Validator& v, const v1::EarnRules& rules, const std::string& prefix);

// Settings a new store starts with: 1 point per currency unit, 100 points = 1 unit, a 30-day
// return window from fulfilment, points expiring after 12 months, debts for spent clawbacks.
v1::Settings DefaultSettings(const std::string& currency_code, const std::string& time_zone);

}  // namespace loyalty::points
