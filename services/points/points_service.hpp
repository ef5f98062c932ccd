// loyalty.points.v1.PointsService. The RPCs are split by subject: points_service.cpp (settings,
// rules, balances, ledger, event log), redemption.cpp (holds and adjustments), order_events.cpp
// (applying order events), jobs.cpp (release, expiry, hold expiry). The money rules are in
// ledger.cpp and earn_rules.cpp, the SQL in points_store.cpp.
#pragma once

#include "ledger/ledger.hpp"
#include "ledger/pg_ledger_store.hpp"
#include "loyalty/common/events.hpp"
#include "loyalty/common/idempotency.hpp"
#include "loyalty/common/server.hpp"
#include "loyalty/orders/v1/orders_service.grpc.pb.h"
#include "loyalty/points/v1/points_service.grpc.pb.h"
#include "points_store.hpp"

namespace loyalty::points {

class PointsService final : public v1::PointsService::CallbackService {
 public:
  PointsService(common::ServiceHost& host, std::shared_ptr<grpc::Channel> orders);

  // Registers the order event handlers on the service's event sink.
  void SubscribeToOrders(common::InboxEventSink& sink);
  // The jobs, for the scheduler and the RPCs: items processed.
  int64_t ReleaseDue(const std::string& store_id, int64_t as_of_us);
  int64_t ExpireDue(const std::string& store_id, int64_t as_of_us);
  int64_t ExpireHolds(const common::CallContext& call, const std::string& store_id,
                      int64_t as_of_us);

#define LOYALTY_RPC(Name, Request, Response)                                         \
  grpc::ServerUnaryReactor* Name(grpc::CallbackServerContext* context,               \
                                 const v1::Request* request, v1::Response* response) \
      override;
  LOYALTY_RPC(UpdateSettings, UpdateSettingsRequest, UpdateSettingsResponse)
  LOYALTY_RPC(GetSettings, GetSettingsRequest, GetSettingsResponse)
  LOYALTY_RPC(PublishEarnRules, PublishEarnRulesRequest, PublishEarnRulesResponse)
  LOYALTY_RPC(ListRuleVersions, ListRuleVersionsRequest, ListRuleVersionsResponse)
  LOYALTY_RPC(GetRuleVersion, GetRuleVersionRequest, GetRuleVersionResponse)
  LOYALTY_RPC(PreviewEarn, PreviewEarnRequest, PreviewEarnResponse)
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
#undef LOYALTY_RPC

 private:
  // The settings in force; a store that never configured its program gets the defaults,
  // written as version 1 (currency from `fallback_currency`, time zone UTC).
  v1::Settings SettingsOrDefault(pqxx::transaction_base& tx, const std::string& store_id,
                                 const std::string& fallback_currency) const;
  v1::Settings RequireSettings(pqxx::transaction_base& tx, const std::string& store_id) const;
  v1::Hold ToHold(const HoldRow& row) const;
  // Ends an active hold, giving its points back to the lots they came from. False when the hold
  // had already ended (it ends exactly once).
  bool ReleaseHold(pqxx::transaction_base& tx, const std::string& store_id, const HoldRow& hold,
                   const std::string& state);
  // Asks the orders service to make sure the hold's order will never exist. True when it is dead.
  bool AbandonOrder(const common::CallContext& call, const std::string& store_id,
                    const std::string& order_id) const;

  void OnOrderPlaced(pqxx::transaction_base& tx, const events::v1::Event& event);
  void OnOrderFulfilled(pqxx::transaction_base& tx, const events::v1::Event& event);
  void OnOrderRefunded(pqxx::transaction_base& tx, const events::v1::Event& event);
  void OnOrderCancelled(pqxx::transaction_base& tx, const events::v1::Event& event);
  // Claws back and gives back paid points for `refunded_total` of `quantity` units of a line.
  void RefundLine(pqxx::transaction_base& tx, CustomerLedger& ledger, const v1::Settings& settings,
                  const std::string& store_id, const std::string& order_id,
                  const std::string& line_id, int32_t refunded_total, int64_t now_us);

  common::ServiceHost& host_;
  common::Database& db_;
  PointsStore store_;
  common::Idempotency idempotency_;
  std::unique_ptr<orders::v1::OrdersService::Stub> orders_;
};

}  // namespace loyalty::points
