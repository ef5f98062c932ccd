// The subscription calls (docs/subscriptions.md), forwarded to the checkout service
// (subscriptions.cpp) for the caller's store: the storefront's create, change and list, and the
// admin's report. No rule lives here.
#include "admin_service.hpp"
#include "storefront_service.hpp"

namespace loyalty::gateway {

using common::CallContext;
using CheckoutStub = checkout::v1::CheckoutService::Stub;

grpc::ServerUnaryReactor* StorefrontService::CreateSubscription(
    grpc::CallbackServerContext* context, const v1::CreateSubscriptionRequest* request,
    v1::CreateSubscriptionResponse* response) {
  return host_.Serve(context, "CreateSubscription", request->store_id(),
                     [=, this](CallContext& call) {
                       const auto p = Auth(context, call, request->store_id());
                       checkout::v1::CreateSubscriptionRequest req;
                       *req.mutable_store() = CheckoutStoreOf(p);
                       *req.mutable_create() = *request;
                       CallOrThrow(call, gw_.checkout(), &CheckoutStub::CreateSubscription, req,
                                   response);
                     });
}

grpc::ServerUnaryReactor* StorefrontService::ChangeSubscription(
    grpc::CallbackServerContext* context, const v1::ChangeSubscriptionRequest* request,
    v1::ChangeSubscriptionResponse* response) {
  return host_.Serve(context, "ChangeSubscription", request->store_id(),
                     [=, this](CallContext& call) {
                       const auto p = Auth(context, call, request->store_id());
                       checkout::v1::ChangeSubscriptionRequest req;
                       *req.mutable_store() = CheckoutStoreOf(p);
                       *req.mutable_change() = *request;
                       CallOrThrow(call, gw_.checkout(), &CheckoutStub::ChangeSubscription, req,
                                   response);
                     });
}

grpc::ServerUnaryReactor* StorefrontService::ListSubscriptions(
    grpc::CallbackServerContext* context, const v1::ListSubscriptionsRequest* request,
    v1::ListSubscriptionsResponse* response) {
  return host_.Serve(context, "ListSubscriptions", request->store_id(),
                     [=, this](CallContext& call) {
                       const auto p = Auth(context, call, request->store_id());
                       checkout::v1::ListSubscriptionsRequest req;
                       *req.mutable_store() = CheckoutStoreOf(p);
                       *req.mutable_list() = *request;
                       CallOrThrow(call, gw_.checkout(), &CheckoutStub::ListSubscriptions, req,
                                   response);
                     });
}

grpc::ServerUnaryReactor* AdminService::SubscriptionReport(
    grpc::CallbackServerContext* context, const v1::SubscriptionReportRequest* request,
    v1::SubscriptionReportResponse* response) {
  return Run(context, "SubscriptionReport", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               checkout::v1::SubscriptionReportRequest req;
               *req.mutable_store() = CheckoutStoreOf(p);
               *req.mutable_report() = *request;
               CallOrThrow(call, gw_.checkout(), &CheckoutStub::SubscriptionReport, req,
                           response);
             });
}

}  // namespace loyalty::gateway
