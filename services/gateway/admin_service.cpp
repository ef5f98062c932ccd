#include "admin_service.hpp"

#include <regex>
#include <set>

#include "loyalty/common/customer_check.hpp"
#include "loyalty/common/idempotency.hpp"
#include "loyalty/common/page_token.hpp"
#include "loyalty/common/time.hpp"

namespace loyalty::gateway {

using common::ApiError;
using common::CallContext;
using common::Validator;

namespace {

google::protobuf::Timestamp FromMicros(int64_t micros) {
  google::protobuf::Timestamp t;
  t.set_seconds(micros / 1000000);
  t.set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
  return t;
}

v1::Store ToStore(const StoreRow& row) {
  v1::Store s;
  s.set_store_id(row.store_id);
  s.set_name(row.name);
  s.set_currency_code(row.currency_code);
  s.set_time_zone(row.time_zone);
  *s.mutable_create_time() = FromMicros(row.created_micros);
  return s;
}

v1::Role ToRole(const std::string& role) {
  switch (RoleFromString(role)) {
    case Role::kViewer: return v1::ROLE_VIEWER;
    case Role::kEditor: return v1::ROLE_EDITOR;
    case Role::kOwner: return v1::ROLE_OWNER;
    case Role::kOperator: return v1::ROLE_OPERATOR;
    case Role::kNone: break;
  }
  return v1::ROLE_UNSPECIFIED;
}

std::string RoleName(v1::Role role) {
  switch (role) {
    case v1::ROLE_VIEWER: return "viewer";
    case v1::ROLE_EDITOR: return "editor";
    case v1::ROLE_OWNER: return "owner";
    case v1::ROLE_OPERATOR: return "operator";
    default: return "";
  }
}

// Every grant of one key, as one ApiKey.
v1::ApiKey ToApiKey(const std::vector<KeyRow>& grants) {
  v1::ApiKey k;
  const auto& first = grants.front();
  k.set_key_id(first.key_id);
  k.set_kind(first.kind == "storefront" ? v1::KEY_KIND_STOREFRONT : v1::KEY_KIND_ADMIN);
  k.set_role(ToRole(first.role));
  for (const auto& g : grants) k.add_store_ids(g.store_id);
  k.set_display_name(first.display_name);
  k.set_rate_limit_per_second(first.rate_limit_per_second);
  *k.mutable_create_time() = FromMicros(first.created_micros);
  if (first.revoked) *k.mutable_revoke_time() = FromMicros(first.revoked_micros);
  return k;
}

// Minor units per currency unit, for the settings a new store starts with.
int64_t MinorPerUnit(const std::string& currency) {
  static const std::set<std::string> kZeroDecimal = {"JPY", "KRW", "VND", "CLP", "ISK", "XAF",
                                                     "XOF", "UGX", "PYG", "RWF"};
  static const std::set<std::string> kThreeDecimal = {"BHD", "KWD", "OMR", "JOD", "TND", "IQD",
                                                      "LYD"};
  if (kZeroDecimal.count(currency)) return 1;
  if (kThreeDecimal.count(currency)) return 1000;
  return 100;
}

}  // namespace

void AdminService::SeedSettings(const CallContext& call, const StoreRow& store) {
  // The store record seeds the program: currency and time zone come from it. Idempotent by the
  // request id, so a replayed CreateStore seeds nothing twice.
  points::v1::GetSettingsRequest get;
  get.set_store_id(store.store_id);
  points::v1::GetSettingsResponse existing;
  auto ctx = common::DownstreamContext(call);
  if (gw_.points().GetSettings(ctx.get(), get, &existing).ok()) return;
  points::v1::UpdateSettingsRequest req;
  req.set_store_id(store.store_id);
  req.set_request_id("seed:" + store.store_id);
  auto* s = req.mutable_settings();
  s->set_currency_code(store.currency_code);
  s->set_time_zone(store.time_zone);
  s->set_earn_basis(points::v1::EARN_BASIS_POINTS_PER_UNIT);
  s->set_minor_per_unit(MinorPerUnit(store.currency_code));
  s->set_redeem_points(100);
  s->set_redeem_value_minor(MinorPerUnit(store.currency_code));
  s->set_free_shipping_threshold_minor(0);
  s->set_return_window_days(30);
  s->set_return_window_start(points::v1::RETURN_WINDOW_START_FULFILMENT);
  s->set_expiry_months(12);
  s->set_expiry_warning_days(30);
  s->set_clawback_policy(points::v1::CLAWBACK_POLICY_DEBT);
  s->set_hold_ttl_seconds(900);
  points::v1::UpdateSettingsResponse resp;
  CallOrThrow(call, gw_.points(), &points::v1::PointsService::Stub::UpdateSettings, req, &resp);
}

grpc::ServerUnaryReactor* AdminService::CreateStore(grpc::CallbackServerContext* context,
                                                    const v1::CreateStoreRequest* request,
                                                    v1::CreateStoreResponse* response) {
  return host_.Serve(context, "CreateStore", "", [=, this](CallContext& call) {
    if (!gw_.IsOperator(*context)) {
      const auto& md = context->client_metadata();
      if (md.find("authorization") == md.end()) {
        throw ApiError(grpc::StatusCode::UNAUTHENTICATED, "MISSING_KEY",
                       "send `authorization: Bearer <operator token>`");
      }
      throw ApiError(grpc::StatusCode::PERMISSION_DENIED, "OPERATOR_ONLY",
                     "only the operator may create stores");
    }
    static const std::regex kCurrency("^[A-Z]{3}$");
    Validator v;
    v.RequireId(request->request_id(), "request_id");
    v.Check(!request->name().empty() && request->name().size() <= 200, "name",
            "1 to 200 characters");
    v.Check(std::regex_match(request->currency_code(), kCurrency), "currency_code",
            "three upper-case letters (ISO 4217)");
    v.Check(!request->time_zone().empty() && request->time_zone().size() <= 64, "time_zone",
            "an IANA time zone");
    v.ThrowIfInvalid();
    const std::string hash = common::DeterministicHash(*request);
    const auto& store = gw_.store();
    const auto key = NewKey();
    StoreRow row;
    row.store_id = NewStoreId();
    row.name = request->name();
    row.currency_code = request->currency_code();
    row.time_zone = request->time_zone();
    row.request_hash = hash;
    // A new store's settings are seeded before the store is committed, so that its owner key
    // (shown only in the first answer) is never answered for a half-made store. A failed
    // attempt leaves at most the settings of an unused store id behind.
    const auto known = gw_.db().Read(call.deadline, [&](pqxx::transaction_base& tx) {
      if (!store.KnownTimeZone(tx, request->time_zone())) {
        throw common::InvalidField("time_zone", "is not a known IANA time zone");
      }
      return store.StoreByRequest(tx, request->request_id());
    });
    SeedSettings(call, known ? *known : row);
    bool created = false;
    std::vector<KeyRow> grants;
    gw_.db().Write(call.deadline, [&](pqxx::transaction_base& tx) {
      created = false;
      auto existing = store.StoreByRequest(tx, request->request_id());
      if (!existing && store.InsertStore(tx, row, request->request_id())) {
        KeyRow k;
        k.store_id = row.store_id;
        k.key_id = key.key_id;
        k.kind = "admin";
        k.role = "owner";
        k.key_hash = Sha256Hex(key.key);
        k.display_name = "first owner key";
        store.InsertKey(tx, k);
        created = true;
      } else {
        // A replay (or a concurrent duplicate that committed first): the same store, but the
        // key's secret was only ever in the first answer.
        if (!existing) existing = store.StoreByRequest(tx, request->request_id());
        if (!existing || existing->request_hash != hash) {
          throw ApiError(grpc::StatusCode::ALREADY_EXISTS, "REQUEST_ID_REUSED",
                         "this request_id was used for a different store");
        }
        row = *existing;
      }
      row = *store.GetStore(tx, row.store_id);
      grants.clear();
      for (const auto& k : store.StoreKeys(tx, row.store_id)) {
        if (k.role == "owner" && grants.empty()) grants.push_back(k);
      }
    });
    if (!created && !known) SeedSettings(call, row);  // a concurrent duplicate won
    *response->mutable_store() = ToStore(row);
    if (!grants.empty()) *response->mutable_owner_key() = ToApiKey(grants);
    if (created) {
      response->set_owner_key_secret(key.key);
      Principal op;
      op.key_id = "operator";
      op.store = row;
      v1::CreateStoreResponse after = *response;
      after.clear_owner_key_secret();
      gw_.Audit(call, op, "CreateStore", *request, "", ToJson(after));
    }
  });
}

grpc::ServerUnaryReactor* AdminService::GetStore(grpc::CallbackServerContext* context,
                                                 const v1::GetStoreRequest* request,
                                                 v1::GetStoreResponse* response) {
  return Run(context, "GetStore", request, Role::kViewer,
             [=](const CallContext&, const Principal& p) {
               *response->mutable_store() = ToStore(p.store);
             });
}

grpc::ServerUnaryReactor* AdminService::GetSettings(grpc::CallbackServerContext* context,
                                                    const v1::GetSettingsRequest* request,
                                                    v1::GetSettingsResponse* response) {
  return Run(context, "GetSettings", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               *response->mutable_settings() = gw_.Settings(call, p.store.store_id);
             });
}

grpc::ServerUnaryReactor* AdminService::UpdateSettings(grpc::CallbackServerContext* context,
                                                       const v1::UpdateSettingsRequest* request,
                                                       v1::UpdateSettingsResponse* response) {
  return Run(context, "UpdateSettings", request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               points::v1::GetSettingsRequest get;
               get.set_store_id(p.store.store_id);
               points::v1::GetSettingsResponse before;
               auto ctx = common::DownstreamContext(call);
               const auto got = gw_.points().GetSettings(ctx.get(), get, &before);
               points::v1::UpdateSettingsRequest req;
               req.set_store_id(p.store.store_id);
               req.set_request_id(request->request_id());
               *req.mutable_settings() = request->settings();
               req.mutable_settings()->set_currency_code(p.store.currency_code);
               req.mutable_settings()->set_time_zone(p.store.time_zone);
               req.mutable_settings()->clear_version();
               req.mutable_settings()->clear_created_at();
               req.set_author(p.key_id);
               req.set_reason(request->reason());
               points::v1::UpdateSettingsResponse resp;
               CallOrThrow(call, gw_.points(), &points::v1::PointsService::Stub::UpdateSettings,
                           req, &resp);
               gw_.ForgetSettings(p.store.store_id);  // here at once; elsewhere on the announcement
               *response->mutable_settings() = resp.settings();
               gw_.Audit(call, p, "UpdateSettings", *request,
                         got.ok() ? ToJson(before.settings()) : "", ToJson(resp.settings()));
             });
}

grpc::ServerUnaryReactor* AdminService::PublishEarnRules(
    grpc::CallbackServerContext* context, const v1::PublishEarnRulesRequest* request,
    v1::PublishEarnRulesResponse* response) {
  return Run(context, "PublishEarnRules", request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               points::v1::PublishEarnRulesRequest req;
               req.set_store_id(p.store.store_id);
               req.set_request_id(request->request_id());
               if (request->has_effective_from()) {
                 *req.mutable_effective_from() = request->effective_from();
               }
               *req.mutable_rules() = request->rules();
               req.set_author(p.key_id);
               req.set_reason(request->reason());
               points::v1::PublishEarnRulesResponse resp;
               CallOrThrow(call, gw_.points(), &points::v1::PointsService::Stub::PublishEarnRules,
                           req, &resp);
               *response->mutable_version() = resp.version();
               gw_.Audit(call, p, "PublishEarnRules", *request, "", ToJson(resp.version()));
             });
}

grpc::ServerUnaryReactor* AdminService::ListRuleVersions(
    grpc::CallbackServerContext* context, const v1::ListRuleVersionsRequest* request,
    v1::ListRuleVersionsResponse* response) {
  return Run(context, "ListRuleVersions", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               points::v1::ListRuleVersionsRequest req;
               req.set_store_id(p.store.store_id);
               points::v1::ListRuleVersionsResponse resp;
               CallOrThrow(call, gw_.points(), &points::v1::PointsService::Stub::ListRuleVersions,
                           req, &resp);
               *response->mutable_versions() = resp.versions();
             });
}

grpc::ServerUnaryReactor* AdminService::DryRunEarnRules(
    grpc::CallbackServerContext* context, const v1::DryRunEarnRulesRequest* request,
    v1::DryRunEarnRulesResponse* response) {
  return Run(context, "DryRunEarnRules", request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               points::v1::DryRunEarnRulesRequest req;
               req.set_store_id(p.store.store_id);
               *req.mutable_draft() = request->draft();
               if (request->has_from()) *req.mutable_from() = request->from();
               if (request->has_to()) *req.mutable_to() = request->to();
               req.set_top_customers(request->top_customers());
               points::v1::DryRunEarnRulesResponse resp;
               CallOrThrow(call, gw_.points(), &points::v1::PointsService::Stub::DryRunEarnRules,
                           req, &resp);
               *response->mutable_report() = resp.report();
             });
}

grpc::ServerUnaryReactor* AdminService::GetRuleVersion(grpc::CallbackServerContext* context,
                                                       const v1::GetRuleVersionRequest* request,
                                                       v1::GetRuleVersionResponse* response) {
  return Run(context, "GetRuleVersion", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               points::v1::GetRuleVersionRequest req;
               req.set_store_id(p.store.store_id);
               req.set_version(request->version());
               points::v1::GetRuleVersionResponse resp;
               CallOrThrow(call, gw_.points(), &points::v1::PointsService::Stub::GetRuleVersion,
                           req, &resp);
               *response->mutable_version() = resp.version();
             });
}

void AdminService::RequireOwnCustomer(const CallContext& call, const Principal& p,
                                      const std::string& customer_id) {
  Validator v;
  v.RequireId(customer_id, "customer_id");
  v.ThrowIfInvalid();
  common::RequireCustomer(call, gw_.customers(), p.store.store_id, customer_id, "customer_id");
}

grpc::ServerUnaryReactor* AdminService::AdjustPoints(grpc::CallbackServerContext* context,
                                                     const v1::AdjustPointsRequest* request,
                                                     v1::AdjustPointsResponse* response) {
  return Run(context, "AdjustPoints", request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               // Else one store's key could credit an id only another store has, and grow its
               // own liability for nobody.
               RequireOwnCustomer(call, p, request->customer_id());
               points::v1::GetBalanceRequest get;
               get.set_store_id(p.store.store_id);
               get.set_customer_id(request->customer_id());
               points::v1::GetBalanceResponse before;
               auto ctx = common::DownstreamContext(call);
               const auto got = gw_.points().GetBalance(ctx.get(), get, &before);
               points::v1::AdjustPointsRequest req;
               req.set_store_id(p.store.store_id);
               req.set_request_id(request->request_id());
               req.set_customer_id(request->customer_id());
               req.set_points(request->points());
               req.set_reason(request->reason());
               points::v1::AdjustPointsResponse resp;
               CallOrThrow(call, gw_.points(), &points::v1::PointsService::Stub::AdjustPoints, req,
                           &resp);
               *response->mutable_balance() = resp.balance();
               gw_.Audit(call, p, "AdjustPoints", *request,
                         got.ok() ? ToJson(before.balance()) : "", ToJson(resp.balance()));
             });
}

// The two below are the admin console's customer page: forwards, no rule of their own.
grpc::ServerUnaryReactor* AdminService::LookupCustomer(grpc::CallbackServerContext* context,
                                                       const v1::GetCustomerRequest* request,
                                                       v1::GetCustomerResponse* response) {
  return Run(context, "LookupCustomer", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               customers::v1::GetCustomerRequest req;
               req.set_store_id(p.store.store_id);
               if (request->has_email()) req.set_email(request->email());
               if (request->has_customer_id()) req.set_customer_id(request->customer_id());
               customers::v1::GetCustomerResponse resp;
               CallOrThrow(call, gw_.customers(),
                           &customers::v1::CustomersService::Stub::GetCustomer, req, &resp);
               *response->mutable_customer() = resp.customer();
             });
}

grpc::ServerUnaryReactor* AdminService::ListLedger(grpc::CallbackServerContext* context,
                                                   const v1::ListLedgerRequest* request,
                                                   v1::ListLedgerResponse* response) {
  return Run(context, "ListLedger", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               // The ledger answers any id with nothing; a stranger is NOT_FOUND, as everywhere.
               RequireOwnCustomer(call, p, request->customer_id());
               points::v1::ListLedgerRequest req;
               req.set_store_id(p.store.store_id);
               req.set_customer_id(request->customer_id());
               req.set_page_size(request->page_size());
               req.set_page_token(request->page_token());
               points::v1::ListLedgerResponse resp;
               CallOrThrow(call, gw_.points(), &points::v1::PointsService::Stub::ListLedger, req,
                           &resp);
               *response->mutable_transfers() = resp.transfers();
               response->set_next_page_token(resp.next_page_token());
               points::v1::GetBalanceRequest breq;
               breq.set_store_id(p.store.store_id);
               breq.set_customer_id(request->customer_id());
               points::v1::GetBalanceResponse bresp;
               CallOrThrow(call, gw_.points(), &points::v1::PointsService::Stub::GetBalance, breq,
                           &bresp);
               *response->mutable_balance() = bresp.balance();
             });
}

grpc::ServerUnaryReactor* AdminService::CountMembers(grpc::CallbackServerContext* context,
                                                     const v1::CountMembersRequest* request,
                                                     v1::CountMembersResponse* response) {
  return Run(context, "CountMembers", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               customers::v1::CountCustomersRequest req;
               req.set_store_id(p.store.store_id);
               customers::v1::CountCustomersResponse resp;
               CallOrThrow(call, gw_.customers(),
                           &customers::v1::CustomersService::Stub::CountCustomers, req, &resp);
               response->set_members(resp.customers());
             });
}

grpc::ServerUnaryReactor* AdminService::RetentionReport(grpc::CallbackServerContext* context,
                                                        const v1::RetentionReportRequest* request,
                                                        v1::RetentionReportResponse* response) {
  return Report(context, "RetentionReport", request, response,
                &orders::v1::OrdersService::Stub::RetentionReport);
}
grpc::ServerUnaryReactor* AdminService::RepeatCustomerRevenue(
    grpc::CallbackServerContext* context, const v1::RepeatCustomerRevenueRequest* request,
    v1::RepeatCustomerRevenueResponse* response) {
  return Report(context, "RepeatCustomerRevenue", request, response,
                &orders::v1::OrdersService::Stub::RepeatCustomerRevenue);
}
grpc::ServerUnaryReactor* AdminService::RevenueConcentration(
    grpc::CallbackServerContext* context, const v1::RevenueConcentrationRequest* request,
    v1::RevenueConcentrationResponse* response) {
  return Report(context, "RevenueConcentration", request, response,
                &orders::v1::OrdersService::Stub::RevenueConcentration);
}
grpc::ServerUnaryReactor* AdminService::TopCustomers(grpc::CallbackServerContext* context,
                                                     const v1::TopCustomersRequest* request,
                                                     v1::TopCustomersResponse* response) {
  return Report(context, "TopCustomers", request, response,
                &orders::v1::OrdersService::Stub::TopCustomers);
}
grpc::ServerUnaryReactor* AdminService::LapsedCustomers(grpc::CallbackServerContext* context,
                                                        const v1::LapsedCustomersRequest* request,
                                                        v1::LapsedCustomersResponse* response) {
  return Report(context, "LapsedCustomers", request, response,
                &orders::v1::OrdersService::Stub::LapsedCustomers);
}
grpc::ServerUnaryReactor* AdminService::CustomerValue(grpc::CallbackServerContext* context,
                                                      const v1::CustomerValueRequest* request,
                                                      v1::CustomerValueResponse* response) {
  return Report(context, "CustomerValue", request, response,
                &orders::v1::OrdersService::Stub::CustomerValue);
}
grpc::ServerUnaryReactor* AdminService::SegmentCustomers(
    grpc::CallbackServerContext* context, const v1::SegmentCustomersRequest* request,
    v1::SegmentCustomersResponse* response) {
  return Report(context, "SegmentCustomers", request, response,
                &orders::v1::OrdersService::Stub::SegmentCustomers);
}
grpc::ServerUnaryReactor* AdminService::RfmReport(grpc::CallbackServerContext* context,
                                                  const v1::RfmReportRequest* request,
                                                  v1::RfmReportResponse* response) {
  return Report(context, "RfmReport", request, response,
                &orders::v1::OrdersService::Stub::RfmReport);
}

grpc::ServerUnaryReactor* AdminService::LiabilityReport(grpc::CallbackServerContext* context,
                                                        const v1::LiabilityReportRequest* request,
                                                        v1::LiabilityReportResponse* response) {
  return Run(context, "LiabilityReport", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               points::v1::LiabilityReportRequest req;
               req.set_store_id(p.store.store_id);
               CallOrThrow(call, gw_.points(), &points::v1::PointsService::Stub::LiabilityReport,
                           req, response->mutable_report());
             });
}

grpc::ServerUnaryReactor* AdminService::UpsertProducts(grpc::CallbackServerContext* context,
                                                       const v1::UpsertProductsRequest* request,
                                                       v1::UpsertProductsResponse* response) {
  return Run(context, "UpsertProducts", request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               recommendations::v1::UpsertProductsRequest req;
               req.set_store_id(p.store.store_id);
               req.set_request_id(request->request_id());
               *req.mutable_products() = request->products();
               CallOrThrow(call, gw_.recommendations(),
                           &recommendations::v1::RecommendationsService::Stub::UpsertProducts, req,
                           response->mutable_result());
               gw_.Audit(call, p, "UpsertProducts", *request, "", ToJson(response->result()));
             });
}

grpc::ServerUnaryReactor* AdminService::ImportOrders(grpc::CallbackServerContext* context,
                                                     const v1::ImportOrdersRequest* request,
                                                     v1::ImportOrdersResponse* response) {
  return Run(context, "ImportOrders", request, Role::kEditor,
             [=, this](const CallContext& call, const Principal& p) {
               orders::v1::ImportOrdersRequest req;
               req.set_store_id(p.store.store_id);
               *req.mutable_orders() = request->orders();
               for (auto& o : *req.mutable_orders()) {
                 o.mutable_order()->set_store_id(p.store.store_id);
                 if (o.order().currency_code().empty()) {
                   o.mutable_order()->set_currency_code(p.store.currency_code);
                 }
                 o.mutable_order()->set_store_currency_code(p.store.currency_code);
               }
               CallOrThrow(call, gw_.orders(), &orders::v1::OrdersService::Stub::ImportOrders, req,
                           response->mutable_result());
               v1::ImportOrdersRequest summary;  // the audit keeps the ids, not every line
               summary.set_store_id(p.store.store_id);
               summary.set_request_id(request->request_id());
               gw_.Audit(call, p, "ImportOrders", summary, "", ToJson(response->result()));
             });
}

grpc::ServerUnaryReactor* AdminService::ExportCustomer(grpc::CallbackServerContext* context,
                                                       const v1::ExportCustomerRequest* request,
                                                       v1::ExportCustomerResponse* response) {
  return Run(context, "ExportCustomer", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               const std::string& store_id = p.store.store_id;
               customers::v1::ExportCustomerRequest creq;
               creq.set_store_id(store_id);
               creq.set_customer_id(request->customer_id());
               customers::v1::ExportCustomerResponse cresp;
               CallOrThrow(call, gw_.customers(),
                           &customers::v1::CustomersService::Stub::ExportCustomer, creq, &cresp);
               *response->mutable_customer() = cresp.customer();
               std::string token;
               do {
                 orders::v1::ListOrdersRequest oreq;
                 oreq.set_store_id(store_id);
                 oreq.set_customer_id(request->customer_id());
                 oreq.set_page_size(200);
                 oreq.set_page_token(token);
                 orders::v1::ListOrdersResponse oresp;
                 CallOrThrow(call, gw_.orders(), &orders::v1::OrdersService::Stub::ListOrders, oreq,
                             &oresp);
                 for (const auto& o : oresp.orders()) *response->add_orders() = o;
                 token = oresp.next_page_token();
               } while (!token.empty());
               points::v1::GetBalanceRequest breq;
               breq.set_store_id(store_id);
               breq.set_customer_id(request->customer_id());
               points::v1::GetBalanceResponse bresp;
               CallOrThrow(call, gw_.points(), &points::v1::PointsService::Stub::GetBalance, breq,
                           &bresp);
               *response->mutable_balance() = bresp.balance();
               do {
                 points::v1::ListLedgerRequest lreq;
                 lreq.set_store_id(store_id);
                 lreq.set_customer_id(request->customer_id());
                 lreq.set_page_size(500);
                 lreq.set_page_token(token);
                 points::v1::ListLedgerResponse lresp;
                 CallOrThrow(call, gw_.points(), &points::v1::PointsService::Stub::ListLedger, lreq,
                             &lresp);
                 for (const auto& t : lresp.transfers()) *response->add_transfers() = t;
                 token = lresp.next_page_token();
               } while (!token.empty());
             });
}

grpc::ServerUnaryReactor* AdminService::EraseCustomer(grpc::CallbackServerContext* context,
                                                      const v1::EraseCustomerRequest* request,
                                                      v1::EraseCustomerResponse* response) {
  return Run(context, "EraseCustomer", request, Role::kOwner,
             [=, this](const CallContext& call, const Principal& p) {
               // Personal data lives only in the customers service; orders and ledgers keep the
               // id, so reports still add up.
               customers::v1::EraseCustomerRequest req;
               req.set_store_id(p.store.store_id);
               req.set_request_id(request->request_id());
               req.set_customer_id(request->customer_id());
               customers::v1::EraseCustomerResponse resp;
               CallOrThrow(call, gw_.customers(),
                           &customers::v1::CustomersService::Stub::EraseCustomer, req, &resp);
               *response->mutable_customer() = resp.customer();
               gw_.Audit(call, p, "EraseCustomer", *request, "", ToJson(resp.customer()));
             });
}

grpc::ServerUnaryReactor* AdminService::CreateApiKey(grpc::CallbackServerContext* context,
                                                     const v1::CreateApiKeyRequest* request,
                                                     v1::CreateApiKeyResponse* response) {
  return Run(context, "CreateApiKey", request, Role::kOwner,
             [=, this](const CallContext& call, const Principal& p) {
               Validator v;
               v.RequireId(request->request_id(), "request_id");
               v.Check(request->kind() == v1::KEY_KIND_STOREFRONT ||
                           request->kind() == v1::KEY_KIND_ADMIN,
                       "kind", "storefront or admin");
               if (request->kind() == v1::KEY_KIND_ADMIN) {
                 v.Check(!RoleName(request->role()).empty(), "role",
                         "viewer, editor, owner or operator for admin keys");
               } else {
                 v.Check(request->role() == v1::ROLE_UNSPECIFIED, "role", "storefront keys have none");
                 v.Check(request->additional_store_ids().empty(), "additional_store_ids",
                         "a storefront key belongs to one store");
               }
               v.Check(request->display_name().size() <= 200, "display_name", "at most 200 characters");
               v.Check(request->rate_limit_per_second() >= 0 &&
                           request->rate_limit_per_second() <= 100000,
                       "rate_limit_per_second", "must be 0 to 100,000");
               v.ThrowIfInvalid();
               if (!MayGrant(p.role, RoleFromString(RoleName(request->role())))) {
                 throw ApiError(grpc::StatusCode::PERMISSION_DENIED, "ROLE_TOO_HIGH",
                                "a key may not grant a role above its own (" +
                                    RoleToString(p.role) + ")");
               }
               std::vector<std::string> stores = {p.store.store_id};
               for (const auto& s : request->additional_store_ids()) {
                 if (std::find(stores.begin(), stores.end(), s) != stores.end()) continue;
                 if (!p.is_operator &&
                     std::find(p.store_ids.begin(), p.store_ids.end(), s) == p.store_ids.end()) {
                   throw ApiError(grpc::StatusCode::PERMISSION_DENIED, "STORE_NOT_GRANTED",
                                  "the caller does not own store " + s);
                 }
                 stores.push_back(s);
               }
               const auto key = NewKey();
               std::vector<KeyRow> grants;
               gw_.db().Write(call.deadline, [&](pqxx::transaction_base& tx) {
                 grants.clear();
                 for (const auto& s : stores) {
                   if (!gw_.store().GetStore(tx, s)) {
                     throw common::InvalidField("additional_store_ids", "no store " + s);
                   }
                   KeyRow k;
                   k.store_id = s;
                   k.key_id = key.key_id;
                   k.kind = request->kind() == v1::KEY_KIND_STOREFRONT ? "storefront" : "admin";
                   k.role = RoleName(request->role());
                   k.key_hash = Sha256Hex(key.key);
                   k.display_name = request->display_name();
                   k.rate_limit_per_second = request->rate_limit_per_second();
                   gw_.store().InsertKey(tx, k);
                 }
                 grants = gw_.store().KeyGrants(tx, key.key_id);
               });
               *response->mutable_key() = ToApiKey(grants);
               response->set_secret(key.key);
               gw_.Audit(call, p, "CreateApiKey", *request, "", ToJson(response->key()));
             });
}

grpc::ServerUnaryReactor* AdminService::ListApiKeys(grpc::CallbackServerContext* context,
                                                    const v1::ListApiKeysRequest* request,
                                                    v1::ListApiKeysResponse* response) {
  return Run(context, "ListApiKeys", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               gw_.db().Read(call.deadline, [&](pqxx::transaction_base& tx) {
                 for (const auto& row : gw_.store().StoreKeys(tx, p.store.store_id)) {
                   *response->add_keys() = ToApiKey(gw_.store().KeyGrants(tx, row.key_id));
                 }
               });
             });
}

grpc::ServerUnaryReactor* AdminService::RevokeApiKey(grpc::CallbackServerContext* context,
                                                     const v1::RevokeApiKeyRequest* request,
                                                     v1::RevokeApiKeyResponse* response) {
  return Run(context, "RevokeApiKey", request, Role::kOwner,
             [=, this](const CallContext& call, const Principal& p) {
               Validator v;
               v.RequireId(request->key_id(), "key_id");
               v.ThrowIfInvalid();
               std::vector<KeyRow> grants;
               gw_.db().Write(call.deadline, [&](pqxx::transaction_base& tx) {
                 if (!gw_.store().RevokeKey(tx, p.store.store_id, request->key_id())) {
                   throw ApiError(grpc::StatusCode::NOT_FOUND, "KEY_NOT_FOUND",
                                  "the store has no such key");
                 }
                 grants = gw_.store().KeyGrants(tx, request->key_id());
               });
               gw_.ForgetKey(request->key_id());
               *response->mutable_key() = ToApiKey(grants);
               gw_.Audit(call, p, "RevokeApiKey", *request, "", ToJson(response->key()));
             });
}

grpc::ServerUnaryReactor* AdminService::ListAuditLog(grpc::CallbackServerContext* context,
                                                     const v1::ListAuditLogRequest* request,
                                                     v1::ListAuditLogResponse* response) {
  return Run(context, "ListAuditLog", request, Role::kViewer,
             [=, this](const CallContext& call, const Principal& p) {
               Validator v;
               v.Check(request->page_size() >= 0 && request->page_size() <= 500, "page_size",
                       "must be 0 to 500");
               int64_t before = 0;
               if (!request->page_token().empty()) {
                 const auto token = common::page_token::ParseInt(request->page_token());
                 if (v.Check(token.has_value(), "page_token", "is not valid")) before = *token;
               }
               v.ThrowIfInvalid();
               const int size = request->page_size() > 0 ? request->page_size() : 100;
               const auto rows = gw_.db().Read(call.deadline, [&](pqxx::transaction_base& tx) {
                 return gw_.store().ListAudit(tx, p.store.store_id, before, size + 1);
               });
               for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(size); ++i) {
                 auto* e = response->add_entries();
                 e->set_audit_id(rows[i].audit_id);
                 *e->mutable_create_time() = FromMicros(rows[i].created_micros);
                 e->set_actor_key_id(rows[i].actor_key_id);
                 e->set_method(rows[i].method);
                 e->set_request_json(rows[i].request_json);
                 e->set_before_json(rows[i].before_json);
                 e->set_after_json(rows[i].after_json);
               }
               if (rows.size() > static_cast<size_t>(size)) {
                 response->set_next_page_token(std::to_string(rows[static_cast<size_t>(size) - 1].audit_id));
               }
             });
}

}  // namespace loyalty::gateway
