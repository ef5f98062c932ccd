// AdminService's campaign calls, forwarded to the checkout service (campaigns.cpp) for the
// caller's store, with the caller's key id as the author; both are audited.
#include "admin_service.hpp"

namespace loyalty::gateway {

using common::CallContext;
using CheckoutStub = checkout::v1::CheckoutService::Stub;

grpc::ServerUnaryReactor* AdminService::PutCampaign(grpc::CallbackServerContext* context,
                                                    const v1::PutCampaignRequest* request,
                                                    v1::PutCampaignResponse* response) {
  return Run(context, "PutCampaign", request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               checkout::v1::PutCampaignRequest req;
               *req.mutable_store() = CheckoutStoreOf(p);
               *req.mutable_put() = *request;
               req.set_author(p.key_id);
               CallOrThrow(call, gw_.checkout(), &CheckoutStub::PutCampaign, req, response);
               gw_.Audit(call, p, "PutCampaign", *request, "", ToJson(*response));
             });
}

grpc::ServerUnaryReactor* AdminService::RunCampaign(grpc::CallbackServerContext* context,
                                                    const v1::RunCampaignRequest* request,
                                                    v1::RunCampaignResponse* response) {
  return Run(context, "RunCampaign", request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               checkout::v1::RunCampaignRequest req;
               *req.mutable_store() = CheckoutStoreOf(p);
               *req.mutable_run() = *request;
               CallOrThrow(call, gw_.checkout(), &CheckoutStub::RunCampaign, req, response);
               if (!request->preview()) {
                 gw_.Audit(call, p, "RunCampaign", *request, "", ToJson(*response));
               }
             });
}

}  // namespace loyalty::gateway
