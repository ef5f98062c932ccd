// CheckoutService's campaign versions (docs/dry-run.md, "Versions"): ListVersions, GetVersion and
// DiffVersions of one campaign, answered through common/versions.hpp exactly as the points
// service answers those of the settings, earn rules, tiers and rewards (the gateway sends kind
// CAMPAIGN here and the other kinds there).
#include "checkout_service.hpp"
#include "loyalty/common/versions.hpp"

namespace loyalty::checkout {

using common::CallContext;
using common::Validator;
using points::v1::VERSIONED_KIND_CAMPAIGN;

namespace {

std::unique_ptr<google::protobuf::Message> NewDefinition() {
  return std::make_unique<gateway::v1::CampaignDefinition>();
}

template <typename Request>
void CheckTarget(Validator& v, const Request& request) {
  common::CheckVersionTarget(v, request, {VERSIONED_KIND_CAMPAIGN});
}

}  // namespace

grpc::ServerUnaryReactor* CheckoutService::ListVersions(
    grpc::CallbackServerContext* context, const points::v1::ListVersionsRequest* request,
    points::v1::ListVersionsResponse* response) {
  return host_.Serve(context, "ListVersions", request->store_id(), [=, this](
                                                                       const CallContext& call) {
    Validator v;
    CheckTarget(v, *request);
    const auto page = common::CheckVersionPage(v, request->page_size(), request->page_token());
    v.ThrowIfInvalid();
    const auto rows = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return campaigns_.ListVersions(tx, request->store_id(), request->campaign_id(), page.before,
                                     page.size + 1);
    });
    common::AnswerList(rows, page, NewDefinition, response);
  });
}

grpc::ServerUnaryReactor* CheckoutService::GetVersion(
    grpc::CallbackServerContext* context, const points::v1::GetVersionRequest* request,
    points::v1::GetVersionResponse* response) {
  return host_.Serve(context, "GetVersion", request->store_id(), [=, this](
                                                                     const CallContext& call) {
    Validator v;
    CheckTarget(v, *request);
    v.Check(request->version() > 0, "version", "must be positive");
    v.ThrowIfInvalid();
    const auto rows = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return campaigns_.Versions(tx, request->store_id(), request->campaign_id(),
                                 request->version(), request->version());
    });
    common::AnswerGet(rows, request->version(), NewDefinition, response);
  });
}

grpc::ServerUnaryReactor* CheckoutService::DiffVersions(
    grpc::CallbackServerContext* context, const points::v1::DiffVersionsRequest* request,
    points::v1::DiffVersionsResponse* response) {
  return host_.Serve(context, "DiffVersions", request->store_id(), [=, this](
                                                                       const CallContext& call) {
    Validator v;
    CheckTarget(v, *request);
    common::CheckDiffVersions(v, *request);
    v.ThrowIfInvalid();
    const auto rows = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return campaigns_.Versions(tx, request->store_id(), request->campaign_id(),
                                 request->from_version(), request->to_version());
    });
    common::AnswerDiff(rows, *request, NewDefinition, response);
  });
}

}  // namespace loyalty::checkout
