// Tiers with no I/O: which tier a qualifying figure reaches, the window it is counted over, when a
// tier's period ends, what a re-evaluation decides, and the progress to the next tier.
//
// The policy (docs/tiers.md):
// - Upgrades are immediate: the order (or job run) whose qualifying figure reaches a higher tier's
//   threshold moves the customer up.
// - A tier is kept until its period ends plus the grace days: for a calendar-year window the 1
//   January after it was last met (store time zone), for a rolling window 12 months after. Meeting
//   it again pushes that time on. Orders and refunds never lower a tier; the tier job does, at or
//   after that time, to the tier the qualifying figure then reaches.
// - A manual tier, set by an admin, is in force until its end time; then the job puts the customer
//   back to what the rules say.
#pragma once

#include <absl/time/time.h>

#include <cstdint>
#include <optional>
#include <string>

#include "loyalty/common/errors.hpp"
#include "loyalty/points/v1/points_service.pb.h"

namespace loyalty::points {

inline constexpr int kMaxTiers = 20;
inline constexpr int kMaxGraceDays = 365;

// A customer's tier as stored. `tier_id` empty: no tier.
struct TierState {
  std::string tier_id;
  int64_t since_us = 0;
  std::optional<int64_t> kept_until_us;  // earliest downgrade time (period end + grace)
  std::string manual_tier_id;            // empty: none
  std::optional<int64_t> manual_until_us;
  std::string manual_by;
  std::string manual_reason;
};

// [from, to): the qualifying window of an evaluation at `as_of_us`, to = as_of + 1 µs.
struct TierWindowRange {
  int64_t from_us = 0;
  int64_t to_us = 0;
};

TierWindowRange QualifyingWindow(const v1::TierProgram& program, const absl::TimeZone& zone,
                                 int64_t as_of_us);
// When a tier met at `met_us` stops being guaranteed: the period's end plus the grace days.
int64_t KeptUntil(const v1::TierProgram& program, const absl::TimeZone& zone, int64_t met_us);

// Index of the highest tier whose threshold `qualifying` reaches; -1: none.
int ReachedTier(const v1::TierProgram& program, int64_t qualifying);
// Index of the tier `tier_id`; -1: none or not in this program.
int TierIndex(const v1::TierProgram& program, const std::string& tier_id);

// What set off an evaluation: orders and refunds may raise a tier, only the job lowers one.
enum class TierTrigger { kOrder, kRefund, kJob };

struct TierDecision {
  TierState next;
  bool changed = false;  // the tier in force changed: a tier.changed event
  std::string from, to;  // tier ids in force before and after
  std::string reason;    // why, for the event
};

// Re-evaluates `state` at `as_of_us` with the customer's `qualifying` figure. `cause` names what
// set it off ("order o-1", "period end"), for the reason.
TierDecision EvaluateTier(const v1::TierProgram& program, const absl::TimeZone& zone,
                          const TierState& state, int64_t qualifying, int64_t as_of_us,
                          TierTrigger trigger, const std::string& cause);

// The tier id in force: the manual one while it lasts, else the earned one.
std::string TierInForce(const TierState& state, int64_t as_of_us);

// Progress from `qualifying` for a customer whose tier in force is `current` (index, -1: none): the
// next tier above both it and what `qualifying` reaches, and how much is missing.
v1::TierProgress Progress(const v1::TierProgram& program, int current, int64_t qualifying);

// The multiplier the earn rules apply for tier `index` (kOneX without a tier).
int32_t TierEarnBps(const v1::TierProgram& program, int index);

// Field checks of a program, naming each bad field under `prefix`; spend thresholds must be in
// `store_currency`.
void CheckTierProgram(common::Validator& v, const v1::TierProgram& program,
                      const std::string& store_currency, const std::string& prefix);

}  // namespace loyalty::points
