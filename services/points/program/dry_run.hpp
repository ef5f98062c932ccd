// The dry-run room: DryRunEarnRules replays a past period's orders (paged from the orders service)
// under a draft of the earn rules and under the versions then in force; DryRunTiers compares a
// draft tier program with the published one; DryRunReward replays a period's redemptions of a
// reward under a draft of it. Each writes nothing. The arithmetic is program/*_replay.* (no
// I/O); docs/dry-run.md says what the figures mean.
#pragma once

#include "points_context.hpp"

namespace loyalty::points {

class DryRun {
 public:
  explicit DryRun(PointsContext& ctx)
      : db_(ctx.db),
        store_(ctx.store),
        tiers_(ctx.tier_store),
        rewards_(ctx.reward_store),
        orders_(*ctx.orders) {}

  void DryRunEarnRules(const common::CallContext& call, const v1::DryRunEarnRulesRequest* request,
                       v1::DryRunEarnRulesResponse* response) const;
  void DryRunTiers(const common::CallContext& call, const v1::DryRunTiersRequest* request,
                   v1::DryRunTiersResponse* response) const;
  void DryRunReward(const common::CallContext& call, const v1::DryRunRewardRequest* request,
                    v1::DryRunRewardResponse* response) const;

 private:
  common::Database& db_;
  const PointsStore& store_;
  const TierStore& tiers_;
  const RewardStore& rewards_;
  orders::v1::OrdersService::Stub& orders_;
};

}  // namespace loyalty::points
