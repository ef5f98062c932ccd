// AdminService's versions (docs/dry-run.md, "Versions"; viewer): ListVersions, GetVersion and
// DiffVersions, forwarded for the caller's store to the service that keeps the kind: checkout
// for campaigns, points for the settings, earn rules, tiers and rewards. Both answer through
// common/versions.hpp, so the answers are alike.
#include "admin_service.hpp"

namespace loyalty::gateway {

using common::CallContext;
using CheckoutStub = checkout::v1::CheckoutService::Stub;
using PointsStub = points::v1::PointsService::Stub;

namespace {

// The admin's request as the points request of the same name, for the caller's store.
template <typename Internal, typename Public>
Internal ForStore(const Public& request, const Principal& p) {
  Internal out;
  out.set_store_id(p.store.store_id);
  out.set_kind(request.kind());
  out.set_reward_id(request.reward_id());
  out.set_campaign_id(request.campaign_id());
  return out;
}

bool KeptByCheckout(points::v1::VersionedKind kind) {
  return kind == points::v1::VERSIONED_KIND_CAMPAIGN;
}

}  // namespace

grpc::ServerUnaryReactor* AdminService::ListVersions(grpc::CallbackServerContext* context,
                                                     const v1::ListVersionsRequest* request,
                                                     v1::ListVersionsResponse* response) {
  return Run(context, "ListVersions", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               auto req = ForStore<points::v1::ListVersionsRequest>(*request, p);
               req.set_page_size(request->page_size());
               req.set_page_token(request->page_token());
               points::v1::ListVersionsResponse resp;
               if (KeptByCheckout(req.kind())) {
                 CallOrThrow(call, gw_.checkout(), &CheckoutStub::ListVersions, req, &resp);
               } else {
                 CallOrThrow(call, gw_.points(), &PointsStub::ListVersions, req, &resp);
               }
               *response->mutable_versions() = std::move(*resp.mutable_versions());
               response->set_next_page_token(resp.next_page_token());
             });
}

grpc::ServerUnaryReactor* AdminService::GetVersion(grpc::CallbackServerContext* context,
                                                   const v1::GetVersionRequest* request,
                                                   v1::GetVersionResponse* response) {
  return Run(context, "GetVersion", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               auto req = ForStore<points::v1::GetVersionRequest>(*request, p);
               req.set_version(request->version());
               points::v1::GetVersionResponse resp;
               if (KeptByCheckout(req.kind())) {
                 CallOrThrow(call, gw_.checkout(), &CheckoutStub::GetVersion, req, &resp);
               } else {
                 CallOrThrow(call, gw_.points(), &PointsStub::GetVersion, req, &resp);
               }
               *response->mutable_version() = std::move(*resp.mutable_version());
             });
}

grpc::ServerUnaryReactor* AdminService::DiffVersions(grpc::CallbackServerContext* context,
                                                     const v1::DiffVersionsRequest* request,
                                                     v1::DiffVersionsResponse* response) {
  return Run(context, "DiffVersions", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               auto req = ForStore<points::v1::DiffVersionsRequest>(*request, p);
               req.set_from_version(request->from_version());
               req.set_to_version(request->to_version());
               points::v1::DiffVersionsResponse resp;
               if (KeptByCheckout(req.kind())) {
                 CallOrThrow(call, gw_.checkout(), &CheckoutStub::DiffVersions, req, &resp);
               } else {
                 CallOrThrow(call, gw_.points(), &PointsStub::DiffVersions, req, &resp);
               }
               *response->mutable_from() = std::move(*resp.mutable_from());
               *response->mutable_to() = std::move(*resp.mutable_to());
               *response->mutable_changes() = std::move(*resp.mutable_changes());
             });
}

}  // namespace loyalty::gateway
