// loyalty.gateway.v1.AdminService: store admins (admin keys with a role and a set of stores)
// and the operator (CreateStore; operator keys and the operator token for the operations in
// admin_operations.cpp). Every mutation is written to the audit log.
#pragma once

#include "gateway.hpp"
#include "loyalty/common/idempotency.hpp"
#include "loyalty/gateway/v1/gateway_service.grpc.pb.h"
#include "webhooks/webhook_store.hpp"

namespace loyalty::gateway {

class AdminService final : public v1::AdminService::CallbackService {
 public:
  explicit AdminService(Gateway& gateway)
      : gw_(gateway), host_(gateway.host()), webhooks_(gateway.db()),
        idempotency_(gateway.db(), "gateway") {}

  grpc::ServerUnaryReactor* CreateStore(grpc::CallbackServerContext* context,
      const v1::CreateStoreRequest* request, v1::CreateStoreResponse* response) override;
  grpc::ServerUnaryReactor* GetStore(grpc::CallbackServerContext* context,
      const v1::GetStoreRequest* request, v1::GetStoreResponse* response) override;
  grpc::ServerUnaryReactor* GetSettings(grpc::CallbackServerContext* context,
      const v1::GetSettingsRequest* request, v1::GetSettingsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateSettings(grpc::CallbackServerContext* context,
      const v1::UpdateSettingsRequest* request, v1::UpdateSettingsResponse* response) override;
  grpc::ServerUnaryReactor* PublishEarnRules(grpc::CallbackServerContext* context,
      const v1::PublishEarnRulesRequest* request, v1::PublishEarnRulesResponse* response) override;
  grpc::ServerUnaryReactor* ListRuleVersions(grpc::CallbackServerContext* context,
      const v1::ListRuleVersionsRequest* request, v1::ListRuleVersionsResponse* response) override;
  grpc::ServerUnaryReactor* DryRunEarnRules(grpc::CallbackServerContext* context,
      const v1::DryRunEarnRulesRequest* request, v1::DryRunEarnRulesResponse* response) override;
  // Versions of settings, rules, tiers and rewards (points) and campaigns (checkout):
  // version_admin.cpp.
  grpc::ServerUnaryReactor* DiffVersions(grpc::CallbackServerContext* context,
      const v1::DiffVersionsRequest* request, v1::DiffVersionsResponse* response) override;
  grpc::ServerUnaryReactor* ListVersions(grpc::CallbackServerContext* context,
      const v1::ListVersionsRequest* request, v1::ListVersionsResponse* response) override;
  grpc::ServerUnaryReactor* GetVersion(grpc::CallbackServerContext* context,
      const v1::GetVersionRequest* request, v1::GetVersionResponse* response) override;
  grpc::ServerUnaryReactor* GetRuleVersion(grpc::CallbackServerContext* context,
      const v1::GetRuleVersionRequest* request, v1::GetRuleVersionResponse* response) override;
  grpc::ServerUnaryReactor* AdjustPoints(grpc::CallbackServerContext* context,
      const v1::AdjustPointsRequest* request, v1::AdjustPointsResponse* response) override;
  grpc::ServerUnaryReactor* LookupCustomer(grpc::CallbackServerContext* context,
      const v1::GetCustomerRequest* request, v1::GetCustomerResponse* response) override;
  grpc::ServerUnaryReactor* ListLedger(grpc::CallbackServerContext* context,
      const v1::ListLedgerRequest* request, v1::ListLedgerResponse* response) override;
  grpc::ServerUnaryReactor* CountMembers(grpc::CallbackServerContext* context,
      const v1::CountMembersRequest* request, v1::CountMembersResponse* response) override;
  grpc::ServerUnaryReactor* RetentionReport(grpc::CallbackServerContext* context,
      const v1::RetentionReportRequest* request, v1::RetentionReportResponse* response) override;
  grpc::ServerUnaryReactor* RepeatCustomerRevenue(grpc::CallbackServerContext* context,
      const v1::RepeatCustomerRevenueRequest* request, v1::RepeatCustomerRevenueResponse* response) override;
  grpc::ServerUnaryReactor* RevenueConcentration(grpc::CallbackServerContext* context,
      const v1::RevenueConcentrationRequest* request, v1::RevenueConcentrationResponse* response) override;
  grpc::ServerUnaryReactor* TopCustomers(grpc::CallbackServerContext* context,
      const v1::TopCustomersRequest* request, v1::TopCustomersResponse* response) override;
  grpc::ServerUnaryReactor* LapsedCustomers(grpc::CallbackServerContext* context,
      const v1::LapsedCustomersRequest* request, v1::LapsedCustomersResponse* response) override;
  grpc::ServerUnaryReactor* CustomerValue(grpc::CallbackServerContext* context,
      const v1::CustomerValueRequest* request, v1::CustomerValueResponse* response) override;
  grpc::ServerUnaryReactor* SegmentCustomers(grpc::CallbackServerContext* context,
      const v1::SegmentCustomersRequest* request, v1::SegmentCustomersResponse* response) override;
  grpc::ServerUnaryReactor* RfmReport(grpc::CallbackServerContext* context,
      const v1::RfmReportRequest* request, v1::RfmReportResponse* response) override;
  grpc::ServerUnaryReactor* LiabilityReport(grpc::CallbackServerContext* context,
      const v1::LiabilityReportRequest* request, v1::LiabilityReportResponse* response) override;
  grpc::ServerUnaryReactor* UpsertProducts(grpc::CallbackServerContext* context,
      const v1::UpsertProductsRequest* request, v1::UpsertProductsResponse* response) override;
  grpc::ServerUnaryReactor* ImportOrders(grpc::CallbackServerContext* context,
      const v1::ImportOrdersRequest* request, v1::ImportOrdersResponse* response) override;
  grpc::ServerUnaryReactor* ExportCustomer(grpc::CallbackServerContext* context,
      const v1::ExportCustomerRequest* request, v1::ExportCustomerResponse* response) override;
  grpc::ServerUnaryReactor* EraseCustomer(grpc::CallbackServerContext* context,
      const v1::EraseCustomerRequest* request, v1::EraseCustomerResponse* response) override;
  grpc::ServerUnaryReactor* CreateApiKey(grpc::CallbackServerContext* context,
      const v1::CreateApiKeyRequest* request, v1::CreateApiKeyResponse* response) override;
  grpc::ServerUnaryReactor* ListApiKeys(grpc::CallbackServerContext* context,
      const v1::ListApiKeysRequest* request, v1::ListApiKeysResponse* response) override;
  grpc::ServerUnaryReactor* RevokeApiKey(grpc::CallbackServerContext* context,
      const v1::RevokeApiKeyRequest* request, v1::RevokeApiKeyResponse* response) override;
  grpc::ServerUnaryReactor* ListAuditLog(grpc::CallbackServerContext* context,
      const v1::ListAuditLogRequest* request, v1::ListAuditLogResponse* response) override;
  // Operations (admin_operations.cpp).
  grpc::ServerUnaryReactor* ListDeadLetters(grpc::CallbackServerContext* context,
      const v1::ListDeadLettersRequest* request, v1::ListDeadLettersResponse* response) override;
  grpc::ServerUnaryReactor* RetryDeadLetter(grpc::CallbackServerContext* context,
      const v1::RetryDeadLetterRequest* request, v1::RetryDeadLetterResponse* response) override;
  grpc::ServerUnaryReactor* DiscardDeadLetter(grpc::CallbackServerContext* context,
      const v1::DiscardDeadLetterRequest* request, v1::DiscardDeadLetterResponse* response) override;
  grpc::ServerUnaryReactor* VerifyLedger(grpc::CallbackServerContext* context,
      const v1::VerifyLedgerRequest* request, v1::VerifyLedgerResponse* response) override;
  grpc::ServerUnaryReactor* RunJob(grpc::CallbackServerContext* context,
      const v1::RunJobRequest* request, v1::RunJobResponse* response) override;
  // Webhooks (webhooks/webhook_admin.cpp).
  grpc::ServerUnaryReactor* CreateWebhookEndpoint(grpc::CallbackServerContext* context,
      const v1::CreateWebhookEndpointRequest* request,
      v1::CreateWebhookEndpointResponse* response) override;
  grpc::ServerUnaryReactor* ListWebhookEndpoints(grpc::CallbackServerContext* context,
      const v1::ListWebhookEndpointsRequest* request,
      v1::ListWebhookEndpointsResponse* response) override;
  grpc::ServerUnaryReactor* RotateWebhookSecret(grpc::CallbackServerContext* context,
      const v1::RotateWebhookSecretRequest* request,
      v1::RotateWebhookSecretResponse* response) override;
  grpc::ServerUnaryReactor* DisableWebhookEndpoint(grpc::CallbackServerContext* context,
      const v1::DisableWebhookEndpointRequest* request,
      v1::DisableWebhookEndpointResponse* response) override;
  grpc::ServerUnaryReactor* EnableWebhookEndpoint(grpc::CallbackServerContext* context,
      const v1::EnableWebhookEndpointRequest* request,
      v1::EnableWebhookEndpointResponse* response) override;
  grpc::ServerUnaryReactor* ListWebhookAttempts(grpc::CallbackServerContext* context,
      const v1::ListWebhookAttemptsRequest* request,
      v1::ListWebhookAttemptsResponse* response) override;
  grpc::ServerUnaryReactor* ReplayWebhooks(grpc::CallbackServerContext* context,
      const v1::ReplayWebhooksRequest* request, v1::ReplayWebhooksResponse* response) override;
  // Tiers (tier_admin.cpp).
  grpc::ServerUnaryReactor* PublishTiers(grpc::CallbackServerContext* context,
      const v1::PublishTiersRequest* request, v1::PublishTiersResponse* response) override;
  grpc::ServerUnaryReactor* DryRunTiers(grpc::CallbackServerContext* context,
      const v1::DryRunTiersRequest* request, v1::DryRunTiersResponse* response) override;
  grpc::ServerUnaryReactor* ListTierVersions(grpc::CallbackServerContext* context,
      const v1::ListTierVersionsRequest* request,
      v1::ListTierVersionsResponse* response) override;
  grpc::ServerUnaryReactor* SetManualTier(grpc::CallbackServerContext* context,
      const v1::SetManualTierRequest* request, v1::SetManualTierResponse* response) override;
  // The rewards catalogue (reward_admin.cpp).
  grpc::ServerUnaryReactor* CreateReward(grpc::CallbackServerContext* context,
      const v1::CreateRewardRequest* request, v1::CreateRewardResponse* response) override;
  grpc::ServerUnaryReactor* UpdateReward(grpc::CallbackServerContext* context,
      const v1::UpdateRewardRequest* request, v1::UpdateRewardResponse* response) override;
  grpc::ServerUnaryReactor* ListRewards(grpc::CallbackServerContext* context,
      const v1::ListRewardsRequest* request, v1::ListRewardsResponse* response) override;
  grpc::ServerUnaryReactor* DryRunReward(grpc::CallbackServerContext* context,
      const v1::DryRunRewardRequest* request, v1::DryRunRewardResponse* response) override;
  grpc::ServerUnaryReactor* CreateDiscountCodes(grpc::CallbackServerContext* context,
      const v1::CreateDiscountCodesRequest* request,
      v1::CreateDiscountCodesResponse* response) override;
  grpc::ServerUnaryReactor* ListDiscountCodes(grpc::CallbackServerContext* context,
      const v1::ListDiscountCodesRequest* request, v1::ListDiscountCodesResponse* response) override;
  grpc::ServerUnaryReactor* PutCampaign(grpc::CallbackServerContext* context,
      const v1::PutCampaignRequest* request, v1::PutCampaignResponse* response) override;
  grpc::ServerUnaryReactor* RunCampaign(grpc::CallbackServerContext* context,
      const v1::RunCampaignRequest* request, v1::RunCampaignResponse* response) override;
  grpc::ServerUnaryReactor* ListCampaigns(grpc::CallbackServerContext* context,
      const v1::ListCampaignsRequest* request, v1::ListCampaignsResponse* response) override;
  grpc::ServerUnaryReactor* PutSegment(grpc::CallbackServerContext* context,
      const v1::PutSegmentRequest* request, v1::PutSegmentResponse* response) override;
  grpc::ServerUnaryReactor* PreviewSegment(grpc::CallbackServerContext* context,
      const v1::PreviewSegmentRequest* request, v1::PreviewSegmentResponse* response) override;
  // Subscriptions (subscription_calls.cpp).
  grpc::ServerUnaryReactor* SubscriptionReport(grpc::CallbackServerContext* context,
      const v1::SubscriptionReportRequest* request,
      v1::SubscriptionReportResponse* response) override;

 private:
  // Authenticates an admin call for its store with at least `min_role`, then runs fn(call, p).
  template <class Req, class Fn>
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, const char* method,
                                const Req* request, Role min_role, Fn fn) {
    return host_.Serve(context, method, request->store_id(),
                       [=, this](common::CallContext& call) {
                         const auto p = gw_.Authenticate(*context, call.deadline,
                                                         request->store_id(), Surface::kAdmin,
                                                         min_role);
                         fn(call, p);
                       });
  }
  // An orders analytics report for the caller's store, in the store's time zone.
  template <class GwReq, class GwResp, class Req, class Resp>
  grpc::ServerUnaryReactor* Report(
      grpc::CallbackServerContext* context, const char* method, const GwReq* request,
      GwResp* response,
      grpc::Status (orders::v1::OrdersService::Stub::*call_method)(grpc::ClientContext*,
                                                                 const Req&, Resp*)) {
    return Run(context, method, request, Role::kViewer,
               [=, this](const common::CallContext& call, const Principal& p) {
                 Req query = request->query();
                 query.set_store_id(p.store.store_id);
                 if constexpr (requires { query.set_time_zone(std::string()); }) {
                   query.set_time_zone(p.store.time_zone);
                 }
                 CallOrThrow(call, gw_.orders(), call_method, query, response->mutable_report());
               });
  }
  void SeedSettings(const common::CallContext& call, const StoreRow& store);
  // customer_id must name a customer of the caller's store (else NOT_FOUND naming it): the points
  // service takes any id, so one store's key could otherwise act on an id only another store has.
  void RequireOwnCustomer(const common::CallContext& call, const Principal& p,
                          const std::string& customer_id);
  // The cursor of the newest event of the store's log ("" for an empty log).
  std::string EndOfEventLog(const common::CallContext& call, const std::string& store_id);
  // Disable and Enable: the same but for the flag.
  template <class Req, class Resp>
  grpc::ServerUnaryReactor* SetWebhookEnabled(grpc::CallbackServerContext* context,
                                              const char* method, const Req* request,
                                              Resp* response, bool enabled);

  Gateway& gw_;
  common::ServiceHost& host_;
  webhooks::WebhookStore webhooks_;
  common::Idempotency idempotency_;
};

}  // namespace loyalty::gateway
