// The rewards room: the catalogue a store's customers spend points on (docs/rewards.md). Each
// change is a new version with its author and reason; the stock redeemed carries over. The rules
// are program/reward_rules.* (no I/O) and common/pricing.hpp (what a reward takes off a cart);
// the SQL program/reward_store.*.
#pragma once

#include "points_context.hpp"
#include "program/reward_rules.hpp"

namespace loyalty::points {

class Rewards {
 public:
  explicit Rewards(PointsContext& ctx)
      : db_(ctx.db), store_(ctx.store), rewards_(ctx.reward_store), idempotency_(ctx.idempotency) {}

  void CreateReward(const common::CallContext& call, const v1::CreateRewardRequest* request,
                    v1::CreateRewardResponse* response);
  void UpdateReward(const common::CallContext& call, const v1::UpdateRewardRequest* request,
                    v1::UpdateRewardResponse* response);
  void ListRewards(const common::CallContext& call, const v1::ListRewardsRequest* request,
                   v1::ListRewardsResponse* response);

 private:
  // Checks and writes a version: a new reward (`create`) or the next version of one.
  template <class Request, class Response>
  void Write(const common::CallContext& call, const Request& request, const char* method,
             bool create, Response* response);

  common::Database& db_;
  const PointsStore& store_;
  const RewardStore& rewards_;
  common::Idempotency& idempotency_;
};

}  // namespace loyalty::points
