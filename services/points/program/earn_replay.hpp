// The arithmetic of a dry run (DryRunEarnRules, program/dry_run.*): orders replayed under the rule
// versions in force when each was placed and under a draft, totalled per customer. No I/O, so the
// totals are unit-tested (tests/earn_replay_test.cpp) apart from the paging that feeds them.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "loyalty/orders/v1/orders_service.pb.h"
#include "loyalty/points/v1/points_service.pb.h"

namespace loyalty::points {

class EarnReplay {
 public:
  // `versions` in any order; an order earns under the one in force at its placed time (the
  // latest effective_from at or before it, the highest version on a tie: PointsStore::RulesAt).
  EarnReplay(v1::Settings settings, std::vector<v1::RuleVersion> versions, v1::EarnRules draft);

  // One order: each line through LinePoints under both rule sets, without a tier multiplier.
  // An order that earns no points (imported history) counts as an order with 0 on both sides.
  void Add(const orders::v1::PlacedOrder& order);

  // The totals, their cost at the settings' redemption value, and the `top` customers whose
  // points differ most (by absolute difference, then customer id).
  v1::EarnRulesDryRun Report(int top) const;

 private:
  const v1::RuleVersion* InForce(int64_t at_us) const;

  struct Customer {
    int64_t orders = 0;
    int64_t in_force = 0;
    int64_t draft = 0;
  };
  v1::Settings settings_;
  std::vector<v1::RuleVersion> versions_;  // by effective_from, then version
  v1::EarnRules draft_;
  std::unordered_map<std::string, Customer> customers_;
  int64_t orders_ = 0;
  int64_t lines_ = 0;
  int64_t in_force_ = 0;
  int64_t draft_points_ = 0;
};

}  // namespace loyalty::points
