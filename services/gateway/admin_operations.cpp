// AdminService's operations, for the operator role: the dead letters of a service that relays
// events (its loyalty.ops.v1.OperatorService), and the points service's VerifyLedger and jobs,
// so that nobody needs the internal token or a hand-written client. Always for the caller's
// store; decisions are written to the audit log with the caller's key id.
#include "admin_service.hpp"

namespace loyalty::gateway {

using common::CallContext;

namespace {

using OpsStub = ops::v1::OperatorService::Stub;

// Retry and discard: the same request forwarded with the store and the caller, the letter
// answered and audited.
template <class Request, class OpsRequest, class OpsResponse>
ops::v1::DeadLetter Decide(Gateway& gw, const CallContext& call, const Principal& p,
                           const char* method, const Request& request,
                           grpc::Status (OpsStub::*rpc)(grpc::ClientContext*, const OpsRequest&,
                                                        OpsResponse*)) {
  auto& stub = gw.operations(request.service());
  OpsRequest req;
  req.set_store_id(p.store.store_id);
  req.set_request_id(request.request_id());
  req.set_event_id(request.event_id());
  req.set_subscriber(request.subscriber());
  req.set_actor(p.key_id);
  req.set_reason(request.reason());
  OpsResponse resp;
  CallOrThrow(call, stub, rpc, req, &resp, request.service());
  gw.Audit(call, p, method, request, "", ToJson(resp.dead_letter()));
  return resp.dead_letter();
}

}  // namespace

grpc::ServerUnaryReactor* AdminService::ListDeadLetters(grpc::CallbackServerContext* context,
                                                        const v1::ListDeadLettersRequest* request,
                                                        v1::ListDeadLettersResponse* response) {
  return Run(context, "ListDeadLetters", request, Role::kOperator,
             [=, this](const CallContext& call, const Principal& p) {
               auto& stub = gw_.operations(request->service());
               ops::v1::ListDeadLettersRequest req;
               req.set_store_id(p.store.store_id);
               req.set_subscriber(request->subscriber());
               req.set_include_resolved(request->include_resolved());
               req.set_page_size(request->page_size());
               req.set_page_token(request->page_token());
               ops::v1::ListDeadLettersResponse resp;
               CallOrThrow(call, stub, &OpsStub::ListDeadLetters, req, &resp, request->service());
               *response->mutable_dead_letters() = resp.dead_letters();
               response->set_next_page_token(resp.next_page_token());
             });
}

grpc::ServerUnaryReactor* AdminService::RetryDeadLetter(grpc::CallbackServerContext* context,
                                                        const v1::RetryDeadLetterRequest* request,
                                                        v1::RetryDeadLetterResponse* response) {
  return Run(context, "RetryDeadLetter", request, Role::kOperator,
             [=, this](const CallContext& call, const Principal& p) {
               *response->mutable_dead_letter() =
                   Decide(gw_, call, p, "RetryDeadLetter", *request, &OpsStub::RetryDeadLetter);
             });
}

grpc::ServerUnaryReactor* AdminService::DiscardDeadLetter(
    grpc::CallbackServerContext* context, const v1::DiscardDeadLetterRequest* request,
    v1::DiscardDeadLetterResponse* response) {
  return Run(context, "DiscardDeadLetter", request, Role::kOperator,
             [=, this](const CallContext& call, const Principal& p) {
               *response->mutable_dead_letter() = Decide(gw_, call, p, "DiscardDeadLetter",
                                                         *request, &OpsStub::DiscardDeadLetter);
             });
}

grpc::ServerUnaryReactor* AdminService::VerifyLedger(grpc::CallbackServerContext* context,
                                                     const v1::VerifyLedgerRequest* request,
                                                     v1::VerifyLedgerResponse* response) {
  return Run(context, "VerifyLedger", request, Role::kOperator,
             [=, this](const CallContext& call, const Principal& p) {
               points::v1::VerifyLedgerRequest req;
               req.set_store_id(p.store.store_id);
               CallOrThrow(call, gw_.points(), &points::v1::PointsService::Stub::VerifyLedger, req,
                           response->mutable_result());
             });
}

grpc::ServerUnaryReactor* AdminService::RunJob(grpc::CallbackServerContext* context,
                                               const v1::RunJobRequest* request,
                                               v1::RunJobResponse* response) {
  return Run(context, "RunJob", request, Role::kOperator,
             [=, this](const CallContext& call, const Principal& p) {
               using Stub = points::v1::PointsService::Stub;
               grpc::Status (Stub::*job)(grpc::ClientContext*, const points::v1::RunJobRequest&,
                                         points::v1::RunJobResponse*) = nullptr;
               switch (request->job()) {
                 case v1::JOB_RELEASE: job = &Stub::RunReleaseJob; break;
                 case v1::JOB_EXPIRY: job = &Stub::RunExpiryJob; break;
                 case v1::JOB_HOLD_EXPIRY: job = &Stub::RunHoldExpiryJob; break;
                 case v1::JOB_BIRTHDAYS: job = &Stub::RunBirthdayJob; break;
                 case v1::JOB_FIRST_ORDERS: job = &Stub::RunFirstOrderJob; break;
                 case v1::JOB_TIER_REVIEW: job = &Stub::RunTierJob; break;
                 default:
                   throw common::InvalidField("job",
                                              "release, expiry, hold_expiry, birthdays, "
                                              "first_orders or tier_review");
               }
               points::v1::RunJobRequest req;
               req.set_store_id(p.store.store_id);
               if (request->has_as_of()) *req.mutable_as_of() = request->as_of();
               points::v1::RunJobResponse resp;
               CallOrThrow(call, gw_.points(), job, req, &resp);
               response->set_processed(resp.processed());
               gw_.Audit(call, p, "RunJob", *request, "", ToJson(*response));
             });
}

}  // namespace loyalty::gateway
