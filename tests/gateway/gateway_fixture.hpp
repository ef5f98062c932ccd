// The gateway end to end for integration tests: all six services as real processes on a
// throwaway database, called through the public StorefrontService and AdminService with real keys.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "loyalty/common/errors.hpp"
#include "loyalty/common/time.hpp"
#include "loyalty/gateway/v1/gateway_service.grpc.pb.h"
#include "loyalty/points/v1/points_service.grpc.pb.h"
#include "test_env.hpp"

namespace loyalty::gateway {

using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

constexpr const char* kOperatorToken = "test-operator-token-0123456789";

inline std::unique_ptr<grpc::ClientContext> Ctx(const std::string& key,
                                         std::chrono::milliseconds timeout = 10s) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  if (!key.empty()) ctx->AddMetadata("authorization", "Bearer " + key);
  return ctx;
}

inline void WaitHealthy(const std::string& address) {
  if (!testing::WaitServing(address)) FAIL() << address << " did not become SERVING";
}

// Polls until `done()` or 15 s.
inline bool Eventually(const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return done();
}

inline google::protobuf::Timestamp InDays(int days) {
  google::protobuf::Timestamp t = common::NowTimestamp();
  t.set_seconds(t.seconds() + int64_t{days} * 86400);
  return t;
}

class GatewayIT : public ::testing::Test {
 protected:
  void SetUp() override {
    orders_port_ = testing::FreePort();
    recs_port_ = testing::FreePort();
    orders_addr_ = "127.0.0.1:" + std::to_string(orders_port_);
    recs_addr_ = "127.0.0.1:" + std::to_string(recs_port_);
    customers_ = std::make_unique<testing::ServiceProcess>("customers", DatabaseUrl());
    points_ = std::make_unique<testing::ServiceProcess>(
        "points", DatabaseUrl(),
        Env{{"LOYALTY_ORDERS_ADDR", orders_addr_},
            {"LOYALTY_CUSTOMERS_ADDR", customers_->address()},
            {"LOYALTY_JOB_INTERVAL_SECONDS", "86400"}});
    StartRecommendations({});
    orders_ = std::make_unique<testing::ServiceProcess>(
        "orders", DatabaseUrl(),
        Env{{"LOYALTY_GRPC_PORT", std::to_string(orders_port_)},
            {"LOYALTY_CUSTOMERS_ADDR", customers_->address()},
            {"LOYALTY_POINTS_ADDR", points_->address()},
            {"LOYALTY_RECOMMENDATIONS_ADDR", recs_addr_}});
    checkout_ = StartCheckout({});
    gateway_ = StartGateway(GatewayEnv());
    customers_->WaitServing();
    points_->WaitServing();
    WaitHealthy(orders_addr_);
    WaitHealthy(recs_addr_);
    checkout_->WaitServing();
    gateway_->WaitServing();
    Connect(gateway_->address());
    points_stub_ = points::v1::PointsService::NewStub(
        grpc::CreateChannel(points_->address(), grpc::InsecureChannelCredentials()));
  }

  // Extra environment of the gateway SetUp starts (a fixture's own settings).
  virtual Env GatewayEnv() const { return {}; }

  // The database the services use: a fresh one on the test server unless a fixture has its own.
  virtual std::string DatabaseUrl() const { return db_.url(); }

  void Connect(const std::string& address) {
    auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    storefront_ = v1::StorefrontService::NewStub(channel);
    admin_ = v1::AdminService::NewStub(channel);
  }

  std::unique_ptr<testing::ServiceProcess> StartGateway(Env extra) {
    Env env{{"LOYALTY_CUSTOMERS_ADDR", customers_->address()},
            {"LOYALTY_ORDERS_ADDR", orders_addr_},
            {"LOYALTY_POINTS_ADDR", points_->address()},
            {"LOYALTY_RECOMMENDATIONS_ADDR", recs_addr_},
            {"LOYALTY_CHECKOUT_ADDR", checkout_->address()},
            {"LOYALTY_OPERATOR_TOKEN", kOperatorToken},
            {"LOYALTY_GATEWAY_KEY_CACHE_MS", "500"}};
    for (auto& [k, v] : extra) env[k] = v;
    return std::make_unique<testing::ServiceProcess>("gateway", DatabaseUrl(), env);
  }

  std::unique_ptr<testing::ServiceProcess> StartCheckout(Env extra) {
    Env env{{"LOYALTY_CUSTOMERS_ADDR", customers_->address()},
            {"LOYALTY_ORDERS_ADDR", orders_addr_},
            {"LOYALTY_POINTS_ADDR", points_->address()},
            {"LOYALTY_RECOMMENDATIONS_ADDR", recs_addr_},
            {"LOYALTY_CHECKOUT_RECOMMENDATIONS_TIMEOUT_MS", "300"}};
    for (auto& [k, v] : extra) env[k] = v;
    return std::make_unique<testing::ServiceProcess>("checkout", DatabaseUrl(), env);
  }

  void StartRecommendations(Env extra) {
    extra["LOYALTY_GRPC_PORT"] = std::to_string(recs_port_);
    recs_ = std::make_unique<testing::ServiceProcess>("recommendations", DatabaseUrl(), extra);
  }

  // A store with an owner key, a storefront key and settings fit for the story.
  struct TestStore {
    std::string store_id;
    std::string owner;
    std::string storefront;
  };

  TestStore CreateStore(const std::string& name) {
    TestStore s;
    v1::CreateStoreRequest req;
    req.set_request_id("create-" + name);
    req.set_name(name);
    req.set_currency_code("USD");
    req.set_time_zone("America/New_York");
    v1::CreateStoreResponse resp;
    auto status = admin_->CreateStore(Ctx(kOperatorToken).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    s.store_id = resp.store().store_id();
    s.owner = resp.owner_key_secret();
    EXPECT_FALSE(s.owner.empty());
    s.storefront = CreateKey(s.owner, v1::KEY_KIND_STOREFRONT, v1::ROLE_UNSPECIFIED, 0);
    return s;
  }

  std::string CreateKey(const std::string& owner, v1::KeyKind kind, v1::Role role, int rate,
                        std::string* key_id = nullptr) {
    v1::CreateApiKeyRequest req;
    req.set_request_id("key-" + std::to_string(common::NowMicros()));
    req.set_kind(kind);
    req.set_role(role);
    req.set_rate_limit_per_second(rate);
    v1::CreateApiKeyResponse resp;
    auto status = admin_->CreateApiKey(Ctx(owner).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (key_id) *key_id = resp.key().key_id();
    return resp.secret();
  }

  // Settings (`tweak` may change them), earn rules and four products.
  void SetUpProgram(const TestStore& s,
                    const std::function<void(points::v1::Settings*)>& tweak = {}) {
    v1::UpdateSettingsRequest settings;
    settings.set_request_id("settings-1");
    auto* st = settings.mutable_settings();
    st->set_earn_basis(points::v1::EARN_BASIS_POINTS_PER_UNIT);
    st->set_minor_per_unit(100);
    st->set_redeem_points(100);
    st->set_redeem_value_minor(100);
    st->set_free_shipping_threshold_minor(6000);
    st->set_return_window_days(14);
    st->set_return_window_start(points::v1::RETURN_WINDOW_START_FULFILMENT);
    st->set_expiry_months(12);
    st->set_expiry_warning_days(30);
    st->set_clawback_policy(points::v1::CLAWBACK_POLICY_DEBT);
    st->set_hold_ttl_seconds(60);
    if (tweak) tweak(st);
    v1::UpdateSettingsResponse sresp;
    auto status = admin_->UpdateSettings(Ctx(s.owner).get(), settings, &sresp);
    ASSERT_TRUE(status.ok()) << status.error_message();

    v1::PublishEarnRulesRequest rules;
    rules.set_request_id("rules-1");
    rules.mutable_rules()->set_base_rate(1);
    v1::PublishEarnRulesResponse rresp;
    status = admin_->PublishEarnRules(Ctx(s.owner).get(), rules, &rresp);
    ASSERT_TRUE(status.ok()) << status.error_message();

    v1::UpsertProductsRequest products;
    products.set_request_id("products-1");
    auto add = [&](const std::string& sku, const std::string& cat, int64_t price, bool wrap) {
      auto* p = products.add_products();
      p->set_sku(sku);
      p->set_name("Product " + sku);
      p->set_category(cat);
      p->set_price_minor(price);
      p->set_in_stock(true);
      p->set_gift_wrappable(wrap);
    };
    add("A", "mugs", 3000, true);
    add("B", "mugs", 2000, false);
    add("C", "tea", 1600, false);
    add("D", "tea", 900, false);
    v1::UpsertProductsResponse presp;
    status = admin_->UpsertProducts(Ctx(s.owner).get(), products, &presp);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::string Register(const TestStore& s, const std::string& email) {
    v1::RegisterCustomerRequest req;
    req.set_request_id("reg-" + email);
    req.set_email(email);
    req.set_name("Ada");
    v1::RegisterCustomerResponse resp;
    auto status = storefront_->RegisterCustomer(Ctx(s.storefront).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp.customer().customer_id();
  }

  void Adjust(const TestStore& s, const std::string& customer, int64_t points) {
    v1::AdjustPointsRequest req;
    req.set_request_id("adj-" + customer + std::to_string(points));
    req.set_customer_id(customer);
    req.set_points(points);
    req.set_reason("welcome gift");
    v1::AdjustPointsResponse resp;
    auto status = admin_->AdjustPoints(Ctx(s.owner).get(), req, &resp);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  v1::Cart TwoLineCart(const std::string& customer, int64_t points) {
    v1::Cart cart;
    cart.set_customer_id(customer);
    auto* a = cart.add_lines();
    a->set_line_id("l1");
    a->set_sku("A");
    a->set_category("mugs");
    a->set_unit_price_minor(3000);
    a->set_quantity(1);
    a->set_gift_wrappable(true);
    auto* b = cart.add_lines();
    b->set_line_id("l2");
    b->set_sku("B");
    b->set_category("mugs");
    b->set_unit_price_minor(2000);
    b->set_quantity(1);
    cart.set_shipping_fee_minor(499);
    cart.set_points_to_redeem(points);
    return cart;
  }

  v1::GetLoyaltyStatusResponse Status(const TestStore& s, const std::string& customer) {
    v1::GetLoyaltyStatusRequest req;
    req.set_customer_id(customer);
    v1::GetLoyaltyStatusResponse resp;
    auto status = storefront_->GetLoyaltyStatus(Ctx(s.storefront).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  }

  grpc::Status Place(const TestStore& s, const std::string& order_id, const v1::Cart& cart,
                     v1::PlaceOrderResponse* resp) {
    v1::PlaceOrderRequest req;
    req.set_order_id(order_id);
    *req.mutable_cart() = cart;
    return storefront_->PlaceOrder(Ctx(s.storefront).get(), req, resp);
  }

  // The store's events of `type` in its event log, once at least `count` are there (the relay
  // delivers them), or what is there when waiting gives up.
  std::vector<points::v1::PointsEvent> StoreEvents(const TestStore& s, const std::string& type,
                                                   size_t count) {
    std::vector<points::v1::PointsEvent> found;
    Eventually([&] {
      points::v1::ListEventsRequest req;
      req.set_store_id(s.store_id);
      req.set_limit(1000);
      points::v1::ListEventsResponse resp;
      found.clear();
      if (!points_stub_->ListEvents(testing::InternalContext().get(), req, &resp).ok()) {
        return false;
      }
      for (const auto& e : resp.events()) {
        if (e.type() == type) found.push_back(e);
      }
      return found.size() >= count;
    });
    return found;
  }

  // Every balance of the store re-derived from its transfers, lots and holds: no mismatch.
  void ExpectLedgerClean(const TestStore& s) {
    points::v1::VerifyLedgerRequest req;
    req.set_store_id(s.store_id);
    points::v1::VerifyLedgerResponse resp;
    ASSERT_TRUE(points_stub_->VerifyLedger(testing::InternalContext().get(), req, &resp).ok());
    EXPECT_EQ(resp.mismatches_size(), 0) << (resp.mismatches_size() ? resp.mismatches(0) : "");
  }

  void RunJob(const std::string& job, const std::string& store_id, int days) {
    points::v1::RunJobRequest req;
    req.set_store_id(store_id);
    *req.mutable_as_of() = InDays(days);
    points::v1::RunJobResponse resp;
    auto ctx = testing::InternalContext();
    grpc::Status status = job == "release"
                              ? points_stub_->RunReleaseJob(ctx.get(), req, &resp)
                              : points_stub_->RunHoldExpiryJob(ctx.get(), req, &resp);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  testing::TestDatabase db_;
  int orders_port_ = 0;
  int recs_port_ = 0;
  std::string orders_addr_;
  std::string recs_addr_;
  std::unique_ptr<testing::ServiceProcess> customers_;
  std::unique_ptr<testing::ServiceProcess> points_;
  std::unique_ptr<testing::ServiceProcess> recs_;
  std::unique_ptr<testing::ServiceProcess> orders_;
  std::unique_ptr<testing::ServiceProcess> checkout_;
  std::unique_ptr<testing::ServiceProcess> gateway_;
  std::unique_ptr<v1::StorefrontService::Stub> storefront_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<points::v1::PointsService::Stub> points_stub_;
};

}  // namespace loyalty::gateway
