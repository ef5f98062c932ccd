// AdminService's webhook RPCs: endpoints, secrets, attempts and replays (docs/webhooks.md).
// Creating an endpoint or rotating its secret answers a secret, like CreateApiKey: owner only.
// Disabling, enabling and replaying change deliveries only: editor. Lists: viewer.
#include <openssl/rand.h>

#include <array>
#include <set>

#include "admin_service.hpp"
#include "loyalty/common/hex.hpp"
#include "loyalty/common/page_token.hpp"
#include "webhooks/webhook_rules.hpp"

namespace loyalty::gateway {

using common::ApiError;
using common::CallContext;
using common::Validator;

namespace {

// How long a rotated-out secret keeps signing beside the new one.
constexpr int64_t kPreviousSecretSeconds = 24 * 3600;

google::protobuf::Timestamp Micros(int64_t micros) {
  google::protobuf::Timestamp t;
  t.set_seconds(micros / 1000000);
  t.set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
  return t;
}

v1::WebhookEndpoint ToProto(const webhooks::EndpointRow& row) {
  v1::WebhookEndpoint e;
  e.set_endpoint_id(row.endpoint_id);
  e.set_url(row.url);
  for (const auto& t : row.event_types) e.add_event_types(t);
  e.set_enabled(row.enabled);
  e.set_disabled_reason(row.disabled_reason);
  e.set_cursor(row.cursor);
  e.set_pending_attempts(row.attempts);
  *e.mutable_create_time() = Micros(row.created_micros);
  if (row.previous_expires_micros > 0) {
    *e.mutable_previous_secret_expire_time() = Micros(row.previous_expires_micros);
  }
  return e;
}

std::string NewEndpointId() {
  std::array<unsigned char, 8> bytes{};
  RAND_bytes(bytes.data(), static_cast<int>(bytes.size()));
  return "wh_" + common::HexEncode(std::string_view(reinterpret_cast<char*>(bytes.data()), 8));
}

// A cursor as the points service issues them: "<txid>:<event id>", digits only.
bool LooksLikeCursor(const std::string& c) {
  const auto colon = c.find(':');
  return colon != std::string::npos && colon > 0 && colon + 1 < c.size() && colon < 20 &&
         c.size() < 42 && c.find_first_not_of("0123456789:") == std::string::npos &&
         c.find(':', colon + 1) == std::string::npos;
}

webhooks::EndpointRow MustGet(const webhooks::WebhookStore& store, pqxx::transaction_base& tx,
                              const std::string& store_id, const std::string& endpoint_id) {
  auto row = store.Get(tx, store_id, endpoint_id);
  if (!row) {
    throw ApiError(grpc::StatusCode::NOT_FOUND, "WEBHOOK_ENDPOINT_NOT_FOUND",
                   "the store has no such webhook endpoint", {{"endpoint_id", "not found"}});
  }
  return *row;
}

}  // namespace

std::string AdminService::EndOfEventLog(const CallContext& call, const std::string& store_id) {
  points::v1::ListEventsRequest req;
  req.set_store_id(store_id);
  req.set_from_end(true);
  points::v1::ListEventsResponse resp;
  CallOrThrow(call, gw_.points(), &points::v1::PointsService::Stub::ListEvents, req, &resp);
  return resp.next_cursor();
}

grpc::ServerUnaryReactor* AdminService::CreateWebhookEndpoint(
    grpc::CallbackServerContext* context, const v1::CreateWebhookEndpointRequest* request,
    v1::CreateWebhookEndpointResponse* response) {
  return Run(context, "CreateWebhookEndpoint", request, Role::kOwner,
             [=, this](const CallContext& call, const Principal& p) {
               Validator v;
               v.RequireId(request->request_id(), "request_id");
               std::string why;
               v.Check(webhooks::ParseUrl(request->url(), &why).has_value(), "url", why);
               v.Check(request->event_types_size() <= 50, "event_types", "at most 50 types");
               std::set<std::string> seen;
               for (const auto& t : request->event_types()) {
                 v.Check(!t.empty() && t.size() <= 64 &&
                             t.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._") ==
                                 std::string::npos,
                         "event_types", "lower-case types like points.earned");
                 v.Check(seen.insert(t).second, "event_types", "lists " + t + " twice");
               }
               v.ThrowIfInvalid();
               // New endpoints receive what happens after they exist, not the store's history
               // (ReplayWebhooks sends history on purpose).
               const std::string start = EndOfEventLog(call, p.store.store_id);
               webhooks::EndpointRow row;
               row.store_id = p.store.store_id;
               row.endpoint_id = NewEndpointId();
               row.url = request->url();
               row.event_types.assign(request->event_types().begin(), request->event_types().end());
               row.secret = webhooks::NewSecret();
               row.cursor = start;
               bool created = false;
               gw_.db().Write(call.deadline, [&](pqxx::transaction_base& tx) {
                 created = false;
                 response->Clear();
                 if (idempotency_.Begin(tx, p.store.store_id, "CreateWebhookEndpoint",
                                        request->request_id(), *request, response)) {
                   return;  // a replay: the endpoint, never the secret again
                 }
                 webhooks_.Insert(tx, row);
                 *response->mutable_endpoint() =
                     ToProto(MustGet(webhooks_, tx, row.store_id, row.endpoint_id));
                 idempotency_.Finish(tx, p.store.store_id, "CreateWebhookEndpoint",
                                     request->request_id(), *response);
                 created = true;
               });
               if (created) {
                 response->set_secret(row.secret);
                 gw_.Audit(call, p, "CreateWebhookEndpoint", *request, "",
                           ToJson(response->endpoint()));
               }
             });
}

grpc::ServerUnaryReactor* AdminService::ListWebhookEndpoints(
    grpc::CallbackServerContext* context, const v1::ListWebhookEndpointsRequest* request,
    v1::ListWebhookEndpointsResponse* response) {
  return Run(context, "ListWebhookEndpoints", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               const auto rows = gw_.db().Read(call.deadline, [&](pqxx::transaction_base& tx) {
                 return webhooks_.List(tx, p.store.store_id);
               });
               for (const auto& r : rows) *response->add_endpoints() = ToProto(r);
             });
}

grpc::ServerUnaryReactor* AdminService::RotateWebhookSecret(
    grpc::CallbackServerContext* context, const v1::RotateWebhookSecretRequest* request,
    v1::RotateWebhookSecretResponse* response) {
  return Run(context, "RotateWebhookSecret", request, Role::kOwner,
             [=, this](const CallContext& call, const Principal& p) {
               Validator v;
               v.RequireId(request->request_id(), "request_id");
               v.RequireId(request->endpoint_id(), "endpoint_id");
               v.ThrowIfInvalid();
               const std::string secret = webhooks::NewSecret();
               bool rotated = false;
               std::string before;
               gw_.db().Write(call.deadline, [&](pqxx::transaction_base& tx) {
                 rotated = false;
                 response->Clear();
                 if (idempotency_.Begin(tx, p.store.store_id, "RotateWebhookSecret",
                                        request->request_id(), *request, response)) {
                   return;
                 }
                 before = ToJson(ToProto(
                     MustGet(webhooks_, tx, p.store.store_id, request->endpoint_id())));
                 webhooks_.Rotate(tx, p.store.store_id, request->endpoint_id(), secret,
                                  kPreviousSecretSeconds);
                 *response->mutable_endpoint() =
                     ToProto(MustGet(webhooks_, tx, p.store.store_id, request->endpoint_id()));
                 idempotency_.Finish(tx, p.store.store_id, "RotateWebhookSecret",
                                     request->request_id(), *response);
                 rotated = true;
               });
               if (rotated) {
                 response->set_secret(secret);
                 gw_.Audit(call, p, "RotateWebhookSecret", *request, before,
                           ToJson(response->endpoint()));
               }
             });
}

template <class Req, class Resp>
grpc::ServerUnaryReactor* AdminService::SetWebhookEnabled(grpc::CallbackServerContext* context,
                                                          const char* method, const Req* request,
                                                          Resp* response, bool enabled) {
  return Run(context, method, request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               Validator v;
               v.RequireId(request->request_id(), "request_id");
               v.RequireId(request->endpoint_id(), "endpoint_id");
               v.ThrowIfInvalid();
               bool changed = false;
               std::string before;
               gw_.db().Write(call.deadline, [&](pqxx::transaction_base& tx) {
                 changed = false;
                 response->Clear();
                 if (idempotency_.Begin(tx, p.store.store_id, method, request->request_id(),
                                        *request, response)) {
                   return;
                 }
                 const auto row = MustGet(webhooks_, tx, p.store.store_id, request->endpoint_id());
                 before = ToJson(ToProto(row));
                 // Idempotent by nature too: enabling an enabled endpoint changes nothing (it
                 // would otherwise reset a running retry schedule).
                 if (row.enabled != enabled) {
                   webhooks_.SetEnabled(tx, p.store.store_id, request->endpoint_id(), enabled,
                                        enabled ? "" : "disabled by an admin");
                   changed = true;
                 }
                 *response->mutable_endpoint() =
                     ToProto(MustGet(webhooks_, tx, p.store.store_id, request->endpoint_id()));
                 idempotency_.Finish(tx, p.store.store_id, method, request->request_id(),
                                     *response);
               });
               if (changed) {
                 gw_.Audit(call, p, method, *request, before, ToJson(response->endpoint()));
               }
             });
}

grpc::ServerUnaryReactor* AdminService::DisableWebhookEndpoint(
    grpc::CallbackServerContext* context, const v1::DisableWebhookEndpointRequest* request,
    v1::DisableWebhookEndpointResponse* response) {
  return SetWebhookEnabled(context, "DisableWebhookEndpoint", request, response, false);
}

grpc::ServerUnaryReactor* AdminService::EnableWebhookEndpoint(
    grpc::CallbackServerContext* context, const v1::EnableWebhookEndpointRequest* request,
    v1::EnableWebhookEndpointResponse* response) {
  return SetWebhookEnabled(context, "EnableWebhookEndpoint", request, response, true);
}

grpc::ServerUnaryReactor* AdminService::ListWebhookAttempts(
    grpc::CallbackServerContext* context, const v1::ListWebhookAttemptsRequest* request,
    v1::ListWebhookAttemptsResponse* response) {
  return Run(context, "ListWebhookAttempts", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               Validator v;
               v.RequireId(request->endpoint_id(), "endpoint_id");
               v.Check(request->page_size() >= 0 && request->page_size() <= 500, "page_size",
                       "must be 0 to 500");
               int64_t before = 0;
               if (!request->page_token().empty()) {
                 const auto token = common::page_token::ParseInt(request->page_token());
                 if (v.Check(token.has_value() && *token > 0, "page_token", "is not valid")) {
                   before = *token;
                 }
               }
               v.ThrowIfInvalid();
               const int size = request->page_size() > 0 ? request->page_size() : 100;
               const auto rows = gw_.db().Read(call.deadline, [&](pqxx::transaction_base& tx) {
                 bool known = false;
                 for (const auto& e : webhooks_.List(tx, p.store.store_id)) {
                   known = known || e.endpoint_id == request->endpoint_id();
                 }
                 if (!known) {
                   throw ApiError(grpc::StatusCode::NOT_FOUND, "WEBHOOK_ENDPOINT_NOT_FOUND",
                                  "the store has no such webhook endpoint",
                                  {{"endpoint_id", "not found"}});
                 }
                 return webhooks_.Attempts(tx, p.store.store_id, request->endpoint_id(), before,
                                           size + 1);
               });
               for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(size); ++i) {
                 const auto& r = rows[i];
                 auto* a = response->add_attempts();
                 a->set_attempt_id(r.attempt_id);
                 a->set_endpoint_id(r.endpoint_id);
                 a->set_webhook_id(r.webhook_id);
                 a->set_event_cursor(r.event_cursor);
                 a->set_event_type(r.event_type);
                 a->set_attempt(r.attempt);
                 a->set_status(r.status);
                 a->set_response_code(r.response_code);
                 a->set_latency_ms(r.latency_ms);
                 a->set_error(r.error);
                 *a->mutable_create_time() = Micros(r.created_micros);
               }
               if (rows.size() > static_cast<size_t>(size)) {
                 response->set_next_page_token(
                     std::to_string(rows[static_cast<size_t>(size) - 1].attempt_id));
               }
             });
}

grpc::ServerUnaryReactor* AdminService::ReplayWebhooks(grpc::CallbackServerContext* context,
                                                       const v1::ReplayWebhooksRequest* request,
                                                       v1::ReplayWebhooksResponse* response) {
  return Run(context, "ReplayWebhooks", request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               Validator v;
               v.RequireId(request->request_id(), "request_id");
               v.RequireId(request->endpoint_id(), "endpoint_id");
               v.Check(request->after().empty() || LooksLikeCursor(request->after()), "after",
                       "an event cursor such as an attempt's event_cursor, or empty");
               v.ThrowIfInvalid();
               bool replayed = false;
               std::string before;
               gw_.db().Write(call.deadline, [&](pqxx::transaction_base& tx) {
                 replayed = false;
                 response->Clear();
                 if (idempotency_.Begin(tx, p.store.store_id, "ReplayWebhooks",
                                        request->request_id(), *request, response)) {
                   return;
                 }
                 before = ToJson(ToProto(
                     MustGet(webhooks_, tx, p.store.store_id, request->endpoint_id())));
                 webhooks_.Replay(tx, p.store.store_id, request->endpoint_id(), request->after());
                 *response->mutable_endpoint() =
                     ToProto(MustGet(webhooks_, tx, p.store.store_id, request->endpoint_id()));
                 idempotency_.Finish(tx, p.store.store_id, "ReplayWebhooks",
                                     request->request_id(), *response);
                 replayed = true;
               });
               if (replayed) {
                 gw_.Audit(call, p, "ReplayWebhooks", *request, before,
                           ToJson(response->endpoint()));
               }
             });
}

}  // namespace loyalty::gateway
