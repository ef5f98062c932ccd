// loyalty.gateway.v1.StorefrontService: authenticates the storefront key, takes the store from
// it, and calls the internal services with the caller's deadline.
#pragma once

#include "gateway.hpp"
#include "loyalty/gateway/v1/gateway_service.grpc.pb.h"

namespace loyalty::gateway {

class StorefrontService final : public v1::StorefrontService::CallbackService {
 public:
  explicit StorefrontService(Gateway& gateway) : gw_(gateway), host_(gateway.host()) {}

  grpc::ServerUnaryReactor* RegisterCustomer(grpc::CallbackServerContext* context,
                                             const v1::RegisterCustomerRequest* request,
                                             v1::RegisterCustomerResponse* response) override;
  grpc::ServerUnaryReactor* GetCustomer(grpc::CallbackServerContext* context,
                                        const v1::GetCustomerRequest* request,
                                        v1::GetCustomerResponse* response) override;
  grpc::ServerUnaryReactor* UpdateCustomer(grpc::CallbackServerContext* context,
                                           const v1::UpdateCustomerRequest* request,
                                           v1::UpdateCustomerResponse* response) override;
  grpc::ServerUnaryReactor* GetLoyaltyStatus(grpc::CallbackServerContext* context,
                                             const v1::GetLoyaltyStatusRequest* request,
                                             v1::GetLoyaltyStatusResponse* response) override;
  grpc::ServerUnaryReactor* QuoteCart(grpc::CallbackServerContext* context,
                                      const v1::QuoteCartRequest* request,
                                      v1::QuoteCartResponse* response) override;
  grpc::ServerUnaryReactor* PlaceOrder(grpc::CallbackServerContext* context,
                                       const v1::PlaceOrderRequest* request,
                                       v1::PlaceOrderResponse* response) override;
  grpc::ServerUnaryReactor* FulfillOrder(grpc::CallbackServerContext* context,
                                         const v1::FulfillOrderRequest* request,
                                         v1::FulfillOrderResponse* response) override;
  grpc::ServerUnaryReactor* RefundOrder(grpc::CallbackServerContext* context,
                                        const v1::RefundOrderRequest* request,
                                        v1::RefundOrderResponse* response) override;
  grpc::ServerUnaryReactor* CancelOrder(grpc::CallbackServerContext* context,
                                        const v1::CancelOrderRequest* request,
                                        v1::CancelOrderResponse* response) override;
  grpc::ServerUnaryReactor* RecommendForProduct(grpc::CallbackServerContext* context,
                                                const v1::RecommendForProductRequest* request,
                                                v1::RecommendForProductResponse* response) override;
  grpc::ServerWriteReactor<v1::StreamEventsResponse>* StreamEvents(
      grpc::CallbackServerContext* context, const v1::StreamEventsRequest* request) override;
  grpc::ServerUnaryReactor* RecordAction(grpc::CallbackServerContext* context,
                                         const v1::RecordActionRequest* request,
                                         v1::RecordActionResponse* response) override;
  // Subscriptions, forwarded to checkout (subscription_calls.cpp).
  grpc::ServerUnaryReactor* CreateSubscription(grpc::CallbackServerContext* context,
                                               const v1::CreateSubscriptionRequest* request,
                                               v1::CreateSubscriptionResponse* response) override;
  grpc::ServerUnaryReactor* ChangeSubscription(grpc::CallbackServerContext* context,
                                               const v1::ChangeSubscriptionRequest* request,
                                               v1::ChangeSubscriptionResponse* response) override;
  grpc::ServerUnaryReactor* ListSubscriptions(grpc::CallbackServerContext* context,
                                              const v1::ListSubscriptionsRequest* request,
                                              v1::ListSubscriptionsResponse* response) override;

 private:
  Principal Auth(grpc::CallbackServerContext* context, const common::CallContext& call,
                 const std::string& store_id) {
    return gw_.Authenticate(*context, call.deadline, store_id, Surface::kStorefront, Role::kNone);
  }

  Gateway& gw_;
  common::ServiceHost& host_;
};

}  // namespace loyalty::gateway
