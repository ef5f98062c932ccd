// loyalty.orders.v1.OrdersService. The checkout and lifecycle RPCs are in orders_service.cpp,
// the analytics RPCs in orders_analytics.cpp; the rules in order_rules, the SQL in order_store
// and analytics_store.
#pragma once

#include <functional>
#include <memory>

#include "analytics_store.hpp"
#include "loyalty/common/events.hpp"
#include "loyalty/common/server.hpp"
#include "loyalty/customers/v1/customers_service.grpc.pb.h"
#include "loyalty/orders/v1/orders_service.grpc.pb.h"
#include "order_store.hpp"

namespace loyalty::orders {

class OrdersService final : public v1::OrdersService::CallbackService {
 public:
  OrdersService(common::ServiceHost& host, std::shared_ptr<grpc::Channel> customers,
                std::vector<std::string> subscribers);

  grpc::ServerUnaryReactor* PlaceOrder(grpc::CallbackServerContext* context,
                                       const v1::PlaceOrderRequest* request,
                                       v1::PlaceOrderResponse* response) override;
  grpc::ServerUnaryReactor* AbandonOrder(grpc::CallbackServerContext* context,
                                         const v1::AbandonOrderRequest* request,
                                         v1::AbandonOrderResponse* response) override;
  grpc::ServerUnaryReactor* FulfillOrder(grpc::CallbackServerContext* context,
                                         const v1::FulfillOrderRequest* request,
                                         v1::FulfillOrderResponse* response) override;
  grpc::ServerUnaryReactor* RefundOrder(grpc::CallbackServerContext* context,
                                        const v1::RefundOrderRequest* request,
                                        v1::RefundOrderResponse* response) override;
  grpc::ServerUnaryReactor* CancelOrder(grpc::CallbackServerContext* context,
                                        const v1::CancelOrderRequest* request,
                                        v1::CancelOrderResponse* response) override;
  grpc::ServerUnaryReactor* GetOrder(grpc::CallbackServerContext* context,
                                     const v1::GetOrderRequest* request,
                                     v1::GetOrderResponse* response) override;
  grpc::ServerUnaryReactor* ListOrders(grpc::CallbackServerContext* context,
                                       const v1::ListOrdersRequest* request,
                                       v1::ListOrdersResponse* response) override;
  grpc::ServerUnaryReactor* ListPlacedOrders(grpc::CallbackServerContext* context,
                                             const v1::ListPlacedOrdersRequest* request,
                                             v1::ListPlacedOrdersResponse* response) override;
  grpc::ServerUnaryReactor* ImportOrders(grpc::CallbackServerContext* context,
                                         const v1::ImportOrdersRequest* request,
                                         v1::ImportOrdersResponse* response) override;

  // Analytics (orders_analytics.cpp).
  grpc::ServerUnaryReactor* RetentionReport(grpc::CallbackServerContext* context,
                                            const v1::RetentionReportRequest* request,
                                            v1::RetentionReportResponse* response) override;
  grpc::ServerUnaryReactor* RepeatCustomerRevenue(grpc::CallbackServerContext* context,
                                                  const v1::RepeatCustomerRevenueRequest* request,
                                                  v1::RepeatCustomerRevenueResponse* response) override;
  grpc::ServerUnaryReactor* RevenueConcentration(grpc::CallbackServerContext* context,
                                                 const v1::RevenueConcentrationRequest* request,
                                                 v1::RevenueConcentrationResponse* response) override;
  grpc::ServerUnaryReactor* TopCustomers(grpc::CallbackServerContext* context,
                                         const v1::TopCustomersRequest* request,
                                         v1::TopCustomersResponse* response) override;
  grpc::ServerUnaryReactor* LapsedCustomers(grpc::CallbackServerContext* context,
                                            const v1::LapsedCustomersRequest* request,
                                            v1::LapsedCustomersResponse* response) override;
  grpc::ServerUnaryReactor* CustomerValue(grpc::CallbackServerContext* context,
                                          const v1::CustomerValueRequest* request,
                                          v1::CustomerValueResponse* response) override;
  grpc::ServerUnaryReactor* SegmentCustomers(grpc::CallbackServerContext* context,
                                             const v1::SegmentCustomersRequest* request,
                                             v1::SegmentCustomersResponse* response) override;
  grpc::ServerUnaryReactor* RfmReport(grpc::CallbackServerContext* context,
                                      const v1::RfmReportRequest* request,
                                      v1::RfmReportResponse* response) override;

 private:
  // placed → `to`, with its event; refused from `refused_from`; a replay answers as is.
  struct Transition {
    std::string to;
    std::string refused_from;
    std::string refused_reason;
    std::string refused_message;
    std::string event_type;
  };
  v1::Order ChangeStatus(
      const common::CallContext& call, const std::string& store_id, const std::string& order_id,
      const Transition& transition,
      const std::function<std::unique_ptr<google::protobuf::Message>(const v1::Order&)>& event);
  void RequireCustomer(const common::CallContext& call, const std::string& store_id,
                       const std::string& customer_id) const;

  common::ServiceHost& host_;
  common::Database& db_;
  OrderStore store_;
  AnalyticsStore analytics_;
  common::OutboxWriter outbox_;
  std::unique_ptr<customers::v1::CustomersService::Stub> customers_;
};

}  // namespace loyalty::orders
