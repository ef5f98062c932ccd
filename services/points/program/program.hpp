// The program room: a store's settings (versioned), its earn rules (versioned, effective from a
// time) and PreviewEarn, the earning function applied to a cart (with the customer's tier
// multiplier). Tiers themselves are program/tiers.*.
#pragma once

#include "points_context.hpp"
#include "program/reward_store.hpp"
#include "program/tiers.hpp"

namespace loyalty::points {

class Program {
 public:
  explicit Program(PointsContext& ctx)
      : db_(ctx.db),
        store_(ctx.store),
        rewards_(ctx.reward_store),
        idempotency_(ctx.idempotency),
        tiers_(ctx) {}

  void UpdateSettings(const common::CallContext& call, const v1::UpdateSettingsRequest* request,
                      v1::UpdateSettingsResponse* response);
  void GetSettings(const common::CallContext& call, const v1::GetSettingsRequest* request,
                   v1::GetSettingsResponse* response);
  void PublishEarnRules(const common::CallContext& call, const v1::PublishEarnRulesRequest* request,
                        v1::PublishEarnRulesResponse* response);
  void ListRuleVersions(const common::CallContext& call, const v1::ListRuleVersionsRequest* request,
                        v1::ListRuleVersionsResponse* response);
  void GetRuleVersion(const common::CallContext& call, const v1::GetRuleVersionRequest* request,
                      v1::GetRuleVersionResponse* response);
  void PreviewEarn(const common::CallContext& call, const v1::PreviewEarnRequest* request,
                   v1::PreviewEarnResponse* response);

 private:
  common::Database& db_;
  const PointsStore& store_;
  const RewardStore& rewards_;  // the catalogue GetSettings answers for checkout
  common::Idempotency& idempotency_;
  Tiers tiers_;  // the customer's tier in a preview and in GetSettings
};

}  // namespace loyalty::points
