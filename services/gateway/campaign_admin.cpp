// AdminService's campaign and segment calls, forwarded to the checkout service (campaigns.cpp,
// segments.cpp) for the caller's store, with the caller's key id as the author; the writes and
// runs are audited.
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

grpc::ServerUnaryReactor* AdminService::ListCampaigns(grpc::CallbackServerContext* context,
                                                      const v1::ListCampaignsRequest* request,
                                                      v1::ListCampaignsResponse* response) {
  return Run(context, "ListCampaigns", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               checkout::v1::ListCampaignsRequest req;
               *req.mutable_store() = CheckoutStoreOf(p);
               CallOrThrow(call, gw_.checkout(), &CheckoutStub::ListCampaigns, req, response);
             });
}

grpc::ServerUnaryReactor* AdminService::PutSegment(grpc::CallbackServerContext* context,
                                                   const v1::PutSegmentRequest* request,
                                                   v1::PutSegmentResponse* response) {
  return Run(context, "PutSegment", request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               checkout::v1::PutSegmentRequest req;
               *req.mutable_store() = CheckoutStoreOf(p);
               *req.mutable_put() = *request;
               req.set_author(p.key_id);
               CallOrThrow(call, gw_.checkout(), &CheckoutStub::PutSegment, req, response);
               gw_.Audit(call, p, "PutSegment", *request, "", ToJson(*response));
             });
}

grpc::ServerUnaryReactor* AdminService::PreviewSegment(grpc::CallbackServerContext* context,
                                                       const v1::PreviewSegmentRequest* request,
                                                       v1::PreviewSegmentResponse* response) {
  return Run(context, "PreviewSegment", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               checkout::v1::PreviewSegmentRequest req;
               *req.mutable_store() = CheckoutStoreOf(p);
               *req.mutable_preview() = *request;
               CallOrThrow(call, gw_.checkout(), &CheckoutStub::PreviewSegment, req, response);
             });
}

}  // namespace loyalty::gateway
