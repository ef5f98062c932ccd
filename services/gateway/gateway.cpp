#include "gateway.hpp"

#include <google/protobuf/util/json_util.h>

#include "loyalty/common/errors.hpp"
#include "loyalty/common/listen.hpp"
#include "loyalty/common/proto_diff.hpp"

namespace loyalty::gateway {

using common::ApiError;

namespace {

ApiError Unauthenticated(const std::string& reason, const std::string& message) {
  return ApiError(grpc::StatusCode::UNAUTHENTICATED, reason, message);
}

ApiError Denied(const std::string& reason, const std::string& message) {
  return ApiError(grpc::StatusCode::PERMISSION_DENIED, reason, message);
}

std::string AuthorizationHeader(const grpc::ServerContextBase& context) {
  const auto& md = context.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

std::string ToJson(const google::protobuf::Message& message) {
  return common::MessageJson(message);
}

std::string ApiJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

Gateway::Gateway(common::ServiceHost& host, GatewayConfig config)
    : host_(host),
      config_(std::move(config)),
      store_(host.db()),
      keys_(std::chrono::milliseconds(config_.key_cache_ms)),
      settings_(std::chrono::milliseconds(config_.settings_cache_ms)),
      customers_(customers::v1::CustomersService::NewStub(
          common::InternalChannel(config_.customers_addr, "customers"))),
      orders_(orders::v1::OrdersService::NewStub(common::InternalChannel(config_.orders_addr, "orders"))),
      points_(points::v1::PointsService::NewStub(common::InternalChannel(config_.points_addr, "points"))),
      recs_(recommendations::v1::RecommendationsService::NewStub(
          common::InternalChannel(config_.recommendations_addr, "recommendations"))),
      checkout_(checkout::v1::CheckoutService::NewStub(
          common::InternalChannel(config_.checkout_addr, "checkout"))) {
  operations_["orders"] = ops::v1::OperatorService::NewStub(
      common::InternalChannel(config_.orders_addr, "orders"));
  // Checkout relays cart.abandoned and campaign.reached to points (docs/codes.md).
  operations_["checkout"] = ops::v1::OperatorService::NewStub(
      common::InternalChannel(config_.checkout_addr, "checkout"));
  // Kept settings are dropped as soon as the points service announces a change.
  common::DropOnProgramChange(host, settings_);
}

ops::v1::OperatorService::Stub& Gateway::operations(const std::string& service) {
  const auto it = operations_.find(service);
  if (it != operations_.end()) return *it->second;
  std::string known;
  for (const auto& [name, stub] : operations_) known += (known.empty() ? "" : ", ") + name;
  throw common::InvalidField("service", service.empty()
                                            ? "is required: one of " + known
                                            : "names no service that relays events: one of " +
                                                  known);
}

bool Gateway::IsOperator(const grpc::ServerContextBase& context) const {
  const std::string header = AuthorizationHeader(context);
  return !config_.operator_token.empty() &&
         common::SecretsEqual(header, "Bearer " + config_.operator_token);
}

void Gateway::ForgetKey(const std::string& key_id) { keys_.Erase(key_id); }

points::v1::Settings Gateway::Settings(const common::CallContext& call,
                                       const std::string& store_id) {
  points::v1::GetSettingsRequest request;
  request.set_store_id(store_id);
  points::v1::GetSettingsResponse response;
  CallOrThrow(call, points(), &points::v1::PointsService::Stub::GetSettings, request, &response);
  return response.settings();
}

points::v1::Settings Gateway::PreviewSettings(const common::CallContext& call,
                                              const std::string& store_id) {
  const auto now = std::chrono::steady_clock::now();
  if (auto cached = settings_.Find(store_id, now)) return *cached;
  auto settings = Settings(call, store_id);
  settings_.Put(store_id, settings, now);
  return settings;
}

void Gateway::ForgetSettings(const std::string& store_id) { settings_.Erase(store_id); }

std::vector<KeyRow> Gateway::Grants(const std::string& key_id, const common::Deadline& deadline) {
  const auto now = std::chrono::steady_clock::now();
  if (auto cached = keys_.Find(key_id, now)) return *cached;
  auto grants = db().Read(deadline, [&](pqxx::transaction_base& tx) {
    return store_.KeyGrants(tx, key_id);
  });
  if (!grants.empty()) keys_.Put(key_id, grants, now);
  return grants;
}

StoreRow Gateway::LoadStore(const std::string& store_id, const common::Deadline& deadline) {
  {
    std::lock_guard lock(mutex_);
    auto it = stores_.find(store_id);
    if (it != stores_.end()) return it->second;
  }
  auto row = db().Read(deadline, [&](pqxx::transaction_base& tx) {
    return store_.GetStore(tx, store_id);
  });
  if (!row) throw ApiError(grpc::StatusCode::NOT_FOUND, "STORE_NOT_FOUND", "no such store");
  std::lock_guard lock(mutex_);
  stores_[store_id] = *row;
  return *row;
}

Principal Gateway::Authenticate(const grpc::ServerContextBase& context,
                                const common::Deadline& deadline,
                                const std::string& requested_store, Surface surface,
                                Role min_role) {
  const std::string header = AuthorizationHeader(context);
  if (header.empty()) {
    throw Unauthenticated("MISSING_KEY", "send `authorization: Bearer <key>`");
  }
  Principal p;
  if (surface == Surface::kAdmin && IsOperator(context)) {
    if (requested_store.empty()) throw common::InvalidField("store_id", "is required for the operator");
    p.key_id = "operator";
    p.is_operator = true;
    p.kind = "admin";
    p.role = Role::kOperator;
    p.store = LoadStore(requested_store, deadline);
    p.store_ids = {requested_store};
    return p;
  }
  const auto parts = ParseBearer(header);
  if (!parts) throw Unauthenticated("INVALID_KEY", "the key is not valid");
  const auto grants = Grants(parts->key_id, deadline);
  if (grants.empty() || !common::SecretsEqual(Sha256Hex(parts->key), grants.front().key_hash)) {
    throw Unauthenticated("INVALID_KEY", "the key is not valid");
  }
  const KeyRow& key = grants.front();
  if (key.revoked) throw Unauthenticated("KEY_REVOKED", "the key was revoked");
  const int rate = key.rate_limit_per_second > 0 ? key.rate_limit_per_second
                                                 : config_.default_rate_limit;
  if (!limiter_.Allow(key.key_id, rate)) {
    throw ApiError(grpc::StatusCode::RESOURCE_EXHAUSTED, "RATE_LIMITED",
                   "too many calls for this key; retry with backoff");
  }
  p.key_id = key.key_id;
  p.kind = key.kind;
  p.role = RoleFromString(key.role);
  for (const auto& g : grants) p.store_ids.push_back(g.store_id);
  if (surface == Surface::kStorefront && key.kind != "storefront") {
    throw Denied("WRONG_KEY_KIND", "StorefrontService needs a storefront key");
  }
  if (surface == Surface::kAdmin && key.kind != "admin") {
    throw Denied("WRONG_KEY_KIND", "AdminService needs an admin key");
  }
  // Empty, or "-" where a route needs a path segment (GET /v1/stores/-): the key's one store.
  std::string store_id = requested_store == "-" ? std::string() : requested_store;
  if (store_id.empty()) {
    if (p.store_ids.size() != 1) {
      throw common::InvalidField("store_id", "is required: the key is granted several stores");
    }
    store_id = p.store_ids.front();
  } else if (std::find(p.store_ids.begin(), p.store_ids.end(), store_id) == p.store_ids.end()) {
    throw Denied("STORE_NOT_GRANTED", "the key is not granted this store");
  }
  if (static_cast<int>(p.role) < static_cast<int>(min_role)) {
    throw Denied("ROLE_TOO_LOW", "the key's role (" + RoleToString(p.role) + ") may not do this");
  }
  p.store = LoadStore(store_id, deadline);
  return p;
}

void Gateway::Audit(const common::CallContext& call, const Principal& who,
                    const std::string& method, const google::protobuf::Message& request,
                    const std::string& before_json, const std::string& after_json) {
  AuditRow row;
  row.actor_key_id = who.key_id;
  row.method = method;
  row.request_json = ToJson(request);
  row.before_json = before_json;
  row.after_json = after_json;
  db().Write(call.deadline, [&](pqxx::transaction_base& tx) {
    store_.InsertAudit(tx, who.store.store_id, row);
  });
}

}  // namespace loyalty::gateway
