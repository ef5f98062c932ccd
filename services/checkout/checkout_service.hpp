// The checkout service: QuoteCart and the PlaceOrder saga, for the gateway's storefront calls.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checkout_rules.hpp"
#include "checkout_store.hpp"
#include "campaign_store.hpp"
#include "cart_store.hpp"
#include "code_store.hpp"
#include "subscription_store.hpp"
#include "loyalty/common/calendar.hpp"
#include "loyalty/common/events.hpp"
#include "loyalty/common/idempotency.hpp"
#include "loyalty/checkout/v1/checkout_service.grpc.pb.h"
#include "loyalty/common/expiring_cache.hpp"
#include "loyalty/common/server.hpp"
#include "loyalty/customers/v1/customers_service.grpc.pb.h"
#include "loyalty/orders/v1/orders_service.grpc.pb.h"
#include "loyalty/points/v1/points_service.grpc.pb.h"
#include "loyalty/recommendations/v1/recommendations_service.grpc.pb.h"

namespace loyalty::checkout {

struct CheckoutConfig {
  std::string customers_addr = "127.0.0.1:50052";        // LOYALTY_CUSTOMERS_ADDR
  std::string orders_addr = "127.0.0.1:50053";           // LOYALTY_ORDERS_ADDR
  std::string points_addr = "127.0.0.1:50054";           // LOYALTY_POINTS_ADDR
  std::string recommendations_addr = "127.0.0.1:50055";  // LOYALTY_RECOMMENDATIONS_ADDR
  int settings_cache_ms = 30000;          // LOYALTY_CHECKOUT_SETTINGS_CACHE_MS (quotes only)
  int settings_max_stale_ms = 600000;     // LOYALTY_CHECKOUT_SETTINGS_MAX_STALE_MS
  int settings_wait_ms = 500;             // LOYALTY_CHECKOUT_SETTINGS_WAIT_MS
  int recommendations_timeout_ms = 300;   // LOYALTY_CHECKOUT_RECOMMENDATIONS_TIMEOUT_MS
  int place_order_attempts = 8;           // LOYALTY_CHECKOUT_PLACE_ORDER_ATTEMPTS
  int code_claim_ttl_seconds = 900;       // LOYALTY_CHECKOUT_CODE_CLAIM_TTL_SECONDS
  int job_interval_seconds = 30;          // LOYALTY_CHECKOUT_JOB_INTERVAL_SECONDS
};

class CheckoutService final : public v1::CheckoutService::CallbackService {
 public:
  CheckoutService(common::ServiceHost& host, CheckoutConfig config);

  grpc::ServerUnaryReactor* QuoteCart(grpc::CallbackServerContext* context,
                                      const v1::QuoteCartRequest* request,
                                      gateway::v1::QuoteCartResponse* response) override;
  grpc::ServerUnaryReactor* PlaceOrder(grpc::CallbackServerContext* context,
                                       const v1::PlaceOrderRequest* request,
                                       gateway::v1::PlaceOrderResponse* response) override;
  grpc::ServerUnaryReactor* CreateCodes(grpc::CallbackServerContext* context,
                                        const v1::CreateCodesRequest* request,
                                        gateway::v1::CreateDiscountCodesResponse* response) override;
  grpc::ServerUnaryReactor* ListCodes(grpc::CallbackServerContext* context,
                                      const v1::ListCodesRequest* request,
                                      gateway::v1::ListDiscountCodesResponse* response) override;
  grpc::ServerUnaryReactor* PutCampaign(grpc::CallbackServerContext* context,
                                        const v1::PutCampaignRequest* request,
                                        gateway::v1::PutCampaignResponse* response) override;
  grpc::ServerUnaryReactor* RunCampaign(grpc::CallbackServerContext* context,
                                        const v1::RunCampaignRequest* request,
                                        gateway::v1::RunCampaignResponse* response) override;
  grpc::ServerUnaryReactor* AbandonCarts(grpc::CallbackServerContext* context,
                                         const v1::AbandonCartsRequest* request,
                                         v1::AbandonCartsResponse* response) override;
  // The abandoned-cart job (cart_recovery.cpp): open carts due at `as_of_us`.
  v1::AbandonCartsResponse AbandonCartsDue(const common::CallContext& call,
                                           const std::string& store_id, int64_t as_of_us);
  grpc::ServerUnaryReactor* ListCampaigns(grpc::CallbackServerContext* context,
                                          const v1::ListCampaignsRequest* request,
                                          gateway::v1::ListCampaignsResponse* response) override;
  // A campaign's versions (campaign_versions.cpp).
  grpc::ServerUnaryReactor* ListVersions(grpc::CallbackServerContext* context,
                                         const points::v1::ListVersionsRequest* request,
                                         points::v1::ListVersionsResponse* response) override;
  grpc::ServerUnaryReactor* GetVersion(grpc::CallbackServerContext* context,
                                       const points::v1::GetVersionRequest* request,
                                       points::v1::GetVersionResponse* response) override;
  grpc::ServerUnaryReactor* DiffVersions(grpc::CallbackServerContext* context,
                                         const points::v1::DiffVersionsRequest* request,
                                         points::v1::DiffVersionsResponse* response) override;
  grpc::ServerUnaryReactor* PutSegment(grpc::CallbackServerContext* context,
                                       const v1::PutSegmentRequest* request,
                                       gateway::v1::PutSegmentResponse* response) override;
  grpc::ServerUnaryReactor* PreviewSegment(grpc::CallbackServerContext* context,
                                           const v1::PreviewSegmentRequest* request,
                                           gateway::v1::PreviewSegmentResponse* response) override;
  grpc::ServerUnaryReactor* CreateSubscription(
      grpc::CallbackServerContext* context, const v1::CreateSubscriptionRequest* request,
      gateway::v1::CreateSubscriptionResponse* response) override;
  grpc::ServerUnaryReactor* ChangeSubscription(
      grpc::CallbackServerContext* context, const v1::ChangeSubscriptionRequest* request,
      gateway::v1::ChangeSubscriptionResponse* response) override;
  grpc::ServerUnaryReactor* ListSubscriptions(
      grpc::CallbackServerContext* context, const v1::ListSubscriptionsRequest* request,
      gateway::v1::ListSubscriptionsResponse* response) override;
  grpc::ServerUnaryReactor* SubscriptionReport(
      grpc::CallbackServerContext* context, const v1::SubscriptionReportRequest* request,
      gateway::v1::SubscriptionReportResponse* response) override;
  grpc::ServerUnaryReactor* AnnounceRenewals(grpc::CallbackServerContext* context,
                                             const v1::AnnounceRenewalsRequest* request,
                                             v1::AnnounceRenewalsResponse* response) override;
  // The renewal job (subscriptions.cpp): renewals whose notice began by `as_of_us`, announced
  // once each; answers how many.
  int64_t AnnounceRenewalsDue(const common::CallContext& call, const std::string& store_id,
                              int64_t as_of_us);
  grpc::ServerUnaryReactor* ExpireCodeClaims(grpc::CallbackServerContext* context,
                                             const v1::ExpireCodeClaimsRequest* request,
                                             v1::ExpireCodeClaimsResponse* response) override;
  // The claim expiry job (codes.cpp): held claims older than code_claim_ttl_seconds at
  // `as_of_us`, of one store or every store ("").
  v1::ExpireCodeClaimsResponse ExpireCodeClaimsDue(const common::CallContext& call,
                                                   const std::string& store_id, int64_t as_of_us);

 private:
  // Discount codes (codes.cpp).
  void CreateCodesOf(const common::CallContext& call, const v1::CreateCodesRequest& request,
                     gateway::v1::CreateDiscountCodesResponse* response);
  // The cart's discount code for a quote (nullopt: none, or the store lacks it): one statement.
  std::optional<CodeState> FindCode(const common::CallContext& call, const std::string& store_id,
                                    const gateway::v1::Cart& cart);
  // Campaigns (campaigns.cpp).
  void RunCampaignOf(const common::CallContext& call, const v1::RunCampaignRequest& request,
                     gateway::v1::RunCampaignResponse* response);
  // A run (or preview) of one version's definition, as of the request's as_of.
  void RunVersion(const common::CallContext& call, const v1::RunCampaignRequest& request,
                  const gateway::v1::CampaignDefinition& definition,
                  gateway::v1::RunCampaignResponse* response);
  // Calls `reach` with each page of the customers the campaign targets at `as_of_us`, each with
  // the period that a second reach of them in would repeat.
  void ForEachAudiencePage(const common::CallContext& call, const std::string& store_id,
                           const gateway::v1::CampaignDefinition& definition, int64_t as_of_us,
                           const std::function<void(const std::vector<CampaignTarget>&)>& reach);
  // The store's time zone (its settings'; UTC when unset) and its date there at `at_us`.
  struct StoreDay {
    std::string time_zone;
    common::LocalDate date;
  };
  StoreDay StoreDayAt(const common::CallContext& call, const std::string& store_id,
                      int64_t at_us);
  // The customers an audience allows (segments.cpp) as of `as_of_us`; nullopt when it sets no
  // filter (everyone).
  std::optional<std::set<std::string>> AudienceMembers(
      const common::CallContext& call, const std::string& store_id,
      const gateway::v1::CampaignAudience& audience, int64_t as_of_us);
  // Reaches the consenting customers of a page not yet reached for their period (with preview,
  // counts them).
  void ReachPage(const common::CallContext& call, const v1::RunCampaignRequest& request,
                 const gateway::v1::CampaignDefinition& definition,
                 const std::vector<CampaignTarget>& targets,
                 gateway::v1::RunCampaignResponse* response);
  // The codes of a page's new sends (their template batch's terms, single-use, each bound to its
  // customer) in two statements; a collision draws them again, onto `sent` and its rows.
  void IssueCampaignCodes(pqxx::transaction_base& tx, const std::string& store_id,
                          const std::string& campaign_id, const gateway::v1::CodeDefinition& terms,
                          std::vector<std::pair<CampaignTarget, std::string>>& sent);
  // Whether a quoted cart renews a subscription (subscriptions.cpp): false when it names none;
  // one statement and CheckRenewal's refusal otherwise.
  bool QuoteRenews(const common::CallContext& call, const std::string& store_id,
                   const gateway::v1::Cart& cart);
  // Abandoned carts (cart_recovery.cpp): records a known customer's quoted cart when the store's
  // cart recovery is on (one statement; nothing otherwise).
  void RecordCart(const common::CallContext& call, const v1::Store& store,
                  const gateway::v1::Cart& cart, const points::v1::Settings& settings);
  // A single-use code for one customer, copying a batch's definition, in the caller's
  // transaction: its own batch `batch_id` (issued there before: that code), the text `preset`
  // when given. "" when the store has no batch `template_batch`.
  std::string IssueCode(pqxx::transaction_base& tx, const std::string& store_id,
                        const std::string& template_batch, const std::string& customer_id,
                        const std::string& batch_id, const std::string& reason,
                        const std::string& preset = "");
  // Takes one use of the cart's code for the checkout of `order_id` under the code's lock, or
  // finds the use an earlier attempt took: NOT_FOUND CODE_NOT_FOUND or FAILED_PRECONDITION with
  // the refusal (CODE_USED_UP, ...) naming cart.discount_code otherwise.
  CodeState ClaimCode(const common::CallContext& call, const std::string& store_id,
                      const std::string& order_id, const gateway::v1::Cart& cart);

  // The store's points settings and rewards catalogue for a quote: kept up to settings_cache_ms.
  std::shared_ptr<const points::v1::GetSettingsResponse> QuoteSettings(
      const common::CallContext& call, const std::string& store_id);
  // The store's points settings and the customer's tier for a checkout: read fresh. When the
  // points service does not answer within settings_wait_ms and the checkout pays no points, the
  // last settings read within settings_max_stale_ms serve instead, without a tier (degraded
  // mode: counted and logged; shipping is then what the threshold says).
  points::v1::GetSettingsResponse CheckoutSettings(const common::CallContext& call,
                                                   const std::string& store_id,
                                                   const std::string& customer_id,
                                                   bool pays_points);
  // Settings and the rewards catalogue (kept for quotes) and, with a customer id, the
  // customer's tier.
  points::v1::GetSettingsResponse ReadSettings(const common::CallContext& call,
                                               const std::string& store_id,
                                               const std::string& customer_id);
  // Throws NOT_FOUND (CUSTOMER_NOT_FOUND) when the store has no such customer.
  void RequireCustomer(const common::CallContext& call, const std::string& store_id,
                       const std::string& customer_id);
  void Place(const common::CallContext& call, const v1::Store& store,
             const gateway::v1::PlaceOrderRequest& request,
             gateway::v1::PlaceOrderResponse* response);
  // Checks the renewal the cart places (CheckRenewal) under the subscription's lock and names
  // it on the checkout's record: FAILED_PRECONDITION RENEWAL_IN_PROGRESS when another live
  // checkout (another order id) is placing it, so a renewal earns its bonus once.
  ClaimedRenewal ClaimRenewal(const common::CallContext& call, const std::string& store_id,
                              const std::string& order_id, const gateway::v1::Cart& cart);
  // The order placed the renewal: recorded once, and the subscription moves on
  // (NextAfterRenewal), in the transaction that records the checkout's outcome.
  void RecordRenewal(pqxx::transaction_base& tx, const std::string& store_id,
                     const ClaimedRenewal& renewal, const std::string& order_id,
                     const orders::v1::PlaceOrderRequest& order);
  // Deletes a checkout record that holds nothing, freeing its order id.
  void ForgetUnheld(const common::CallContext& call, const std::string& store_id,
                    const std::string& order_id);
  // Reserves the points a checkout pays with; the points service answers a retry with the same
  // hold. On a refusal that held nothing, the order id is freed.
  points::v1::Hold Reserve(const common::CallContext& call, const v1::Store& store,
                           const gateway::v1::PlaceOrderRequest& request, const CheckoutRow& row);
  // The order was refused: its id dies (abandon) and the hold goes back (void).
  [[noreturn]] void Refuse(const common::CallContext& call, const v1::Store& store,
                           const gateway::v1::PlaceOrderRequest& request,
                           const points::v1::Hold* hold, const grpc::Status& status);

  common::ServiceHost& host_;
  common::Database& db_;
  CheckoutConfig config_;
  CheckoutStore store_;
  CodeStore codes_;
  CartStore carts_;
  CampaignStore campaigns_;
  SubscriptionStore subscriptions_;
  // Checkout's events (cart.abandoned, campaign.reached, subscription.renewal_due) for the points service, which logs them for the store.
  common::OutboxWriter outbox_;
  common::Idempotency idempotency_;
  // Settings and rewards as read (no tier), kept up to the longer of the two ages above;
  // dropped on publish. Shared: a quote reads them without a copy.
  struct KeptSettings {
    std::shared_ptr<const points::v1::GetSettingsResponse> program;
    std::chrono::steady_clock::time_point read_at;
  };
  common::ExpiringCache<KeptSettings> settings_;
  std::unique_ptr<customers::v1::CustomersService::Stub> customers_;
  std::unique_ptr<orders::v1::OrdersService::Stub> orders_;
  std::unique_ptr<points::v1::PointsService::Stub> points_;
  std::unique_ptr<recommendations::v1::RecommendationsService::Stub> recs_;
};

}  // namespace loyalty::checkout
