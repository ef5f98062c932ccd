// The dry-run room: DryRunEarnRules replays a past period's orders (paged from the orders service)
// under a draft of the earn rules and under the versions then in force, and writes nothing. The
// arithmetic is program/earn_replay.* (no I/O); docs/dry-run.md says what the figures mean.
#pragma once

#include "points_context.hpp"

namespace loyalty::points {

class DryRun {
 public:
  explicit DryRun(PointsContext& ctx)
      : db_(ctx.db), store_(ctx.store), tiers_(ctx.tier_store), orders_(*ctx.orders) {}

  void DryRunEarnRules(const common::CallContext& call, const v1::DryRunEarnRulesRequest* request,
                       v1::DryRunEarnRulesResponse* response) const;
  void DryRunTiers(const common::CallContext& call, const v1::DryRunTiersRequest* request,
                   v1::DryRunTiersResponse* response) const;

 private:
  common::Database& db_;
  const PointsStore& store_;
  const TierStore& tiers_;
  orders::v1::OrdersService::Stub& orders_;
};

}  // namespace loyalty::points
