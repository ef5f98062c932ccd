// AdminService's discount code calls, forwarded to the checkout service (codes.cpp) for the
// caller's store, with the caller's key id as the author; creates are audited.
#include "admin_service.hpp"

namespace loyalty::gateway {

using common::CallContext;
using CheckoutStub = checkout::v1::CheckoutService::Stub;

grpc::ServerUnaryReactor* AdminService::CreateDiscountCodes(
    grpc::CallbackServerContext* context, const v1::CreateDiscountCodesRequest* request,
    v1::CreateDiscountCodesResponse* response) {
  return Run(context, "CreateDiscountCodes", request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               checkout::v1::CreateCodesRequest req;
               *req.mutable_store() = CheckoutStoreOf(p);
               *req.mutable_create() = *request;
               req.set_author(p.key_id);
               CallOrThrow(call, gw_.checkout(), &CheckoutStub::CreateCodes, req, response);
               gw_.Audit(call, p, "CreateDiscountCodes", *request, "", ToJson(*response));
             });
}

grpc::ServerUnaryReactor* AdminService::ListDiscountCodes(
    grpc::CallbackServerContext* context, const v1::ListDiscountCodesRequest* request,
    v1::ListDiscountCodesResponse* response) {
  return Run(context, "ListDiscountCodes", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               checkout::v1::ListCodesRequest req;
               *req.mutable_store() = CheckoutStoreOf(p);
               *req.mutable_list() = *request;
               CallOrThrow(call, gw_.checkout(), &CheckoutStub::ListCodes, req, response);
             });
}

}  // namespace loyalty::gateway
