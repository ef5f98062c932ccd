// QuoteCart without parking a thread: at most two rounds of parallel downstream calls, each
// continued from the callback of its last answer, so a quote holds a worker only while it
// validates and prices.
// PreviewEarn also answers the shopper's tier (its multiplier in the points, its free shipping
// priced in Answer), so tiers cost no extra call.
//   no points paid (most quotes): points.PreviewEarn with the balance ∥ recommendations
//   points paid: points.GetBalance, then PreviewEarn ∥ recommendations (the nets depend on how
//     many points the balance allows)
// An empty balance is checked against customers (one more call, for new customers only).
// A chosen reward is priced from the kept catalogue before the nets go to PreviewEarn, and
// checked against the tier and balance that come back; the rewards on offer likewise.
// A discount code comes read (the service's one statement): a usable one is priced like any
// order-level discount, a refused one is left out with its reason.
#pragma once

#include <atomic>
#include <memory>
#include <optional>

#include "checkout_rules.hpp"
#include "loyalty/checkout/v1/checkout_service.grpc.pb.h"
#include "loyalty/common/server.hpp"
#include "loyalty/customers/v1/customers_service.grpc.pb.h"
#include "loyalty/points/v1/points_service.grpc.pb.h"
#include "loyalty/recommendations/v1/recommendations_service.grpc.pb.h"

namespace loyalty::checkout {

// NOT_FOUND CUSTOMER_NOT_FOUND naming cart.customer_id.
common::ApiError CustomerNotFound(const std::string& customer_id);

class QuoteFlow : public std::enable_shared_from_this<QuoteFlow> {
 public:
  struct Stubs {
    points::v1::PointsService::Stub& points;
    recommendations::v1::RecommendationsService::Stub& recommendations;
    customers::v1::CustomersService::Stub& customers;
    common::Metrics& metrics;  // counts quotes answered without suggestions
    std::chrono::milliseconds recommendations_timeout;
  };

  // Starts the quote of a validated request; `done` finishes the call. `request` and `response`
  // live until then (gRPC keeps them until the call is finished). `code`: the cart's discount
  // code as read (nullopt when the cart has none or the store lacks it). `renews`: the cart
  // renews a subscription, checked (it earns the renewal bonus on top).
  static void Start(Stubs stubs, const common::CallContext& call,
                    const v1::QuoteCartRequest& request,
                    std::shared_ptr<const points::v1::GetSettingsResponse> program,
                    std::optional<CodeState> code, bool renews,
                    gateway::v1::QuoteCartResponse* response, common::Done done);

 private:
  QuoteFlow(Stubs stubs, const common::CallContext& call, const v1::QuoteCartRequest& request,
            std::shared_ptr<const points::v1::GetSettingsResponse> program,
            gateway::v1::QuoteCartResponse* response, common::Done done);

  const gateway::v1::Cart& cart() const { return request_.quote().cart(); }
  const points::v1::Settings& settings() const { return program_->settings(); }
  void FetchBalance();
  void FetchEarnAndSuggestions(bool with_balance);
  void LegDone();
  void Answer();
  void CheckCustomerThenAnswer();
  void Fill();
  // The rewards on offer to a known customer, and the chosen one.
  void FillRewards();
  // Decides whether the cart's code applies (usable_code_), recording why not in the answer.
  void CheckCode();
  // What the applied code took off.
  void FillCode();

  Stubs stubs_;
  common::CallContext call_;
  const v1::QuoteCartRequest& request_;
  // The store's settings and rewards catalogue (kept by the service, shared).
  const std::shared_ptr<const points::v1::GetSettingsResponse> program_;
  const points::v1::Reward* reward_ = nullptr;  // the chosen reward, in program_
  std::optional<CodeState> code_;                // the cart's discount code, as read
  const CodeState* usable_code_ = nullptr;       // code_ when it applies
  int64_t renewal_bonus_ = 0;                    // a subscription renewal's bonus points
  gateway::v1::QuoteCartResponse* response_;
  common::Done done_;

  Quote quote_;  // priced with available_
  int64_t available_ = 0;
  bool empty_balance_ = false;
  bool with_balance_ = false;
  bool tier_free_shipping_ = false;  // the shopper's tier ships free (from PreviewEarn)
  std::atomic<int> legs_{0};

  std::unique_ptr<grpc::ClientContext> balance_context_;
  points::v1::GetBalanceRequest balance_request_;
  points::v1::GetBalanceResponse balance_response_;
  std::unique_ptr<grpc::ClientContext> earn_context_;
  points::v1::PreviewEarnRequest earn_request_;
  points::v1::PreviewEarnResponse earn_response_;
  grpc::Status earn_status_;
  std::unique_ptr<grpc::ClientContext> recs_context_;
  recommendations::v1::RecommendForCartRequest recs_request_;
  recommendations::v1::RecommendForCartResponse recs_response_;
  grpc::Status recs_status_;
  std::unique_ptr<grpc::ClientContext> customer_context_;
  customers::v1::GetCustomerRequest customer_request_;
  customers::v1::GetCustomerResponse customer_response_;
};

}  // namespace loyalty::checkout
