// The public API over HTTP/JSON (services/gateway/http/): the storefront story with curl-able
// requests, and a table of bad inputs answered 4xx naming the field, the same as over gRPC.
// A real gateway (its HTTP port and its gRPC port) in front of the real services.
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <sstream>

#include "gateway_fixture.hpp"

namespace loyalty::gateway {
namespace {

using nlohmann::json;

class HttpIT : public GatewayIT {
 protected:
  void SetUp() override {
    GatewayIT::SetUp();
    http_port_ = testing::FreePort();
    http_gateway_ = StartGateway({{"LOYALTY_HTTP_PORT", std::to_string(http_port_)},
                                  {"LOYALTY_HTTP_MAX_BODY_BYTES", "4096"}});
    http_gateway_->WaitServing();
  }

  struct Answer {
    int status = 0;
    json body;
    std::string retry_after;
    std::string allow;
  };

  Answer Call(const std::string& method, const std::string& path, const std::string& key,
              const std::string& body = "", httplib::Headers headers = {}) {
    httplib::Client http("127.0.0.1", http_port_);
    http.set_read_timeout(10, 0);
    if (!key.empty()) headers.emplace("Authorization", "Bearer " + key);
    httplib::Result result =
        method == "GET"     ? http.Get(path, headers)
        : method == "POST"  ? http.Post(path, headers, body, "application/json")
        : method == "PUT"   ? http.Put(path, headers, body, "application/json")
        : method == "PATCH" ? http.Patch(path, headers, body, "application/json")
                            : http.Delete(path, headers);
    Answer answer;
    if (!result) {
      ADD_FAILURE() << method << " " << path << ": no answer";
      return answer;
    }
    answer.status = result->status;
    answer.body = json::parse(result->body, nullptr, /*allow_exceptions=*/false);
    answer.retry_after = result->get_header_value("Retry-After");
    answer.allow = result->get_header_value("Allow");
    return answer;
  }

  // The ErrorInfo reason and the first BadRequest field of a google.rpc.Status body.
  static std::pair<std::string, std::string> ReasonAndField(const json& status) {
    std::string reason, field;
    for (const auto& detail : status.value("details", json::array())) {
      if (detail.contains("reason")) reason = detail["reason"];
      if (detail.contains("fieldViolations")) field = detail["fieldViolations"][0]["field"];
    }
    return {reason, field};
  }

  int http_port_ = 0;
  std::unique_ptr<testing::ServiceProcess> http_gateway_;
};

TEST_F(HttpIT, TheStorefrontStoryRunsOverHttpJsonWithTheSameAnswersAsGrpc) {
  const auto s = CreateStore("http-story");
  SetUpProgram(s);

  auto registered = Call("POST", "/v1/customers", s.storefront,
                         R"({"requestId": "reg-1", "email": "ada@example.com", "name": "Ada"})");
  ASSERT_EQ(registered.status, 200) << registered.body.dump();
  const std::string customer = registered.body["customer"]["customerId"];
  // The same request id again: the same customer (idempotent), as over gRPC.
  EXPECT_EQ(Call("POST", "/v1/customers", s.storefront,
                 R"({"requestId": "reg-1", "email": "ada@example.com", "name": "Ada"})")
                .body["customer"]["customerId"],
            customer);

  // curl -d sends a form Content-Type: the body is JSON all the same.
  httplib::Client form("127.0.0.1", http_port_);
  const auto bob = form.Post("/v1/customers", {{"Authorization", "Bearer " + s.storefront}},
                             R"({"requestId": "reg-2", "email": "bob@example.com", "name": "Bob"})",
                             "application/x-www-form-urlencoded");
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->status, 200) << bob->body;

  const json cart = {{"customerId", customer},
                     {"shippingFeeMinor", "499"},
                     {"lines",
                      {{{"lineId", "l1"}, {"sku", "A"}, {"category", "mugs"},
                        {"unitPriceMinor", "3000"}, {"quantity", 1}},
                       {{"lineId", "l2"}, {"sku", "B"}, {"category", "mugs"},
                        {"unitPriceMinor", "2000"}, {"quantity", 1}}}}};
  const auto quote = Call("POST", "/v1/carts:quote", s.storefront, json{{"cart", cart}}.dump());
  ASSERT_EQ(quote.status, 200) << quote.body.dump();
  v1::QuoteCartRequest grpc_quote;
  *grpc_quote.mutable_cart() = TwoLineCart(customer, 0);
  v1::QuoteCartResponse grpc_answer;
  ASSERT_TRUE(storefront_->QuoteCart(Ctx(s.storefront).get(), grpc_quote, &grpc_answer).ok());
  EXPECT_EQ(quote.body["pointsToEarn"], std::to_string(grpc_answer.points_to_earn()));
  EXPECT_EQ(quote.body["freeShippingGapMinor"],
            std::to_string(grpc_answer.free_shipping_gap_minor()));

  const auto order = json{{"orderId", "http-o1"}, {"cart", cart}}.dump();
  const auto placed = Call("POST", "/v1/orders", s.storefront, order);
  ASSERT_EQ(placed.status, 200) << placed.body.dump();
  const auto again = Call("POST", "/v1/orders", s.storefront, order);  // a retry: same answer
  EXPECT_EQ(again.status, 200) << again.body.dump();
  EXPECT_EQ(again.body["order"]["orderId"], placed.body["order"]["orderId"]);

  EXPECT_TRUE(Eventually([&] {
    const auto status = Call("GET", "/v1/customers/" + customer + "/loyalty", s.storefront);
    return status.status == 200 &&
           status.body["balance"]["pending"] == std::to_string(grpc_answer.points_to_earn());
  }));
  const auto adjusted =
      Call("POST", "/v1/stores/" + s.store_id + "/customers/" + customer + "/points:adjust",
           s.owner, R"({"requestId": "adj-1", "points": "25", "reason": "welcome"})");
  EXPECT_EQ(adjusted.status, 200) << adjusted.body.dump();
  EXPECT_EQ(Status(s, customer).balance().available(), 25);

  const auto openapi = Call("GET", "/openapi.json", "");
  ASSERT_EQ(openapi.status, 200);
  EXPECT_TRUE(openapi.body["paths"]["/v1/carts:quote"].contains("post"));
}

TEST_F(HttpIT, BadInputAnswers4xxNamingTheFieldLikeGrpc) {
  const auto s = CreateStore("http-errors");
  SetUpProgram(s);
  const auto customer = Register(s, "bad@example.com");
  const auto slow_key = CreateKey(s.owner, v1::KEY_KIND_STOREFRONT, v1::ROLE_UNSPECIFIED, 1);
  const std::string big(5000, 'x');

  struct Case {
    std::string name, method, path, key, body;
    int status;
    std::string reason, field;
  };
  const std::vector<Case> cases = {
      {"no key", "GET", "/v1/customers/" + customer + "/loyalty", "", "", 401, "MISSING_KEY", ""},
      {"storefront key on admin", "GET", "/v1/stores/" + s.store_id + "/settings", s.storefront,
       "", 403, "", ""},
      {"unknown customer", "GET", "/v1/customers/nobody/loyalty", s.storefront, "", 404, "", ""},
      {"empty cart", "POST", "/v1/carts:quote", s.storefront, R"({"cart": {}})", 400, "",
       "cart.lines"},
      {"malformed JSON", "POST", "/v1/carts:quote", s.storefront, R"({"cart": )", 400,
       "INVALID_ARGUMENT", "body"},
      {"unknown field", "POST", "/v1/carts:quote", s.storefront, R"({"basket": {}})", 400,
       "INVALID_ARGUMENT", "basket"},
      {"wrong type", "POST", "/v1/carts:quote", s.storefront,
       R"({"cart": {"lines": [{"quantity": "two"}]}})", 400, "INVALID_ARGUMENT",
       "cart.lines[0].quantity"},
      {"invalid UTF-8", "POST", "/v1/carts:quote", s.storefront, "{\"storeId\": \"\xc3\x28\"}",
       400, "INVALID_ARGUMENT", "body"},
      {"too large", "POST", "/v1/carts:quote", s.storefront, R"({"storeId": ")" + big + "\"}",
       400, "INVALID_ARGUMENT", "body"},
      {"bad query value", "GET", "/v1/customers/" + customer + "/loyalty?expiring_within_days=x",
       s.storefront, "", 400, "INVALID_ARGUMENT", "expiring_within_days"},
      {"unknown query", "GET", "/v1/customers/" + customer + "/loyalty?colour=red", s.storefront,
       "", 400, "INVALID_ARGUMENT", "colour"},
      {"no route", "GET", "/v1/nothing", s.storefront, "", 404, "NO_ROUTE", ""},
  };
  for (const auto& c : cases) {
    const auto answer = Call(c.method, c.path, c.key, c.body);
    EXPECT_EQ(answer.status, c.status) << c.name << ": " << answer.body.dump();
    const auto [reason, field] = ReasonAndField(answer.body);
    if (!c.reason.empty()) {
      EXPECT_EQ(reason, c.reason) << c.name;
    }
    EXPECT_FALSE(reason.empty()) << c.name << ": every error has a reason";
    if (!c.field.empty()) {
      EXPECT_EQ(field, c.field) << c.name << ": " << answer.body.dump();
    }
    EXPECT_EQ(answer.body["code"].get<int>() != 0, true) << c.name;
  }

  // The same bad cart over gRPC: the same code (as HTTP status), reason and field.
  v1::QuoteCartRequest empty;
  empty.mutable_cart();
  v1::QuoteCartResponse unused;
  const auto grpc_status = storefront_->QuoteCart(Ctx(s.storefront).get(), empty, &unused);
  const auto http_answer = Call("POST", "/v1/carts:quote", s.storefront, R"({"cart": {}})");
  EXPECT_EQ(http_answer.body["code"], static_cast<int>(grpc_status.error_code()));
  EXPECT_EQ(ReasonAndField(http_answer.body).first, common::ErrorReason(grpc_status));
  EXPECT_EQ(ReasonAndField(http_answer.body).second, common::ErrorFields(grpc_status).at(0));

  // A method the path does not answer: 405 with Allow.
  const auto wrong = Call("DELETE", "/v1/orders", s.storefront);
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.allow, "POST");
  // The deadline header is checked like any field.
  const auto bad_timeout = Call("GET", "/v1/customers/" + customer + "/loyalty", s.storefront, "",
                                {{"X-Timeout-Ms", "soon"}});
  EXPECT_EQ(bad_timeout.status, 400);
  EXPECT_EQ(ReasonAndField(bad_timeout.body).second, "X-Timeout-Ms");
  // Over the key's rate limit (1 call/s): 429 with Retry-After.
  Answer limited;
  for (int i = 0; i < 5 && limited.status != 429; ++i) {
    limited = Call("GET", "/v1/customers/" + customer + "/loyalty", slow_key);
  }
  EXPECT_EQ(limited.status, 429) << limited.body.dump();
  EXPECT_EQ(ReasonAndField(limited.body).first, "RATE_LIMITED");
  EXPECT_FALSE(limited.retry_after.empty());
}

// One Server-Sent Events frame.
struct Frame {
  std::string id, event, data;
};

// Reads `/v1/events` until `want` frames other than heartbeats have come (or 10 s).
std::vector<Frame> ReadEvents(int port, const std::string& key, const std::string& last_event_id,
                              size_t want) {
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(10, 0);
  httplib::Headers headers = {{"Authorization", "Bearer " + key}};
  if (!last_event_id.empty()) headers.emplace("Last-Event-ID", last_event_id);
  std::string buffer;
  std::vector<Frame> frames;
  http.Get("/v1/events?heartbeat_seconds=1", headers, [&](const char* data, size_t size) {
    buffer.append(data, size);
    for (auto end = buffer.find("\n\n"); end != std::string::npos; end = buffer.find("\n\n")) {
      Frame frame;
      std::istringstream lines(buffer.substr(0, end));
      for (std::string line; std::getline(lines, line);) {
        if (line.rfind("id: ", 0) == 0) frame.id = line.substr(4);
        if (line.rfind("event: ", 0) == 0) frame.event = line.substr(7);
        if (line.rfind("data: ", 0) == 0) frame.data = line.substr(6);
      }
      buffer.erase(0, end + 2);
      if (frame.event != "heartbeat") frames.push_back(frame);
    }
    return frames.size() < want;
  });
  return frames;
}

TEST_F(HttpIT, EventsStreamAsServerSentEventsAndResumeAfterLastEventId) {
  const auto s = CreateStore("http-events");
  SetUpProgram(s);
  const auto customer = Register(s, "ev@example.com");
  v1::PlaceOrderRequest order;
  order.set_order_id("sse-o1");
  *order.mutable_cart() = TwoLineCart(customer, 0);
  v1::PlaceOrderResponse placed;
  ASSERT_TRUE(storefront_->PlaceOrder(Ctx(s.storefront).get(), order, &placed).ok());

  const auto first = ReadEvents(http_port_, s.storefront, "", 2);
  ASSERT_EQ(first.size(), 2u);
  for (const auto& frame : first) {
    EXPECT_FALSE(frame.id.empty());
    const auto data = json::parse(frame.data);
    EXPECT_EQ(data["type"], frame.event);
    EXPECT_EQ(data["cursor"], frame.id);
  }
  // Reconnecting with the first frame's id resumes after it: the second frame comes next.
  const auto resumed = ReadEvents(http_port_, s.storefront, first[0].id, 1);
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].id, first[1].id);
  EXPECT_EQ(resumed[0].event, first[1].event);

  // A refused stream is an ordinary error, not an event stream.
  const auto refused = Call("GET", "/v1/events", "");
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(Call("GET", "/v1/events?heartbeat_seconds=99", s.storefront).status, 400);
}

// The admin console's files (built into bin/console, found beside the gateway binary): the page
// with its security headers and no CORS; nothing outside its own flat directory.
TEST_F(HttpIT, TheAdminConsoleIsServedWithItsSecurityPolicyAndNothingElse) {
  httplib::Client http("127.0.0.1", http_port_);
  auto page = http.Get("/admin");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200) << "is the admin_console target built (npm)?";
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("/admin/app.js"), std::string::npos);
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("script-src 'self';"),
            std::string::npos);
  EXPECT_EQ(page->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_FALSE(page->has_header("Access-Control-Allow-Origin"));
  auto script = http.Get("/admin/app.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  for (const char* path : {"/admin/nope.js", "/admin/../openapi.json", "/admin/%2e%2e/x",
                           "/admin/a/b", "/adminx"}) {
    auto refused = http.Get(path);
    ASSERT_TRUE(refused) << path;
    EXPECT_EQ(refused->status, 404) << path;
    EXPECT_EQ(refused->get_header_value("Content-Type"), "application/json") << path;
  }
}

}  // namespace
}  // namespace loyalty::gateway
