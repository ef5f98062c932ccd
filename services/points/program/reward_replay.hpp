// The arithmetic of a reward's dry run (docs/dry-run.md): the period's redemptions of the reward,
// in the order they were made, each checked under the draft by the one redemption rule
// (CheckRedeemable) and priced at its points cost. Pure, no I/O; unit-tested in
// tests/reward_replay_test.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loyalty/points/v1/points_service.pb.h"

namespace loyalty::points {

// One redemption as it was made: who, what it cost, when.
struct Redemption {
  std::string customer_id;
  int64_t points = 0;
  int64_t at_us = 0;
};

// `redemptions` oldest first; `redeemed_before`: the reward's redemptions before the period
// (they count toward the draft's stock_limit). A past tier is not kept, so tier restrictions are
// taken as met.
v1::RewardDryRun ReplayRedemptions(const v1::RewardDefinition& draft, int64_t redeemed_before,
                                   const std::vector<Redemption>& redemptions);

}  // namespace loyalty::points
