// What both public services share: configuration, the stubs of the five internal services,
// authentication of API keys (with a short cache so revocation takes effect within seconds),
// the per-key rate limit, the store records and the audit log.
#pragma once

#include <google/protobuf/message.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "gateway_rules.hpp"
#include "gateway_store.hpp"
#include "loyalty/checkout/v1/checkout_service.grpc.pb.h"
#include "loyalty/common/server.hpp"
#include "loyalty/customers/v1/customers_service.grpc.pb.h"
#include "loyalty/ops/v1/operator_service.grpc.pb.h"
#include "loyalty/orders/v1/orders_service.grpc.pb.h"
#include "loyalty/points/v1/points_service.grpc.pb.h"
#include "loyalty/recommendations/v1/recommendations_service.grpc.pb.h"

namespace loyalty::gateway {

// Initial metadata StreamEvents sends once it has accepted the call: before the first event, a
// caller (the HTTP front) can tell an open stream from one about to be refused.
inline constexpr const char* kStreamOpenHeader = "x-loyalty-stream-open";

inline constexpr const char* kDefaultOperatorToken = "dev-operator-token";

struct GatewayConfig {
  std::string customers_addr = "127.0.0.1:50052";  // LOYALTY_CUSTOMERS_ADDR
  std::string orders_addr = "127.0.0.1:50053";     // LOYALTY_ORDERS_ADDR
  std::string points_addr = "127.0.0.1:50054";     // LOYALTY_POINTS_ADDR
  std::string recommendations_addr = "127.0.0.1:50055";  // LOYALTY_RECOMMENDATIONS_ADDR
  std::string checkout_addr = "127.0.0.1:50056";         // LOYALTY_CHECKOUT_ADDR
  std::string operator_token = kDefaultOperatorToken;    // LOYALTY_OPERATOR_TOKEN
  int default_rate_limit = 100;       // LOYALTY_GATEWAY_RATE_LIMIT: calls/s per key by default
  int key_cache_ms = 2000;            // LOYALTY_GATEWAY_KEY_CACHE_MS: revocation delay at most
  int settings_cache_ms = 30000;  // LOYALTY_GATEWAY_SETTINGS_CACHE_MS: loyalty status's settings
};

enum class Surface { kStorefront, kAdmin };

// The authenticated caller of one call.
struct Principal {
  std::string key_id;  // "operator" for the operator token
  bool is_operator = false;
  std::string kind;  // storefront | admin
  Role role = Role::kNone;
  std::vector<std::string> store_ids;  // every store the key is granted
  StoreRow store;                      // the store of this call
};

// The store of a call as the checkout service takes it (cart and code calls belong to checkout:
// the gateway adds only the store that the key resolves to).
inline checkout::v1::Store CheckoutStoreOf(const Principal& p) {
  checkout::v1::Store store;
  store.set_store_id(p.store.store_id);
  store.set_currency_code(p.store.currency_code);
  return store;
}

using common::ThrowDownstream;
// Protobuf message as compact JSON with the proto field names (audit log, CLI-facing records).
std::string ToJson(const google::protobuf::Message& message);
// The JSON a store's code reads: the proto3 JSON mapping (lowerCamelCase names, zero values
// printed). HTTP/JSON answers, Server-Sent Events and webhook bodies all use it.
std::string ApiJson(const google::protobuf::Message& message);

class Gateway {
 public:
  Gateway(common::ServiceHost& host, GatewayConfig config);

  common::ServiceHost& host() { return host_; }
  common::Database& db() { return host_.db(); }
  const GatewayStore& store() const { return store_; }
  const GatewayConfig& config() const { return config_; }

  // Authenticates the call's bearer key for `surface` and the requested store (empty: the key's
  // only store), checks the role and the rate limit. Throws UNAUTHENTICATED, PERMISSION_DENIED,
  // RESOURCE_EXHAUSTED or INVALID_ARGUMENT.
  Principal Authenticate(const grpc::ServerContextBase& context, const common::Deadline& deadline,
                         const std::string& requested_store, Surface surface, Role min_role);
  // True when `header` is the operator token.
  bool IsOperator(const grpc::ServerContextBase& context) const;
  void ForgetKey(const std::string& key_id);

  // The store's points settings, read now (admin).
  points::v1::Settings Settings(const common::CallContext& call, const std::string& store_id);
  // The same for loyalty status, kept settings_cache_ms or until points announces a change.
  // ForgetSettings drops the copy at once when this gateway changes them.
  points::v1::Settings PreviewSettings(const common::CallContext& call, const std::string& store_id);
  void ForgetSettings(const std::string& store_id);

  // Records one admin mutation.
  void Audit(const common::CallContext& call, const Principal& who, const std::string& method,
             const google::protobuf::Message& request, const std::string& before_json,
             const std::string& after_json);

  customers::v1::CustomersService::Stub& customers() { return *customers_; }
  orders::v1::OrdersService::Stub& orders() { return *orders_; }
  points::v1::PointsService::Stub& points() { return *points_; }
  recommendations::v1::RecommendationsService::Stub& recommendations() { return *recs_; }
  checkout::v1::CheckoutService::Stub& checkout() { return *checkout_; }
  // The OperatorService of a service that relays events, by name ("orders"); INVALID_ARGUMENT
  // naming `service` otherwise.
  ops::v1::OperatorService::Stub& operations(const std::string& service);

 private:
  std::vector<KeyRow> Grants(const std::string& key_id, const common::Deadline& deadline);
  StoreRow LoadStore(const std::string& store_id, const common::Deadline& deadline);

  common::ServiceHost& host_;
  GatewayConfig config_;
  GatewayStore store_;
  RateLimiter limiter_;
  ExpiringCache<std::vector<KeyRow>> keys_;
  ExpiringCache<points::v1::Settings> settings_;
  std::mutex mutex_;
  std::map<std::string, StoreRow> stores_;  // immutable records
  std::unique_ptr<customers::v1::CustomersService::Stub> customers_;
  std::unique_ptr<orders::v1::OrdersService::Stub> orders_;
  std::unique_ptr<points::v1::PointsService::Stub> points_;
  std::unique_ptr<recommendations::v1::RecommendationsService::Stub> recs_;
  std::unique_ptr<checkout::v1::CheckoutService::Stub> checkout_;
  // Every service that relays an outbox serves OperatorService (common::Publisher).
  std::map<std::string, std::unique_ptr<ops::v1::OperatorService::Stub>> operations_;
};

// The name each downstream service goes by in errors (ErrorInfo reason and metadata) and logs.
inline const char* DownstreamName(const customers::v1::CustomersService::Stub&) { return "customers"; }
inline const char* DownstreamName(const orders::v1::OrdersService::Stub&) { return "orders"; }
inline const char* DownstreamName(const points::v1::PointsService::Stub&) { return "points"; }
inline const char* DownstreamName(const recommendations::v1::RecommendationsService::Stub&) {
  return "recommendations";
}
inline const char* DownstreamName(const checkout::v1::CheckoutService::Stub&) { return "checkout"; }

// Calls a unary downstream method of `service` with the caller's deadline, throwing on failure.
template <class Stub, class Req, class Resp>
void CallOrThrow(const common::CallContext& call, Stub& stub,
                 grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                 const Req& request, Resp* response, const std::string& service) {
  auto context = common::DownstreamContext(call);
  const auto status = (stub.*method)(context.get(), request, response);
  if (!status.ok()) ThrowDownstream(status, service);
}

// The same, for a stub whose type names its service.
template <class Stub, class Req, class Resp>
void CallOrThrow(const common::CallContext& call, Stub& stub,
                 grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                 const Req& request, Resp* response) {
  CallOrThrow(call, stub, method, request, response, DownstreamName(stub));
}

}  // namespace loyalty::gateway
