// The arithmetic of a tier program's dry run, with no I/O: each customer's tier in force under
// the published program beside the tier a draft would give them, as of one time, counted per
// tier and per move. Unit-tested in tests/tier_replay_test.cpp; the room is program/dry_run.*.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loyalty/points/v1/points_service.pb.h"
#include "program/tier_rules.hpp"

namespace loyalty::points {

// One customer as of the dry run's time: their qualifying figure under each program's measure
// and window, and their stored tier state (default: none stored yet).
struct TierStanding {
  std::string customer_id;
  int64_t qualifying_now = 0;
  int64_t qualifying_draft = 0;
  TierState state;
};

// Counts the tiers in force under `published` (nullptr: no program yet) and under `draft` at
// `as_of_us`. Under the published program a customer is in their stored tier (the manual one
// while it lasts), or, not yet evaluated, in what their figure reaches, as Tiers::Read prices a
// quote. Under the draft, a manual tier in force stays; everyone else is in what their figure
// reaches, up or down (grace is left out: the tier job would move a customer down only at the
// period end plus grace). Customers in no tier under either program are left out.
v1::TiersDryRun ReplayTiers(const v1::TierProgram* published, const v1::TierProgram& draft,
                            const std::vector<TierStanding>& standings, int64_t as_of_us);

}  // namespace loyalty::points
