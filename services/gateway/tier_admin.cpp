// AdminService's tier calls, forwarded to the points service (program/tiers.*) for the caller's
// store, with the caller's key id as the author or actor, and audited (the dry run writes
// nothing and is not).
#include "admin_service.hpp"

namespace loyalty::gateway {

using common::CallContext;
using PointsStub = points::v1::PointsService::Stub;

grpc::ServerUnaryReactor* AdminService::PublishTiers(grpc::CallbackServerContext* context,
                                                     const v1::PublishTiersRequest* request,
                                                     v1::PublishTiersResponse* response) {
  return Run(context, "PublishTiers", request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               points::v1::PublishTiersRequest req;
               req.set_store_id(p.store.store_id);
               req.set_request_id(request->request_id());
               if (request->has_effective_from()) {
                 *req.mutable_effective_from() = request->effective_from();
               }
               *req.mutable_program() = request->program();
               req.set_author(p.key_id);
               req.set_reason(request->reason());
               points::v1::PublishTiersResponse resp;
               CallOrThrow(call, gw_.points(), &PointsStub::PublishTiers, req, &resp);
               *response->mutable_version() = resp.version();
               gw_.Audit(call, p, "PublishTiers", *request, "", ToJson(resp.version()));
             });
}

grpc::ServerUnaryReactor* AdminService::DryRunTiers(grpc::CallbackServerContext* context,
                                                    const v1::DryRunTiersRequest* request,
                                                    v1::DryRunTiersResponse* response) {
  return Run(context, "DryRunTiers", request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               points::v1::DryRunTiersRequest req;
               req.set_store_id(p.store.store_id);
               *req.mutable_draft() = request->draft();
               if (request->has_as_of()) *req.mutable_as_of() = request->as_of();
               points::v1::DryRunTiersResponse resp;
               CallOrThrow(call, gw_.points(), &PointsStub::DryRunTiers, req, &resp);
               *response->mutable_report() = resp.report();
             });
}

grpc::ServerUnaryReactor* AdminService::ListTierVersions(grpc::CallbackServerContext* context,
                                                         const v1::ListTierVersionsRequest* request,
                                                         v1::ListTierVersionsResponse* response) {
  return Run(context, "ListTierVersions", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               points::v1::ListTierVersionsRequest req;
               req.set_store_id(p.store.store_id);
               points::v1::ListTierVersionsResponse resp;
               CallOrThrow(call, gw_.points(), &PointsStub::ListTierVersions, req, &resp);
               *response->mutable_versions() = resp.versions();
             });
}

grpc::ServerUnaryReactor* AdminService::SetManualTier(grpc::CallbackServerContext* context,
                                                      const v1::SetManualTierRequest* request,
                                                      v1::SetManualTierResponse* response) {
  return Run(context, "SetManualTier", request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               RequireOwnCustomer(call, p, request->customer_id());
               points::v1::SetManualTierRequest req;
               req.set_store_id(p.store.store_id);
               req.set_request_id(request->request_id());
               req.set_customer_id(request->customer_id());
               req.set_tier_id(request->tier_id());
               if (request->has_until()) *req.mutable_until() = request->until();
               req.set_actor(p.key_id);
               req.set_reason(request->reason());
               points::v1::SetManualTierResponse resp;
               CallOrThrow(call, gw_.points(), &PointsStub::SetManualTier, req, &resp);
               *response->mutable_status() = resp.status();
               gw_.Audit(call, p, "SetManualTier", *request, "", ToJson(resp.status()));
             });
}

}  // namespace loyalty::gateway
