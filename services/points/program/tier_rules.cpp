#include "program/tier_rules.hpp"

#include <absl/time/civil_time.h>

#include <set>

#include "earn_rules.hpp"
#include "loyalty/common/pricing.hpp"

namespace loyalty::points {

namespace {

constexpr int64_t kMicrosPerDay = 86'400'000'000;

absl::Time AtMicros(int64_t us) { return absl::FromUnixMicros(us); }

// The same local wall time `years` later (29 February → 1 March), keeping the sub-second part.
int64_t AddLocalYears(const absl::TimeZone& zone, int64_t us, int years) {
  const absl::Time t = AtMicros(us);
  const absl::CivilSecond local = absl::ToCivilSecond(t, zone);
  const absl::Duration fraction = t - absl::FromCivil(local, zone);
  const absl::CivilSecond moved(local.year() + years, local.month(), local.day(), local.hour(),
                                local.minute(), local.second());
  return absl::ToUnixMicros(absl::FromCivil(moved, zone) + fraction);
}

// 1 January 00:00, local, of the year `us` falls in (offset by `years`).
int64_t LocalYearStart(const absl::TimeZone& zone, int64_t us, int years) {
  const absl::CivilYear year(absl::ToCivilSecond(AtMicros(us), zone));
  return absl::ToUnixMicros(absl::FromCivil(year + years, zone));
}

std::string RecordedTier(const TierState& s) {
  return s.manual_tier_id.empty() ? s.tier_id : s.manual_tier_id;
}

std::string Describe(const v1::TierProgram& program, int index) {
  return index < 0 ? std::string("no tier") : program.tiers(index).name();
}

std::string Time(int64_t us) { return absl::FormatTime(AtMicros(us), absl::UTCTimeZone()); }

}  // namespace

TierWindowRange QualifyingWindow(const v1::TierProgram& program, const absl::TimeZone& zone,
                                 int64_t as_of_us) {
  if (program.window() == v1::TIER_WINDOW_CALENDAR_YEAR) {
    return {LocalYearStart(zone, as_of_us, 0), as_of_us + 1};
  }
  // (as_of − 12 months, as_of]: an order exactly 12 months old no longer counts.
  return {AddLocalYears(zone, as_of_us, -1) + 1, as_of_us + 1};
}

int64_t KeptUntil(const v1::TierProgram& program, const absl::TimeZone& zone, int64_t met_us) {
  const int64_t period_end = program.window() == v1::TIER_WINDOW_CALENDAR_YEAR
                                 ? LocalYearStart(zone, met_us, 1)
                                 : AddLocalYears(zone, met_us, 1);
  return period_end + program.grace_days() * kMicrosPerDay;
}

int ReachedTier(const v1::TierProgram& program, int64_t qualifying) {
  int reached = -1;
  for (int i = 0; i < program.tiers_size(); ++i) {
    if (qualifying >= program.tiers(i).threshold()) reached = i;
  }
  return reached;
}

int TierIndex(const v1::TierProgram& program, const std::string& tier_id) {
  if (tier_id.empty()) return -1;
  for (int i = 0; i < program.tiers_size(); ++i) {
    if (program.tiers(i).tier_id() == tier_id) return i;
  }
  return -1;
}

std::string TierInForce(const TierState& state, int64_t as_of_us) {
  if (!state.manual_tier_id.empty() && state.manual_until_us && as_of_us < *state.manual_until_us) {
    return state.manual_tier_id;
  }
  return state.tier_id;
}

TierDecision EvaluateTier(const v1::TierProgram& program, const absl::TimeZone& zone,
                          const TierState& state, int64_t qualifying, int64_t as_of_us,
                          TierTrigger trigger, const std::string& cause) {
  TierDecision d;
  d.next = state;
  std::string why;
  // A manual tier ends at its time, whatever set off the evaluation.
  if (!state.manual_tier_id.empty() && state.manual_until_us &&
      as_of_us >= *state.manual_until_us) {
    why = "manual tier " + state.manual_tier_id + " ended " + Time(*state.manual_until_us) + "; ";
    d.next.manual_tier_id.clear();
    d.next.manual_until_us.reset();
    d.next.manual_by.clear();
    d.next.manual_reason.clear();
  }
  const int current = TierIndex(program, state.tier_id);
  const int reached = ReachedTier(program, qualifying);
  const auto move_to = [&](int index) {
    d.next.tier_id = index < 0 ? "" : program.tiers(index).tier_id();
    d.next.since_us = as_of_us;
    if (index < 0) {
      d.next.kept_until_us.reset();
    } else {
      d.next.kept_until_us = KeptUntil(program, zone, as_of_us);
    }
  };
  const std::string figure = "qualifying " + std::to_string(qualifying);
  if (current < 0 && !state.tier_id.empty()) {
    // The tier left the program (a new version): the customer gets what the figure reaches.
    move_to(reached);
    why += cause + ": tier " + state.tier_id + " is no longer in the program; " + figure +
           " reaches " + Describe(program, reached);
  } else if (reached > current) {
    move_to(reached);
    why += cause + ": " + figure + " reached " + Describe(program, reached) + " (threshold " +
           std::to_string(program.tiers(reached).threshold()) + ")";
  } else if (reached == current && current >= 0) {
    // Met again: the tier is kept for another period from now.
    const int64_t until = KeptUntil(program, zone, as_of_us);
    if (!state.kept_until_us || *state.kept_until_us < until) d.next.kept_until_us = until;
  } else if (reached < current && trigger == TierTrigger::kJob &&
             (!state.kept_until_us || as_of_us >= *state.kept_until_us)) {
    const std::string kept =
        state.kept_until_us ? "kept until " + Time(*state.kept_until_us) : "period ended";
    move_to(reached);
    why += cause + ": " + kept + "; " + figure + " is below " + Describe(program, current) +
           " (threshold " + std::to_string(program.tiers(current).threshold()) + "), reaches " +
           Describe(program, reached);
  }
  d.from = RecordedTier(state);
  d.to = RecordedTier(d.next);
  d.changed = d.from != d.to;
  d.reason = why;
  return d;
}

v1::TierProgress Progress(const v1::TierProgram& program, int current, int64_t qualifying) {
  v1::TierProgress p;
  p.set_qualifying(qualifying);
  const int reached = ReachedTier(program, qualifying);
  if (reached >= 0) p.set_reached_tier_id(program.tiers(reached).tier_id());
  const int next = std::max(current, reached) + 1;
  if (next < program.tiers_size()) {
    const auto& tier = program.tiers(next);
    p.set_next_tier_id(tier.tier_id());
    p.set_next_tier_name(tier.name());
    p.set_missing(tier.threshold() - qualifying);
  }
  return p;
}

int32_t TierEarnBps(const v1::TierProgram& program, int index) {
  if (index < 0) return kOneX;
  const int32_t bps = program.tiers(index).benefits().earn_multiplier_bps();
  return bps == 0 ? kOneX : bps;
}

void CheckTierProgram(common::Validator& v, const v1::TierProgram& program,
                      const std::string& store_currency, const std::string& prefix) {
  v.Check(program.measure() != v1::TIER_MEASURE_UNSPECIFIED, prefix + "measure",
          "is required: SPEND or POINTS");
  v.Check(program.window() != v1::TIER_WINDOW_UNSPECIFIED, prefix + "window",
          "is required: ROLLING_12_MONTHS or CALENDAR_YEAR");
  v.Check(program.tiers_size() >= 1 && program.tiers_size() <= kMaxTiers, prefix + "tiers",
          "must have 1 to 20 tiers");
  v.Check(program.grace_days() >= 0 && program.grace_days() <= kMaxGraceDays, prefix + "grace_days",
          "must be 0 to 365");
  if (program.measure() == v1::TIER_MEASURE_SPEND) {
    v.Check(program.currency_code().empty() || program.currency_code() == store_currency,
            prefix + "currency_code", "must be the store's currency (" + store_currency + ")",
            "CURRENCY_MISMATCH");
  }
  std::set<std::string> ids;
  for (int i = 0; i < program.tiers_size() && i < kMaxTiers; ++i) {
    const auto& t = program.tiers(i);
    const std::string f = prefix + "tiers[" + std::to_string(i) + "].";
    if (v.RequireId(t.tier_id(), f + "tier_id")) {
      v.Check(ids.insert(t.tier_id()).second, f + "tier_id", "must be unique");
    }
    v.Check(!t.name().empty() && t.name().size() <= 100, f + "name", "is required, 1-100 bytes");
    v.Check(t.threshold() >= 0 && t.threshold() <= common::pricing::kMaxAmount, f + "threshold",
            "must be 0 to 5e17", "AMOUNT_OUT_OF_RANGE");
    if (i > 0) {
      v.Check(t.threshold() > program.tiers(i - 1).threshold(), f + "threshold",
              "must be above the tier before");
    }
    const int32_t bps = t.benefits().earn_multiplier_bps();
    v.Check(bps >= 0 && bps <= 100 * kOneX, f + "benefits.earn_multiplier_bps",
            "must be 0 to 1,000,000 (×100)");
  }
}

}  // namespace loyalty::points
