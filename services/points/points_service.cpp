// The dispatcher: every RPC goes through ServiceHost::Serve to the room that owns it.
#include "points_service.hpp"

namespace loyalty::points {

PointsService::PointsService(common::ServiceHost& host, std::shared_ptr<grpc::Channel> orders,
                             std::shared_ptr<grpc::Channel> customers)
    : ctx_(host, std::move(orders), std::move(customers)),
      program_(ctx_),
      dry_run_(ctx_),
      versions_(ctx_),
      balances_(ctx_),
      holds_(ctx_),
      adjustments_(ctx_),
      verification_(ctx_),
      jobs_(ctx_, holds_),
      events_(ctx_),
      checkout_events_(ctx_.store),
      actions_(ctx_),
      action_jobs_(ctx_),
      tiers_(ctx_),
      rewards_(ctx_) {}

// Serves RPC `Name` with `room.Name(call, request, response)`.
#define LOYALTY_FORWARD(room, Name, Request, Response)                                            \
  grpc::ServerUnaryReactor* PointsService::Name(                                                  \
      grpc::CallbackServerContext* context, const v1::Request* request, v1::Response* response) { \
    return ctx_.host.Serve(                                                                       \
        context, #Name, request->store_id(),                                                      \
        [=, this](common::CallContext& call) { room.Name(call, request, response); });            \
  }

LOYALTY_FORWARD(program_, UpdateSettings, UpdateSettingsRequest, UpdateSettingsResponse)
LOYALTY_FORWARD(program_, GetSettings, GetSettingsRequest, GetSettingsResponse)
LOYALTY_FORWARD(program_, PublishEarnRules, PublishEarnRulesRequest, PublishEarnRulesResponse)
LOYALTY_FORWARD(program_, ListRuleVersions, ListRuleVersionsRequest, ListRuleVersionsResponse)
LOYALTY_FORWARD(program_, GetRuleVersion, GetRuleVersionRequest, GetRuleVersionResponse)
LOYALTY_FORWARD(program_, PreviewEarn, PreviewEarnRequest, PreviewEarnResponse)
LOYALTY_FORWARD(dry_run_, DryRunEarnRules, DryRunEarnRulesRequest, DryRunEarnRulesResponse)
LOYALTY_FORWARD(dry_run_, DryRunTiers, DryRunTiersRequest, DryRunTiersResponse)
LOYALTY_FORWARD(dry_run_, DryRunReward, DryRunRewardRequest, DryRunRewardResponse)
LOYALTY_FORWARD(versions_, ListVersions, ListVersionsRequest, ListVersionsResponse)
LOYALTY_FORWARD(versions_, GetVersion, GetVersionRequest, GetVersionResponse)
LOYALTY_FORWARD(versions_, DiffVersions, DiffVersionsRequest, DiffVersionsResponse)

LOYALTY_FORWARD(balances_, GetBalance, GetBalanceRequest, GetBalanceResponse)
LOYALTY_FORWARD(balances_, ListLedger, ListLedgerRequest, ListLedgerResponse)
LOYALTY_FORWARD(holds_, ReserveRedemption, ReserveRedemptionRequest, ReserveRedemptionResponse)
LOYALTY_FORWARD(holds_, CommitRedemption, CommitRedemptionRequest, CommitRedemptionResponse)
LOYALTY_FORWARD(holds_, VoidRedemption, VoidRedemptionRequest, VoidRedemptionResponse)
LOYALTY_FORWARD(adjustments_, AdjustPoints, AdjustPointsRequest, AdjustPointsResponse)
LOYALTY_FORWARD(verification_, VerifyLedger, VerifyLedgerRequest, VerifyLedgerResponse)
LOYALTY_FORWARD(verification_, LiabilityReport, LiabilityReportRequest, LiabilityReportResponse)
LOYALTY_FORWARD(verification_, ListEvents, ListEventsRequest, ListEventsResponse)

LOYALTY_FORWARD(jobs_, RunReleaseJob, RunJobRequest, RunJobResponse)
LOYALTY_FORWARD(jobs_, RunExpiryJob, RunJobRequest, RunJobResponse)
LOYALTY_FORWARD(jobs_, RunHoldExpiryJob, RunJobRequest, RunJobResponse)

LOYALTY_FORWARD(actions_, RecordAction, RecordActionRequest, RecordActionResponse)
LOYALTY_FORWARD(action_jobs_, RunBirthdayJob, RunJobRequest, RunJobResponse)
LOYALTY_FORWARD(action_jobs_, RunFirstOrderJob, RunJobRequest, RunJobResponse)
LOYALTY_FORWARD(tiers_, PublishTiers, PublishTiersRequest, PublishTiersResponse)
LOYALTY_FORWARD(tiers_, ListTierVersions, ListTierVersionsRequest, ListTierVersionsResponse)
LOYALTY_FORWARD(tiers_, SetManualTier, SetManualTierRequest, SetManualTierResponse)
LOYALTY_FORWARD(tiers_, ListTierMembers, ListTierMembersRequest, ListTierMembersResponse)
LOYALTY_FORWARD(tiers_, RunTierJob, RunJobRequest, RunJobResponse)
LOYALTY_FORWARD(rewards_, CreateReward, CreateRewardRequest, CreateRewardResponse)
LOYALTY_FORWARD(rewards_, UpdateReward, UpdateRewardRequest, UpdateRewardResponse)
LOYALTY_FORWARD(rewards_, ListRewards, ListRewardsRequest, ListRewardsResponse)

#undef LOYALTY_FORWARD

}  // namespace loyalty::points
