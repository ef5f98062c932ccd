// loyalty.points.v1.PointsService: one gRPC service, a thin dispatcher. Each RPC is served
// (worker pool, deadline, errors mapped: ServiceHost::Serve) by the room that owns it:
//   program/  Program       settings, earn rules, PreviewEarn
//   program/  DryRun        DryRunEarnRules (a draft replayed over past orders), DryRunTiers,
//                           DryRunReward
//   program/  Versions      List/Get/DiffVersions (settings, rules, tiers, a reward)
//   ledger/   Balances      GetBalance, ListLedger
//             Holds         ReserveRedemption, CommitRedemption, VoidRedemption
//             Adjustments   AdjustPoints
//             Verification  VerifyLedger, LiabilityReport, ListEvents
//   jobs/     Jobs          RunReleaseJob, RunExpiryJob, RunHoldExpiryJob (and the scheduler's)
//   program/  Actions       RecordAction (member actions)
//   jobs/     ActionJobs    RunBirthdayJob, RunFirstOrderJob (and the scheduler's)
//   program/  Tiers         PublishTiers, ListTierVersions, SetManualTier, ListTierMembers,
//                           RunTierJob
//   program/  Rewards       CreateReward, UpdateReward, ListRewards (the rewards catalogue)
//   events/   OrderEvents   the order events, on the service's EventSinkService
//   events/   CheckoutEvents  checkout's events for the store's event log (cart.abandoned,
//                             campaign.reached, subscription.renewal_due)
// The money rules are in ledger/ledger.* (CustomerLedger, unit-tested over an in-memory store)
// and earn_rules.*, the SQL in points_store.*.
#pragma once

#include "events/checkout_events.hpp"
#include "events/order_events.hpp"
#include "jobs/action_jobs.hpp"
#include "jobs/jobs.hpp"
#include "ledger/adjustments.hpp"
#include "ledger/balances.hpp"
#include "ledger/holds.hpp"
#include "ledger/verification.hpp"
#include "loyalty/points/v1/points_service.grpc.pb.h"
#include "points_context.hpp"
#include "program/actions.hpp"
#include "program/dry_run.hpp"
#include "program/program.hpp"
#include "program/rewards.hpp"
#include "program/versions.hpp"

namespace loyalty::points {

class PointsService final : public v1::PointsService::CallbackService {
 public:
  PointsService(common::ServiceHost& host, std::shared_ptr<grpc::Channel> orders,
                std::shared_ptr<grpc::Channel> customers);

  // Registers the order and checkout event handlers on the service's event sink.
  void Subscribe(common::InboxEventSink& sink) {
    events_.Subscribe(sink);
    checkout_events_.Subscribe(sink);
  }
  // The jobs, for the scheduler: items processed.
  int64_t ReleaseDue(const std::string& store_id, int64_t as_of_us) {
    return jobs_.ReleaseDue(store_id, as_of_us);
  }
  int64_t ExpireDue(const std::string& store_id, int64_t as_of_us) {
    return jobs_.ExpireDue(store_id, as_of_us);
  }
  int64_t ExpireHolds(const common::CallContext& call, const std::string& store_id,
                      int64_t as_of_us) {
    return jobs_.ExpireHolds(call, store_id, as_of_us);
  }
  int64_t BirthdaysDue(const common::CallContext& call, const std::string& store_id,
                       int64_t as_of_us) {
    return action_jobs_.BirthdaysDue(call, store_id, as_of_us);
  }
  int64_t FirstOrdersDue(const std::string& store_id, int64_t as_of_us) {
    return action_jobs_.FirstOrdersDue(store_id, as_of_us);
  }
  int64_t ReviewTiers(const std::string& store_id, int64_t as_of_us) {
    return tiers_.ReviewDue(store_id, as_of_us);
  }

#define LOYALTY_RPC(Name, Request, Response)                                                       \
  grpc::ServerUnaryReactor* Name(grpc::CallbackServerContext* context, const v1::Request* request, \
                                 v1::Response* response) override;
  LOYALTY_RPC(UpdateSettings, UpdateSettingsRequest, UpdateSettingsResponse)
  LOYALTY_RPC(GetSettings, GetSettingsRequest, GetSettingsResponse)
  LOYALTY_RPC(PublishEarnRules, PublishEarnRulesRequest, PublishEarnRulesResponse)
  LOYALTY_RPC(ListRuleVersions, ListRuleVersionsRequest, ListRuleVersionsResponse)
  LOYALTY_RPC(GetRuleVersion, GetRuleVersionRequest, GetRuleVersionResponse)
  LOYALTY_RPC(PreviewEarn, PreviewEarnRequest, PreviewEarnResponse)
  LOYALTY_RPC(DryRunEarnRules, DryRunEarnRulesRequest, DryRunEarnRulesResponse)
  LOYALTY_RPC(ListVersions, ListVersionsRequest, ListVersionsResponse)
  LOYALTY_RPC(GetVersion, GetVersionRequest, GetVersionResponse)
  LOYALTY_RPC(DiffVersions, DiffVersionsRequest, DiffVersionsResponse)
  LOYALTY_RPC(DryRunTiers, DryRunTiersRequest, DryRunTiersResponse)
  LOYALTY_RPC(DryRunReward, DryRunRewardRequest, DryRunRewardResponse)
  LOYALTY_RPC(ReserveRedemption, ReserveRedemptionRequest, ReserveRedemptionResponse)
  LOYALTY_RPC(CommitRedemption, CommitRedemptionRequest, CommitRedemptionResponse)
  LOYALTY_RPC(VoidRedemption, VoidRedemptionRequest, VoidRedemptionResponse)
  LOYALTY_RPC(AdjustPoints, AdjustPointsRequest, AdjustPointsResponse)
  LOYALTY_RPC(GetBalance, GetBalanceRequest, GetBalanceResponse)
  LOYALTY_RPC(ListLedger, ListLedgerRequest, ListLedgerResponse)
  LOYALTY_RPC(VerifyLedger, VerifyLedgerRequest, VerifyLedgerResponse)
  LOYALTY_RPC(LiabilityReport, LiabilityReportRequest, LiabilityReportResponse)
  LOYALTY_RPC(ListEvents, ListEventsRequest, ListEventsResponse)
  LOYALTY_RPC(RunReleaseJob, RunJobRequest, RunJobResponse)
  LOYALTY_RPC(RunExpiryJob, RunJobRequest, RunJobResponse)
  LOYALTY_RPC(RunHoldExpiryJob, RunJobRequest, RunJobResponse)
  LOYALTY_RPC(RecordAction, RecordActionRequest, RecordActionResponse)
  LOYALTY_RPC(RunBirthdayJob, RunJobRequest, RunJobResponse)
  LOYALTY_RPC(RunFirstOrderJob, RunJobRequest, RunJobResponse)
  LOYALTY_RPC(PublishTiers, PublishTiersRequest, PublishTiersResponse)
  LOYALTY_RPC(ListTierVersions, ListTierVersionsRequest, ListTierVersionsResponse)
  LOYALTY_RPC(SetManualTier, SetManualTierRequest, SetManualTierResponse)
  LOYALTY_RPC(ListTierMembers, ListTierMembersRequest, ListTierMembersResponse)
  LOYALTY_RPC(RunTierJob, RunJobRequest, RunJobResponse)
  LOYALTY_RPC(CreateReward, CreateRewardRequest, CreateRewardResponse)
  LOYALTY_RPC(UpdateReward, UpdateRewardRequest, UpdateRewardResponse)
  LOYALTY_RPC(ListRewards, ListRewardsRequest, ListRewardsResponse)
#undef LOYALTY_RPC

 private:
  PointsContext ctx_;
  Program program_;
  DryRun dry_run_;
  Versions versions_;
  Balances balances_;
  Holds holds_;
  Adjustments adjustments_;
  Verification verification_;
  Jobs jobs_;
  OrderEvents events_;
  CheckoutEvents checkout_events_;
  Actions actions_;
  ActionJobs action_jobs_;
  Tiers tiers_;
  Rewards rewards_;
};

}  // namespace loyalty::points
