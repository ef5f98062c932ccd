// AdminService's rewards catalogue calls, forwarded to the points service (program/rewards.*)
// for the caller's store, with the caller's key id as the author, and audited.
#include "admin_service.hpp"

namespace loyalty::gateway {

using common::CallContext;
using PointsStub = points::v1::PointsService::Stub;

namespace {

// The points request of an admin's create or update: the same fields, for the caller's store.
template <class PointsRequest, class AdminRequest>
PointsRequest ForStore(const AdminRequest& request, const Principal& p) {
  PointsRequest req;
  req.set_store_id(p.store.store_id);
  req.set_request_id(request.request_id());
  req.set_reward_id(request.reward_id());
  *req.mutable_definition() = request.definition();
  req.set_author(p.key_id);
  req.set_reason(request.reason());
  return req;
}

}  // namespace

grpc::ServerUnaryReactor* AdminService::CreateReward(grpc::CallbackServerContext* context,
                                                     const v1::CreateRewardRequest* request,
                                                     v1::CreateRewardResponse* response) {
  return Run(context, "CreateReward", request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               const auto req = ForStore<points::v1::CreateRewardRequest>(*request, p);
               points::v1::CreateRewardResponse resp;
               CallOrThrow(call, gw_.points(), &PointsStub::CreateReward, req, &resp);
               *response->mutable_reward() = resp.reward();
               gw_.Audit(call, p, "CreateReward", *request, "", ToJson(resp.reward()));
             });
}

grpc::ServerUnaryReactor* AdminService::UpdateReward(grpc::CallbackServerContext* context,
                                                     const v1::UpdateRewardRequest* request,
                                                     v1::UpdateRewardResponse* response) {
  return Run(context, "UpdateReward", request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               const auto req = ForStore<points::v1::UpdateRewardRequest>(*request, p);
               points::v1::UpdateRewardResponse resp;
               CallOrThrow(call, gw_.points(), &PointsStub::UpdateReward, req, &resp);
               *response->mutable_reward() = resp.reward();
               gw_.Audit(call, p, "UpdateReward", *request, "", ToJson(resp.reward()));
             });
}

grpc::ServerUnaryReactor* AdminService::DryRunReward(grpc::CallbackServerContext* context,
                                                     const v1::DryRunRewardRequest* request,
                                                     v1::DryRunRewardResponse* response) {
  return Run(context, "DryRunReward", request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               points::v1::DryRunRewardRequest req;
               req.set_store_id(p.store.store_id);
               req.set_reward_id(request->reward_id());
               *req.mutable_draft() = request->draft();
               if (request->has_from()) *req.mutable_from() = request->from();
               if (request->has_to()) *req.mutable_to() = request->to();
               points::v1::DryRunRewardResponse resp;
               CallOrThrow(call, gw_.points(), &PointsStub::DryRunReward, req, &resp);
               *response->mutable_report() = resp.report();
             });
}

grpc::ServerUnaryReactor* AdminService::ListRewards(grpc::CallbackServerContext* context,
                                                    const v1::ListRewardsRequest* request,
                                                    v1::ListRewardsResponse* response) {
  return Run(context, "ListRewards", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               points::v1::ListRewardsRequest req;
               req.set_store_id(p.store.store_id);
               req.set_reward_id(request->reward_id());
               points::v1::ListRewardsResponse resp;
               CallOrThrow(call, gw_.points(), &PointsStub::ListRewards, req, &resp);
               *response->mutable_rewards() = resp.rewards();
               *response->mutable_versions() = resp.versions();
             });
}

}  // namespace loyalty::gateway
