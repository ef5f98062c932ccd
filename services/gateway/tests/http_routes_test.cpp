// The HTTP/JSON route table and request binding, over the real gateway descriptors: no I/O.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/http_errors.hpp"
#include "http/openapi.hpp"
#include "http/route_table.hpp"
#include "loyalty/common/errors.hpp"
#include "loyalty/gateway/v1/gateway_service.grpc.pb.h"

namespace loyalty::gateway::http {
namespace {

RouteTable Table() {
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  return RouteTable::FromServices(
      {pool->FindServiceByName("loyalty.gateway.v1.StorefrontService"),
       pool->FindServiceByName("loyalty.gateway.v1.AdminService")});
}

// The field an INVALID_ARGUMENT from BindRequest names.
std::string BadField(const RouteTable& table, const std::string& method, const std::string& path,
                     const std::multimap<std::string, std::string>& query,
                     const std::string& body) {
  const auto found = table.Find(method, path, nullptr);
  if (!found) return "no route";
  auto request = std::unique_ptr<google::protobuf::Message>(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(found->route->method->input_type())
          ->New());
  try {
    BindRequest(*found->route, found->bindings, query, body, *request);
  } catch (const common::ApiError& e) {
    EXPECT_EQ(e.code(), grpc::StatusCode::INVALID_ARGUMENT);
    return e.fields().empty() ? "no field" : e.fields()[0].field;
  }
  return "accepted";
}

TEST(RouteTable, EveryPublicRpcHasARoute) {
  const auto table = Table();
  std::set<std::string> methods;
  for (const auto& route : table.routes()) methods.insert(route.method->name());
  // StorefrontService 12 + 3 subscriptions, AdminService 33 (three for the admin console)
  // + 7 webhooks + 3 tiers + 3 rewards + 2 discount codes + 3 campaigns + 2 segments + the earn
  // rules' dry run + the subscription report + the versions' list, get and diff + the tiers' and
  // a reward's dry runs.
  EXPECT_EQ(methods.size(), 15u + 60u);
  const auto dry_run = table.Find("POST", "/v1/stores/st_1/earn-rules:dry-run", nullptr);
  ASSERT_TRUE(dry_run);
  EXPECT_EQ(dry_run->route->method->name(), "DryRunEarnRules");
  const auto members = table.Find("GET", "/v1/stores/st_1/segments/loyal/members", nullptr);
  ASSERT_TRUE(members);
  EXPECT_EQ(members->route->method->name(), "PreviewSegment");
  const auto codes = table.Find("POST", "/v1/stores/st_1/codes", nullptr);
  ASSERT_TRUE(codes);
  EXPECT_EQ(codes->route->method->name(), "CreateDiscountCodes");
  const auto events = table.Find("GET", "/v1/events", nullptr);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->route->method->name(), "StreamEvents");
  EXPECT_EQ(methods.count("QuoteCart"), 1u);
  EXPECT_EQ(methods.count("RunJob"), 1u);
  const auto action = table.Find("POST", "/v1/customers/c-1/actions", nullptr);
  ASSERT_TRUE(action);
  EXPECT_EQ(action->route->method->name(), "RecordAction");
}

TEST(RouteTable, TheConsolesCustomerLookupAndLedgerRoutes) {
  const auto table = Table();
  auto lookup = table.Find("GET", "/v1/stores/st_1/customers:lookup", nullptr);
  ASSERT_TRUE(lookup);
  EXPECT_EQ(lookup->route->method->name(), "LookupCustomer");
  EXPECT_EQ(lookup->route->method->service()->name(), "AdminService");
  auto ledger = table.Find("GET", "/v1/stores/st_1/customers/c%2F1/ledger", nullptr);
  ASSERT_TRUE(ledger);
  EXPECT_EQ(ledger->route->method->name(), "ListLedger");
  ASSERT_EQ(ledger->bindings.size(), 2u);
  EXPECT_EQ(ledger->bindings[1], (std::pair<std::string, std::string>{"customer_id", "c/1"}));
}

// The rewards catalogue: one path, a method each; the update binds the reward id.
TEST(RouteTable, TheRewardsCatalogueRoutes) {
  const auto table = Table();
  auto create = table.Find("POST", "/v1/stores/st_1/rewards", nullptr);
  ASSERT_TRUE(create);
  EXPECT_EQ(create->route->method->name(), "CreateReward");
  auto list = table.Find("GET", "/v1/stores/st_1/rewards", nullptr);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->route->method->name(), "ListRewards");
  auto update = table.Find("PUT", "/v1/stores/st_1/rewards/5-off", nullptr);
  ASSERT_TRUE(update);
  EXPECT_EQ(update->route->method->name(), "UpdateReward");
  ASSERT_EQ(update->bindings.size(), 2u);
  EXPECT_EQ(update->bindings[1], (std::pair<std::string, std::string>{"reward_id", "5-off"}));
  std::vector<std::string> allowed;
  EXPECT_FALSE(table.Find("DELETE", "/v1/stores/st_1/rewards/5-off", &allowed));
  EXPECT_EQ(allowed, std::vector<std::string>{"PUT"});
}

TEST(RouteTable, FindsByMethodAndPathAndBindsVariables) {
  const auto table = Table();
  auto found = table.Find("POST", "/v1/orders/o%3A1:refund", nullptr);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->route->method->name(), "RefundOrder");
  ASSERT_EQ(found->bindings.size(), 1u);
  EXPECT_EQ(found->bindings[0], (std::pair<std::string, std::string>{"order_id", "o:1"}));

  found = table.Find("POST", "/v1/orders/o1:cancel", nullptr);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->route->method->name(), "CancelOrder");

  std::vector<std::string> allowed;
  EXPECT_FALSE(table.Find("DELETE", "/v1/orders", &allowed));
  EXPECT_EQ(allowed, std::vector<std::string>{"POST"});
  EXPECT_FALSE(table.Find("GET", "/v1/nothing/here", &allowed));
  EXPECT_TRUE(allowed.empty());
  EXPECT_FALSE(table.Find("GET", "/v1/customers/", &allowed)) << "an empty variable";
}

TEST(RouteTable, RefusesBadTemplates) {
  EXPECT_THROW(PathTemplate::Parse("v1/x"), std::invalid_argument);
  EXPECT_THROW(PathTemplate::Parse("/v1/{x"), std::invalid_argument);
  EXPECT_THROW(PathTemplate::Parse("/v1/{x=**}"), std::invalid_argument);
  EXPECT_THROW(PathTemplate::Parse("/v1//x"), std::invalid_argument);
  EXPECT_THROW(PathTemplate::Parse("/v1/x:"), std::invalid_argument);
  EXPECT_TRUE(PathTemplate::Parse("/v1/{a}/b").Overlaps(PathTemplate::Parse("/v1/x/{c}")));
  EXPECT_FALSE(PathTemplate::Parse("/v1/{a}:x").Overlaps(PathTemplate::Parse("/v1/{a}:y")));
}

TEST(BindRequest, FillsBodyPathAndQuery) {
  const auto table = Table();
  const auto found = table.Find("POST", "/v1/stores/s1/customers/c%2F1/points:adjust", nullptr);
  ASSERT_TRUE(found);
  v1::AdjustPointsRequest request;
  BindRequest(*found->route, found->bindings, {},
              R"({"requestId": "r1", "points": "25", "reason": "gift"})", request);
  EXPECT_EQ(request.store_id(), "s1");
  EXPECT_EQ(request.customer_id(), "c/1");
  EXPECT_EQ(request.request_id(), "r1");
  EXPECT_EQ(request.points(), 25);

  const auto status = table.Find("GET", "/v1/customers/c1/loyalty", nullptr);
  ASSERT_TRUE(status);
  v1::GetLoyaltyStatusRequest get;
  BindRequest(*status->route, status->bindings,
              {{"expiring_within_days", "30"}, {"store_id", "s1"}}, "", get);
  EXPECT_EQ(get.customer_id(), "c1");
  EXPECT_EQ(get.expiring_within_days(), 30);
  EXPECT_EQ(get.store_id(), "s1");
}

TEST(BindRequest, TheConsolesLookupTakesTheEmailFromTheQuery) {
  const auto table = Table();
  const auto found = table.Find("GET", "/v1/stores/s1/customers:lookup", nullptr);
  ASSERT_TRUE(found);
  v1::GetCustomerRequest request;
  BindRequest(*found->route, found->bindings, {{"email", "ada@example.com"}}, "", request);
  EXPECT_EQ(request.store_id(), "s1");
  ASSERT_TRUE(request.has_email());
  EXPECT_EQ(request.email(), "ada@example.com");
}

TEST(BindRequest, BadInputNamesTheField) {
  const auto t = Table();
  EXPECT_EQ(BadField(t, "POST", "/v1/carts:quote", {}, R"({"cart": {"lines": [{"quantity": "x"}]}})"),
            "cart.lines[0].quantity");
  EXPECT_EQ(BadField(t, "POST", "/v1/carts:quote", {}, R"({"nope": 1})"), "nope");
  EXPECT_EQ(BadField(t, "POST", "/v1/carts:quote", {}, R"({"cart": )"), "body");
  EXPECT_EQ(BadField(t, "POST", "/v1/carts:quote", {}, "{\"storeId\": \"\xff\"}"), "body");
  EXPECT_EQ(BadField(t, "POST", "/v1/carts:quote", {{"store_id", "s"}}, "{}"), "store_id");
  EXPECT_EQ(BadField(t, "GET", "/v1/customers/c1/loyalty", {{"expiring_within_days", "soon"}}, ""),
            "expiring_within_days");
  EXPECT_EQ(BadField(t, "GET", "/v1/customers/c1/loyalty", {{"color", "red"}}, ""), "color");
  EXPECT_EQ(BadField(t, "GET", "/v1/customers/c1/loyalty", {}, R"({"a": 1})"), "body");
  EXPECT_EQ(BadField(t, "POST", "/v1/stores/s1/customers/c1/points:adjust", {},
                     R"({"storeId": "s2"})"),
            "store_id");
  EXPECT_EQ(BadField(t, "POST", "/v1/stores/s1/customers/c1/points:adjust", {},
                     R"({"points": 1.5})"),
            "points");
  EXPECT_EQ(BadField(t, "POST", "/v1/carts:quote", {}, R"({"cart": {}})"), "accepted");
}

TEST(ParseQuery, ReadsPairsDecodesAndRefusesBadEscapes) {
  const auto q = ParseQuery("store_id=s%201&tag=a+b&tag=c&flag&=x");
  EXPECT_EQ(q.count("tag"), 2u);
  EXPECT_EQ(q.find("store_id")->second, "s 1");
  EXPECT_EQ(q.find("tag")->second, "a b");
  EXPECT_EQ(q.find("flag")->second, "");
  EXPECT_TRUE(ParseQuery("").empty());
  EXPECT_THROW(ParseQuery("a=%zz"), common::ApiError);
}

TEST(IsValidUtf8, AcceptsUtf8AndRefusesTheRest) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\x81"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // cut short
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

TEST(HttpErrors, MapsCodesAndKeepsReasonAndFields) {
  EXPECT_EQ(HttpStatus(grpc::StatusCode::INVALID_ARGUMENT), 400);
  EXPECT_EQ(HttpStatus(grpc::StatusCode::UNAUTHENTICATED), 401);
  EXPECT_EQ(HttpStatus(grpc::StatusCode::PERMISSION_DENIED), 403);
  EXPECT_EQ(HttpStatus(grpc::StatusCode::NOT_FOUND), 404);
  EXPECT_EQ(HttpStatus(grpc::StatusCode::ALREADY_EXISTS), 409);
  EXPECT_EQ(HttpStatus(grpc::StatusCode::ABORTED), 409);
  EXPECT_EQ(HttpStatus(grpc::StatusCode::RESOURCE_EXHAUSTED), 429);
  EXPECT_EQ(HttpStatus(grpc::StatusCode::UNAVAILABLE), 503);
  EXPECT_EQ(HttpStatus(grpc::StatusCode::INTERNAL), 500);
  const auto json = nlohmann::json::parse(
      StatusJson(common::InvalidField("cart.lines", "must not be empty").ToStatus()));
  EXPECT_EQ(json["code"], 3);
  bool reason = false, field = false;
  for (const auto& detail : json["details"]) {
    if (detail.contains("reason")) reason = detail["reason"] == "INVALID_ARGUMENT";
    if (detail.contains("fieldViolations")) {
      field = detail["fieldViolations"][0]["field"] == "cart.lines";
    }
  }
  EXPECT_TRUE(reason) << json.dump();
  EXPECT_TRUE(field) << json.dump();
}

TEST(OpenApi, DescribesEveryRouteWithItsSchemas) {
  const auto table = Table();
  const auto doc = nlohmann::json::parse(OpenApiDocument(table));
  EXPECT_EQ(doc["openapi"], "3.0.3");
  size_t operations = 0;
  for (const auto& [path, verbs] : doc["paths"].items()) operations += verbs.size();
  EXPECT_EQ(operations, table.routes().size());
  const auto& quote = doc["paths"]["/v1/carts:quote"]["post"];
  EXPECT_EQ(quote["operationId"], "StorefrontService_QuoteCart");
  EXPECT_EQ(quote["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/loyalty.gateway.v1.QuoteCartRequest");
  EXPECT_TRUE(doc["components"]["schemas"].contains("loyalty.gateway.v1.Cart"));
  const auto& adjust = doc["paths"]["/v1/stores/{store_id}/customers/{customer_id}/points:adjust"];
  EXPECT_EQ(adjust["post"]["parameters"].size(), 2u);
}

}  // namespace
}  // namespace loyalty::gateway::http
