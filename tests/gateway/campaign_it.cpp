// Campaigns on all six services and a real Postgres (docs/campaigns.md): a win-back reaches each
// lapsed customer with marketing consent once per lapse, with a code of their own and a
// campaign.reached event; never a customer without consent; run twice, or by two runners at once,
// nobody twice; its preview counts exactly whom the run then reaches.
#include <nlohmann/json.hpp>

#include <thread>

#include "gateway_fixture.hpp"

namespace loyalty::gateway {
namespace {

class CampaignIT : public GatewayIT {
 protected:
  std::string Customer(const TestStore& s, const std::string& email, bool consent) {
    v1::RegisterCustomerRequest req;
    req.set_request_id("reg-" + email);
    req.set_email(email);
    req.set_marketing_consent(consent);
    v1::RegisterCustomerResponse resp;
    EXPECT_TRUE(storefront_->RegisterCustomer(Ctx(s.storefront).get(), req, &resp).ok());
    return resp.customer().customer_id();
  }

  // An order of `customer`, placed `days_ago` days ago (a history import).
  void PastOrder(const TestStore& s, const std::string& customer, const std::string& order_id,
                 int days_ago) {
    v1::ImportOrdersRequest req;
    req.set_request_id("import-" + order_id);
    auto* o = req.add_orders();
    o->mutable_order()->set_order_id(order_id);
    o->mutable_order()->set_customer_id(customer);
    auto* line = o->mutable_order()->add_lines();
    line->set_line_id("1");
    line->set_sku("A");
    line->set_category("mugs");
    line->set_unit_price_minor(3000);
    line->set_quantity(1);
    *o->mutable_placed_at() = InDays(-days_ago);
    o->set_fulfilled(true);
    v1::ImportOrdersResponse resp;
    const auto status = admin_->ImportOrders(Ctx(s.owner).get(), req, &resp);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  v1::RunCampaignResponse RunCampaign(const TestStore& s, bool preview, int days_from_now = 0) {
    v1::RunCampaignRequest req;
    req.set_request_id("run-" + std::to_string(common::NowMicros()));
    req.set_campaign_id("we-miss-you");
    req.set_preview(preview);
    *req.mutable_as_of() = InDays(days_from_now);
    v1::RunCampaignResponse resp;
    const auto status = admin_->RunCampaign(Ctx(s.owner).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  }

  // A store with a win-back after 60 days, codes copying "win-back-template" (5.00 off).
  TestStore WinBackStore(const std::string& name) {
    const auto s = CreateStore(name);
    SetUpProgram(s);
    v1::CreateDiscountCodesRequest codes;
    codes.set_request_id("win-back-template");
    codes.set_count(1);
    codes.mutable_definition()->set_kind(v1::CODE_KIND_AMOUNT_OFF);
    codes.mutable_definition()->set_amount_off_minor(500);
    codes.set_reason("win-back");
    v1::CreateDiscountCodesResponse created;
    EXPECT_TRUE(admin_->CreateDiscountCodes(Ctx(s.owner).get(), codes, &created).ok());
    v1::PutCampaignRequest put;
    put.set_request_id("put-1");
    put.set_campaign_id("we-miss-you");
    put.mutable_definition()->set_kind(v1::CAMPAIGN_KIND_WIN_BACK);
    put.mutable_definition()->set_lapsed_days(60);
    put.mutable_definition()->set_code_batch_id("win-back-template");
    put.set_reason("spring");
    v1::PutCampaignResponse campaign;
    const auto status = admin_->PutCampaign(Ctx(s.owner).get(), put, &campaign);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return s;
  }
};

TEST_F(CampaignIT, AWinBackReachesEachConsentingLapsedCustomerOncePerLapse) {
  const auto s = WinBackStore("win-back");
  const auto ada = Customer(s, "ada@example.com", true);     // lapsed, consents
  const auto bob = Customer(s, "bob@example.com", true);     // lapsed, consents
  const auto cy = Customer(s, "cy@example.com", false);      // lapsed, no consent
  const auto di = Customer(s, "di@example.com", true);       // recent
  PastOrder(s, ada, "h-ada", 90);
  PastOrder(s, bob, "h-bob", 200);
  PastOrder(s, cy, "h-cy", 100);
  PastOrder(s, di, "h-di", 10);

  const auto preview = RunCampaign(s, true);
  EXPECT_EQ(preview.reached(), 2);
  EXPECT_EQ(preview.without_consent(), 1);
  EXPECT_EQ(preview.codes(), 0);
  const auto run = RunCampaign(s, false);
  EXPECT_EQ(run.reached(), preview.reached());  // the preview counts whom the run reaches
  EXPECT_EQ(run.without_consent(), 1);
  EXPECT_EQ(run.codes(), 2);
  const auto again = RunCampaign(s, false);
  EXPECT_EQ(again.reached(), 0);
  EXPECT_EQ(again.already_reached(), 2);
  EXPECT_EQ(RunCampaign(s, true).reached(), 0);

  auto events = StoreEvents(s, "campaign.reached", 2);
  ASSERT_EQ(events.size(), 2u);
  std::map<std::string, std::string> codes;
  for (const auto& e : events) {
    const auto d = nlohmann::json::parse(e.details_json());
    EXPECT_EQ(d["campaign_id"], "we-miss-you");
    EXPECT_EQ(d["kind"], "CAMPAIGN_KIND_WIN_BACK");
    codes[e.customer_id()] = d["code"];
  }
  ASSERT_EQ(codes.size(), 2u);
  ASSERT_TRUE(codes.count(ada) && codes.count(bob));
  // Ada's code works for her alone.
  v1::QuoteCartRequest quote;
  *quote.mutable_cart() = TwoLineCart(ada, 0);
  quote.mutable_cart()->set_discount_code(codes[ada]);
  v1::QuoteCartResponse quoted;
  ASSERT_TRUE(storefront_->QuoteCart(Ctx(s.storefront).get(), quote, &quoted).ok());
  EXPECT_TRUE(quoted.code().applied());
  EXPECT_EQ(quoted.code().merchandise_off_minor(), 500);

  // Ada comes back, then lapses again: a new lapse reaches her again; Bob's has not changed.
  PastOrder(s, ada, "h-ada-2", 70);
  const auto relapse = RunCampaign(s, false);
  EXPECT_EQ(relapse.reached(), 1);
  EXPECT_EQ(relapse.already_reached(), 1);
  EXPECT_EQ(StoreEvents(s, "campaign.reached", 3).size(), 3u);
}

TEST_F(CampaignIT, TwoRunnersAtOnceReachEachCustomerOnce) {
  const auto s = WinBackStore("win-back-race");
  std::vector<std::string> lapsed;
  for (int i = 0; i < 40; ++i) {
    lapsed.push_back(Customer(s, "c" + std::to_string(i) + "@example.com", i % 4 != 0));
    PastOrder(s, lapsed.back(), "h-" + std::to_string(i), 100 + i);
  }
  const auto preview = RunCampaign(s, true);
  EXPECT_EQ(preview.reached(), 30);
  EXPECT_EQ(preview.without_consent(), 10);
  std::vector<v1::RunCampaignResponse> runs(2);
  std::vector<std::thread> runners;
  for (int i = 0; i < 2; ++i) runners.emplace_back([&, i] { runs[i] = RunCampaign(s, false); });
  for (auto& t : runners) t.join();
  EXPECT_EQ(runs[0].reached() + runs[1].reached(), 30);
  EXPECT_EQ(runs[0].already_reached() + runs[1].already_reached(), 30);
  const auto events = StoreEvents(s, "campaign.reached", 30);
  std::set<std::string> who;
  for (const auto& e : events) who.insert(e.customer_id());
  EXPECT_EQ(events.size(), 30u);
  EXPECT_EQ(who.size(), 30u);
  for (int i = 0; i < 40; i += 4) EXPECT_FALSE(who.count(lapsed[i])) << "no consent: " << i;

  // A campaign the store does not have, and a bad definition, name the field.
  v1::RunCampaignRequest unknown;
  unknown.set_request_id("r-x");
  unknown.set_campaign_id("nope");
  v1::RunCampaignResponse none;
  const auto status = admin_->RunCampaign(Ctx(s.owner).get(), unknown, &none);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(common::ErrorReason(status), "CAMPAIGN_NOT_FOUND");
  v1::PutCampaignRequest bad;
  bad.set_request_id("put-bad");
  bad.set_campaign_id("bad");
  bad.mutable_definition()->set_kind(v1::CAMPAIGN_KIND_WIN_BACK);
  bad.set_reason("x");
  v1::PutCampaignResponse put;
  const auto refused = admin_->PutCampaign(Ctx(s.owner).get(), bad, &put);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(refused), std::vector<std::string>{"definition.lapsed_days"});
}

}  // namespace
}  // namespace loyalty::gateway
