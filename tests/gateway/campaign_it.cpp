// Campaigns on all six services and a real Postgres (docs/campaigns.md): a win-back reaches each
// lapsed customer with marketing consent once per lapse, with a code of their own and a
// campaign.reached event; never a customer without consent; run twice, or by two runners at once,
// nobody twice; its preview counts exactly whom the run then reaches. The top spenders of last
// month once per month, birthdays once per year on the store's local date (29 February
// included), new sign-ups once.
#include <nlohmann/json.hpp>

#include <google/protobuf/util/time_util.h>

#include <map>
#include <thread>

#include "gateway_fixture.hpp"

namespace loyalty::gateway {
namespace {

class CampaignIT : public GatewayIT {
 protected:
  std::string Customer(const TestStore& s, const std::string& email, bool consent,
                       int birth_month = 0, int birth_day = 0) {
    v1::RegisterCustomerRequest req;
    req.set_request_id("reg-" + email);
    req.set_email(email);
    req.set_marketing_consent(consent);
    if (birth_month != 0) {
      req.mutable_birthday()->set_month(birth_month);
      req.mutable_birthday()->set_day(birth_day);
    }
    v1::RegisterCustomerResponse resp;
    EXPECT_TRUE(storefront_->RegisterCustomer(Ctx(s.storefront).get(), req, &resp).ok());
    return resp.customer().customer_id();
  }

  // An order of `customer`, placed `days_ago` days ago (a history import).
  void PastOrder(const TestStore& s, const std::string& customer, const std::string& order_id,
                 int days_ago, int64_t price_minor = 3000, const std::string& sku = "A") {
    PastOrderAt(s, customer, order_id, InDays(-days_ago), price_minor, sku);
  }
  void PastOrderAt(const TestStore& s, const std::string& customer, const std::string& order_id,
                   const google::protobuf::Timestamp& placed_at, int64_t price_minor,
                   const std::string& sku = "A") {
    v1::ImportOrdersRequest req;
    req.set_request_id("import-" + order_id);
    auto* o = req.add_orders();
    o->mutable_order()->set_order_id(order_id);
    o->mutable_order()->set_customer_id(customer);
    auto* line = o->mutable_order()->add_lines();
    line->set_line_id("1");
    line->set_sku(sku);
    line->set_category("mugs");
    line->set_unit_price_minor(price_minor);
    line->set_quantity(1);
    *o->mutable_placed_at() = placed_at;
    o->set_fulfilled(true);
    v1::ImportOrdersResponse resp;
    const auto status = admin_->ImportOrders(Ctx(s.owner).get(), req, &resp);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  v1::RunCampaignResponse RunCampaign(const TestStore& s, bool preview) {
    return RunCampaignAt(s, "we-miss-you", preview, InDays(0));
  }
  v1::RunCampaignResponse RunCampaignAt(const TestStore& s, const std::string& campaign_id,
                                        bool preview, const google::protobuf::Timestamp& as_of) {
    v1::RunCampaignRequest req;
    req.set_request_id("run-" + std::to_string(common::NowMicros()));
    req.set_campaign_id(campaign_id);
    req.set_preview(preview);
    *req.mutable_as_of() = as_of;
    v1::RunCampaignResponse resp;
    const auto status = admin_->RunCampaign(Ctx(s.owner).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  }

  static google::protobuf::Timestamp At(const std::string& rfc3339) {
    google::protobuf::Timestamp t;
    EXPECT_TRUE(google::protobuf::util::TimeUtil::FromString(rfc3339, &t)) << rfc3339;
    return t;
  }

  // A store in New York's time zone whose campaign `campaign_id` is `definition`, its codes
  // copying "win-back-template" (5.00 off).
  TestStore CampaignStore(const std::string& name, const std::string& campaign_id,
                          v1::CampaignDefinition definition) {
    const auto s = CreateStore(name);
    SetUpProgram(s, [](points::v1::Settings* st) { st->set_time_zone("America/New_York"); });
    v1::CreateDiscountCodesRequest codes;
    codes.set_request_id("win-back-template");
    codes.set_count(1);
    codes.mutable_definition()->set_kind(v1::CODE_KIND_AMOUNT_OFF);
    codes.mutable_definition()->set_amount_off_minor(500);
    codes.set_reason("win-back");
    v1::CreateDiscountCodesResponse created;
    EXPECT_TRUE(admin_->CreateDiscountCodes(Ctx(s.owner).get(), codes, &created).ok());
    definition.set_code_batch_id("win-back-template");
    EXPECT_TRUE(PutCampaign(s, campaign_id, definition).ok());
    return s;
  }

  grpc::Status PutCampaign(const TestStore& s, const std::string& campaign_id,
                           const v1::CampaignDefinition& definition) {
    v1::PutCampaignRequest put;
    put.set_request_id("put-" + campaign_id);
    put.set_campaign_id(campaign_id);
    *put.mutable_definition() = definition;
    put.set_reason("spring");
    v1::PutCampaignResponse campaign;
    return admin_->PutCampaign(Ctx(s.owner).get(), put, &campaign);
  }

  // A win-back after 60 days.
  TestStore WinBackStore(const std::string& name) {
    v1::CampaignDefinition d;
    d.set_kind(v1::CAMPAIGN_KIND_WIN_BACK);
    d.set_lapsed_days(60);
    return CampaignStore(name, "we-miss-you", d);
  }

  // The campaign.reached events of one campaign: customer → period.
  std::multimap<std::string, std::string> Reached(const TestStore& s, const std::string& campaign_id,
                                                  size_t count) {
    std::multimap<std::string, std::string> out;
    for (const auto& e : StoreEvents(s, "campaign.reached", count)) {
      const auto d = nlohmann::json::parse(e.details_json());
      if (d["campaign_id"] == campaign_id) out.emplace(e.customer_id(), d["period"]);
    }
    return out;
  }
};

// Campaign versions (docs/campaigns.md, "Versions"): each put is a new version with who, why and
// when it takes effect; a run uses the version in force when it runs, so a version published for
// later reaches nobody before then; the versions list, read and compare like the program's.
TEST_F(CampaignIT, EachPutIsAVersionAndAVersionForLaterRunsOnlyFromThen) {
  using google::protobuf::util::TimeUtil;
  const auto s = WinBackStore("campaign-versions");  // version 1: lapsed after 60 days
  const auto ada = Customer(s, "ada@example.com", true);
  const auto bob = Customer(s, "bob@example.com", true);
  PastOrder(s, ada, "h-ada", 90);
  PastOrder(s, bob, "h-bob", 45);  // lapsed after 30 days, not after 60
  EXPECT_EQ(RunCampaign(s, true).reached(), 1);

  v1::PutCampaignRequest put;
  put.set_request_id("put-v2");
  put.set_campaign_id("we-miss-you");
  put.mutable_definition()->set_kind(v1::CAMPAIGN_KIND_WIN_BACK);
  put.mutable_definition()->set_lapsed_days(30);
  put.mutable_definition()->set_code_batch_id("win-back-template");
  put.set_reason("shorter lapse");
  const int64_t effective = common::NowMicros() + 4'000'000;  // beyond the checks below
  *put.mutable_effective_from() = TimeUtil::MicrosecondsToTimestamp(effective);
  v1::PutCampaignResponse v2;
  auto status = admin_->PutCampaign(Ctx(s.owner).get(), put, &v2);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(v2.campaign().version(), 2);
  const auto listed_version = [&] {
    v1::ListCampaignsResponse list;
    EXPECT_TRUE(admin_->ListCampaigns(Ctx(s.owner).get(), {}, &list).ok());
    return list.campaigns_size() == 1 ? list.campaigns(0).version() : -1;
  };
  EXPECT_EQ(RunCampaign(s, true).reached(), 1) << "version 1 is in force until then";
  EXPECT_EQ(listed_version(), 1);
  v1::RunCampaignRequest preview_v2;
  preview_v2.set_request_id("preview-v2");
  preview_v2.set_campaign_id("we-miss-you");
  preview_v2.set_preview(true);
  preview_v2.set_version(2);
  v1::RunCampaignResponse previewed;
  status = admin_->RunCampaign(Ctx(s.owner).get(), preview_v2, &previewed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(previewed.reached(), 2) << "a version for later is previewed by its number";
  preview_v2.set_preview(false);
  status = admin_->RunCampaign(Ctx(s.owner).get(), preview_v2, &previewed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"version"});

  // The versions, newest first, a page of one at a time; one whole; and what changed.
  v1::ListVersionsRequest list;
  list.set_kind(points::v1::VERSIONED_KIND_CAMPAIGN);
  list.set_campaign_id("we-miss-you");
  list.set_page_size(1);
  v1::ListVersionsResponse page;
  status = admin_->ListVersions(Ctx(s.owner).get(), list, &page);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(page.versions_size(), 1);
  EXPECT_EQ(page.versions(0).version(), 2);
  EXPECT_EQ(page.versions(0).reason(), "shorter lapse");
  EXPECT_FALSE(page.versions(0).author().empty());
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(page.versions(0).effective_from()), effective);
  ASSERT_FALSE(page.next_page_token().empty());
  list.set_page_token(page.next_page_token());
  ASSERT_TRUE(admin_->ListVersions(Ctx(s.owner).get(), list, &page).ok());
  ASSERT_EQ(page.versions_size(), 1);
  EXPECT_EQ(page.versions(0).version(), 1);
  EXPECT_EQ(page.versions(0).reason(), "spring");
  EXPECT_TRUE(page.next_page_token().empty());

  v1::GetVersionRequest get;
  get.set_kind(points::v1::VERSIONED_KIND_CAMPAIGN);
  get.set_campaign_id("we-miss-you");
  get.set_version(1);
  v1::GetVersionResponse one;
  ASSERT_TRUE(admin_->GetVersion(Ctx(s.owner).get(), get, &one).ok());
  EXPECT_NE(one.version().content_json().find("\"lapsed_days\":60"), std::string::npos)
      << one.version().content_json();

  v1::DiffVersionsRequest diff;
  diff.set_kind(points::v1::VERSIONED_KIND_CAMPAIGN);
  diff.set_campaign_id("we-miss-you");
  diff.set_from_version(1);
  diff.set_to_version(2);
  v1::DiffVersionsResponse changes;
  ASSERT_TRUE(admin_->DiffVersions(Ctx(s.owner).get(), diff, &changes).ok());
  ASSERT_EQ(changes.changes_size(), 1);
  EXPECT_EQ(changes.changes(0).path(), "lapsed_days");
  EXPECT_EQ(changes.changes(0).before(), "60");
  EXPECT_EQ(changes.changes(0).after(), "30");

  std::this_thread::sleep_until(std::chrono::system_clock::time_point(
      std::chrono::microseconds(effective + 100'000)));
  EXPECT_EQ(RunCampaign(s, true).reached(), 2) << "version 2 from its effective_from on";
  EXPECT_EQ(listed_version(), 2);

  // A campaign whose first version is for later does not run yet; an effective_from in the past,
  // a campaign id on another kind and a version it does not have are refused naming the field.
  put.set_request_id("put-later");
  put.set_campaign_id("later");
  *put.mutable_effective_from() = TimeUtil::MicrosecondsToTimestamp(common::NowMicros() + 3'600'000'000);
  ASSERT_TRUE(admin_->PutCampaign(Ctx(s.owner).get(), put, &v2).ok());
  v1::RunCampaignRequest run;
  run.set_request_id("run-later");
  run.set_campaign_id("later");
  v1::RunCampaignResponse ran;
  status = admin_->RunCampaign(Ctx(s.owner).get(), run, &ran);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(common::ErrorReason(status), "CAMPAIGN_NOT_IN_FORCE");
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"campaign_id"});
  put.set_request_id("put-past");
  *put.mutable_effective_from() = TimeUtil::MicrosecondsToTimestamp(common::NowMicros() - 86'400'000'000);
  status = admin_->PutCampaign(Ctx(s.owner).get(), put, &v2);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"effective_from"});
  list.set_kind(points::v1::VERSIONED_KIND_SETTINGS);
  list.clear_page_token();
  status = admin_->ListVersions(Ctx(s.owner).get(), list, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"campaign_id"});
  get.set_version(3);
  status = admin_->GetVersion(Ctx(s.owner).get(), get, &one);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"version"});
}

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

TEST_F(CampaignIT, AnAudienceNarrowsACampaignToASegment) {
  const auto s = WinBackStore("audience");
  const auto ada = Customer(s, "ada@example.com", true);
  const auto bob = Customer(s, "bob@example.com", true);
  const auto cy = Customer(s, "cy@example.com", true);
  PastOrder(s, ada, "h-ada", 90, 3000, "B");   // lapsed, bought B this year
  PastOrder(s, bob, "h-bob", 200, 3000, "A");  // lapsed, bought A
  PastOrder(s, cy, "h-cy", 400, 3000, "B");    // lapsed, bought B over a year ago
  EXPECT_EQ(RunCampaign(s, true).reached(), 3) << "without an audience, every lapsed customer";

  v1::CampaignDefinition bought_b;
  bought_b.set_kind(v1::CAMPAIGN_KIND_WIN_BACK);
  bought_b.set_lapsed_days(60);
  bought_b.mutable_audience()->add_skus("B");
  bought_b.mutable_audience()->set_within_days(365);
  ASSERT_TRUE(PutCampaign(s, "lapsed-b", bought_b).ok());
  const auto run = RunCampaignAt(s, "lapsed-b", false, InDays(0));
  EXPECT_EQ(run.reached(), 1);
  EXPECT_EQ(run.without_consent(), 0) << "outside the audience is not counted";

  // RFM as of now, three customers with one order each: recency scores 3 (ada), 2 (bob), 1 (cy),
  // so POTENTIAL, HIBERNATING and LOST.
  v1::CampaignDefinition hibernating;
  hibernating.set_kind(v1::CAMPAIGN_KIND_WIN_BACK);
  hibernating.set_lapsed_days(60);
  hibernating.mutable_audience()->set_rfm_segment(orders::v1::RFM_SEGMENT_HIBERNATING);
  ASSERT_TRUE(PutCampaign(s, "hibernating", hibernating).ok());
  EXPECT_EQ(RunCampaignAt(s, "hibernating", false, InDays(0)).reached(), 1);
  // Both filters: POTENTIAL and bought B within a year is ada, whom "lapsed-b" reached, but
  // each campaign reaches on its own.
  hibernating.mutable_audience()->set_rfm_segment(orders::v1::RFM_SEGMENT_POTENTIAL);
  hibernating.mutable_audience()->add_skus("B");
  hibernating.mutable_audience()->set_within_days(365);
  ASSERT_TRUE(PutCampaign(s, "potential-b", hibernating).ok());
  EXPECT_EQ(RunCampaignAt(s, "potential-b", false, InDays(0)).reached(), 1);

  std::multimap<std::string, std::string> by_campaign;
  for (const auto& e : StoreEvents(s, "campaign.reached", 3)) {
    const auto d = nlohmann::json::parse(e.details_json());
    by_campaign.emplace(d["campaign_id"], e.customer_id());
  }
  const std::multimap<std::string, std::string> expected{
      {"hibernating", bob}, {"lapsed-b", ada}, {"potential-b", ada}};
  EXPECT_EQ(by_campaign, expected);

  // A spend band over the last year: with a second order bob spent 3000 + 5000; ada 3000; cy's
  // one order is older than the year.
  PastOrder(s, bob, "h-bob-2", 180, 5000, "A");
  v1::CampaignDefinition spent;
  spent.set_kind(v1::CAMPAIGN_KIND_WIN_BACK);
  spent.set_lapsed_days(60);
  spent.mutable_audience()->set_within_days(365);
  spent.mutable_audience()->set_min_spend_minor(5000);
  ASSERT_TRUE(PutCampaign(s, "big-spenders", spent).ok());
  EXPECT_EQ(RunCampaignAt(s, "big-spenders", true, InDays(0)).reached(), 1) << "the preview";
  EXPECT_EQ(RunCampaignAt(s, "big-spenders", false, InDays(0)).reached(), 1);
  spent.mutable_audience()->set_min_spend_minor(1);
  spent.mutable_audience()->set_max_spend_minor(4000);
  ASSERT_TRUE(PutCampaign(s, "small-spenders", spent).ok());
  EXPECT_EQ(RunCampaignAt(s, "small-spenders", false, InDays(0)).reached(), 1);
  by_campaign.clear();
  for (const auto& e : StoreEvents(s, "campaign.reached", 5)) {
    const auto d = nlohmann::json::parse(e.details_json());
    by_campaign.emplace(d["campaign_id"], e.customer_id());
  }
  EXPECT_EQ(by_campaign.count("big-spenders"), 1u);
  EXPECT_EQ(by_campaign.find("big-spenders")->second, bob);
  EXPECT_EQ(by_campaign.find("small-spenders")->second, ada);

  // Bad audiences name the field.
  v1::CampaignDefinition bad = spent;
  bad.mutable_audience()->set_min_spend_minor(5000);
  auto refused = PutCampaign(s, "bad", bad);
  EXPECT_EQ(common::ErrorFields(refused),
            std::vector<std::string>{"definition.audience.max_spend_minor"});
  bad.mutable_audience()->set_max_spend_minor(0);
  bad.mutable_audience()->set_within_days(0);
  refused = PutCampaign(s, "bad", bad);
  EXPECT_EQ(common::ErrorFields(refused),
            std::vector<std::string>{"definition.audience.within_days"});
  bad = bought_b;
  bad.mutable_audience()->set_skus(0, "");
  refused = PutCampaign(s, "bad", bad);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(refused),
            std::vector<std::string>{"definition.audience.skus[0]"});
  bad = hibernating;
  bad.mutable_audience()->clear_skus();
  bad.mutable_audience()->set_within_days(0);
  bad.mutable_audience()->set_discount_use(orders::v1::DISCOUNT_USE_USED);
  refused = PutCampaign(s, "bad", bad);
  EXPECT_EQ(common::ErrorFields(refused),
            std::vector<std::string>{"definition.audience.within_days"});
}

TEST_F(CampaignIT, ASavedSegmentIsPreviewedAndNarrowsTheCampaignsThatNameIt) {
  const auto s = WinBackStore("saved-segment");
  const auto ada = Customer(s, "ada@example.com", true);
  const auto bob = Customer(s, "bob@example.com", false);
  const auto cy = Customer(s, "cy@example.com", true);
  PastOrder(s, ada, "h-ada", 90, 3000, "B");
  PastOrder(s, bob, "h-bob", 100, 3000, "B");
  PastOrder(s, cy, "h-cy", 200, 3000, "A");

  const auto put_segment = [&](const std::string& sku, const std::string& request_id) {
    v1::PutSegmentRequest put;
    put.set_request_id(request_id);
    put.set_segment_id("bought");
    put.mutable_definition()->add_skus(sku);
    put.mutable_definition()->set_within_days(365);
    put.set_reason("bought " + sku);
    v1::PutSegmentResponse saved;
    return admin_->PutSegment(Ctx(s.owner).get(), put, &saved);
  };
  ASSERT_TRUE(put_segment("B", "seg-1").ok());
  const auto preview = [&](int page_size, const std::string& after) {
    v1::PreviewSegmentRequest req;
    req.set_segment_id("bought");
    req.set_page_size(page_size);
    req.set_page_token(after);
    v1::PreviewSegmentResponse resp;
    const auto status = admin_->PreviewSegment(Ctx(s.owner).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  };
  const auto all = preview(0, "");
  EXPECT_EQ(all.members(), 2);
  EXPECT_EQ(all.with_consent(), 1);
  EXPECT_EQ(std::set<std::string>(all.customer_ids().begin(), all.customer_ids().end()),
            (std::set<std::string>{ada, bob}));
  EXPECT_TRUE(all.next_page_token().empty());
  EXPECT_EQ(all.segment().reason(), "bought B");
  const auto first = preview(1, "");
  ASSERT_EQ(first.customer_ids_size(), 1);
  ASSERT_FALSE(first.next_page_token().empty());
  const auto second = preview(1, first.next_page_token());
  ASSERT_EQ(second.customer_ids_size(), 1);
  EXPECT_NE(second.customer_ids(0), first.customer_ids(0));
  EXPECT_TRUE(second.next_page_token().empty());

  v1::CampaignDefinition named;
  named.set_kind(v1::CAMPAIGN_KIND_WIN_BACK);
  named.set_lapsed_days(60);
  named.set_segment_id("bought");
  ASSERT_TRUE(PutCampaign(s, "named", named).ok());
  const auto run = RunCampaignAt(s, "named", false, InDays(0));
  EXPECT_EQ(run.reached(), 1);  // ada; bob is in the segment without consent
  EXPECT_EQ(run.without_consent(), 1);
  // Each run reads the segment as it is now.
  ASSERT_TRUE(put_segment("A", "seg-2").ok());
  EXPECT_EQ(RunCampaignAt(s, "named", false, InDays(0)).reached(), 1);  // cy
  std::set<std::string> who;
  for (const auto& e : StoreEvents(s, "campaign.reached", 2)) who.insert(e.customer_id());
  EXPECT_EQ(who, (std::set<std::string>{ada, cy}));

  // A segment the store does not have, both kinds of audience, and a segment with no filter.
  named.set_segment_id("nope");
  auto refused = PutCampaign(s, "bad", named);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(common::ErrorReason(refused), "SEGMENT_NOT_FOUND");
  EXPECT_EQ(common::ErrorFields(refused), std::vector<std::string>{"definition.segment_id"});
  named.set_segment_id("bought");
  named.mutable_audience()->set_rfm_segment(orders::v1::RFM_SEGMENT_LOST);
  refused = PutCampaign(s, "bad", named);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(refused), std::vector<std::string>{"definition.segment_id"});
  v1::PutSegmentRequest empty;
  empty.set_request_id("seg-empty");
  empty.set_segment_id("everyone");
  empty.set_reason("x");
  v1::PutSegmentResponse none;
  refused = admin_->PutSegment(Ctx(s.owner).get(), empty, &none);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(refused), std::vector<std::string>{"definition"});
  v1::PreviewSegmentRequest unknown;
  unknown.set_segment_id("everyone");
  v1::PreviewSegmentResponse nothing;
  EXPECT_EQ(admin_->PreviewSegment(Ctx(s.owner).get(), unknown, &nothing).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(CampaignIT, TopSpendersOfLastMonthAreReachedOncePerMonth) {
  v1::CampaignDefinition d;
  d.set_kind(v1::CAMPAIGN_KIND_TOP_SPENDERS);
  d.set_top_percent(10);
  const auto s = CampaignStore("top-spenders", "top", d);
  // June 2026 in New York: 21 customers, the biggest without consent; ceil(10 % of 21) = 3.
  std::vector<std::string> june;
  for (int i = 0; i < 21; ++i) {
    june.push_back(Customer(s, "j" + std::to_string(i) + "@example.com", i != 20));
    PastOrderAt(s, june.back(), "june-" + std::to_string(i), At("2026-06-10T15:00:00Z"),
                1000 * (i + 1));
  }
  // Bigger than all of them, but on 1 July at 01:00 New York time (05:00 UTC): July's.
  const auto july = Customer(s, "july@example.com", true);
  PastOrderAt(s, july, "july-1", At("2026-07-01T05:00:00Z"), 900000);
  // And on 30 June at 23:30 New York time (1 July 03:30 UTC): June's, and the biggest in June.
  const auto late = Customer(s, "late@example.com", true);
  PastOrderAt(s, late, "june-late", At("2026-07-01T03:30:00Z"), 800000);

  // 22 June customers now: ceil(2.2) = 3 = late, j20 (no consent), j19.
  const auto preview = RunCampaignAt(s, "top", true, At("2026-07-15T12:00:00Z"));
  EXPECT_EQ(preview.reached(), 2);
  EXPECT_EQ(preview.without_consent(), 1);
  const auto run = RunCampaignAt(s, "top", false, At("2026-07-15T12:00:00Z"));
  EXPECT_EQ(run.reached(), 2);
  EXPECT_EQ(run.codes(), 2);
  const auto again = RunCampaignAt(s, "top", false, At("2026-07-31T12:00:00Z"));
  EXPECT_EQ(again.reached(), 0);
  EXPECT_EQ(again.already_reached(), 2);
  // August's run looks at July: the July customer alone spent then (ceil(10 % of 1) = 1).
  const auto august = RunCampaignAt(s, "top", false, At("2026-08-02T12:00:00Z"));
  EXPECT_EQ(august.reached(), 1);

  const auto reached = Reached(s, "top", 3);
  const std::multimap<std::string, std::string> expected{
      {late, "2026-06"}, {june[19], "2026-06"}, {july, "2026-07"}};
  EXPECT_EQ(reached, expected);
}

TEST_F(CampaignIT, BirthdaysAreReachedOnTheStoresLocalDateOncePerYear) {
  v1::CampaignDefinition d;
  d.set_kind(v1::CAMPAIGN_KIND_BIRTHDAY);
  const auto s = CampaignStore("birthdays", "birthday", d);
  const auto feb28 = Customer(s, "feb28@example.com", true, 2, 28);
  const auto leap = Customer(s, "leap@example.com", true, 2, 29);
  const auto mar1 = Customer(s, "mar1@example.com", true, 3, 1);
  Customer(s, "quiet@example.com", false, 2, 28);  // no consent
  Customer(s, "none@example.com", true);            // no birthday

  // 1 March 2027 03:00 UTC is still 28 February in New York, a year without 29 February.
  const auto run = RunCampaignAt(s, "birthday", false, At("2027-03-01T03:00:00Z"));
  EXPECT_EQ(run.reached(), 2);
  EXPECT_EQ(run.without_consent(), 1);
  // Later the same day, and a second run: nobody twice.
  EXPECT_EQ(RunCampaignAt(s, "birthday", false, At("2027-03-01T04:30:00Z")).already_reached(), 2);
  // 1 March in New York: the 1 March birthday.
  EXPECT_EQ(RunCampaignAt(s, "birthday", false, At("2027-03-01T12:00:00Z")).reached(), 1);
  // 2028 has a 29 February: 28 February is for 28 February birthdays only, and it is a new year.
  const auto leap_year = RunCampaignAt(s, "birthday", true, At("2028-02-28T12:00:00Z"));
  EXPECT_EQ(leap_year.reached(), 1);
  EXPECT_EQ(leap_year.already_reached(), 0);

  const auto reached = Reached(s, "birthday", 3);
  const std::multimap<std::string, std::string> expected{
      {feb28, "2027"}, {leap, "2027"}, {mar1, "2027"}};
  EXPECT_EQ(reached, expected);
}

TEST_F(CampaignIT, NewSignUpsGetAFirstPurchaseCodeOnce) {
  v1::CampaignDefinition d;
  d.set_kind(v1::CAMPAIGN_KIND_FIRST_PURCHASE);
  d.set_signup_days(7);
  const auto s = CampaignStore("first-purchase", "welcome", d);
  const auto ada = Customer(s, "ada@example.com", true);
  const auto bob = Customer(s, "bob@example.com", true);
  Customer(s, "cy@example.com", false);

  // Before they signed up: nobody.
  EXPECT_EQ(RunCampaignAt(s, "welcome", true, InDays(-1)).reached(), 0);
  const auto run = RunCampaignAt(s, "welcome", false, InDays(0));
  EXPECT_EQ(run.reached(), 2);
  EXPECT_EQ(run.codes(), 2);
  EXPECT_EQ(run.without_consent(), 1);
  EXPECT_EQ(RunCampaignAt(s, "welcome", false, InDays(3)).already_reached(), 2);
  // Eight days on they are no longer new: not even counted.
  const auto late = RunCampaignAt(s, "welcome", false, InDays(8));
  EXPECT_EQ(late.reached() + late.already_reached() + late.without_consent(), 0);

  const auto reached = Reached(s, "welcome", 2);
  const std::multimap<std::string, std::string> expected{{ada, "signup"}, {bob, "signup"}};
  EXPECT_EQ(reached, expected);

  // Each kind's own field, and only its own.
  v1::PutCampaignRequest bad;
  bad.set_request_id("put-bad");
  bad.set_campaign_id("bad");
  bad.mutable_definition()->set_kind(v1::CAMPAIGN_KIND_TOP_SPENDERS);
  bad.mutable_definition()->set_top_percent(101);
  bad.mutable_definition()->set_signup_days(3);
  bad.set_reason("x");
  v1::PutCampaignResponse put;
  const auto refused = admin_->PutCampaign(Ctx(s.owner).get(), bad, &put);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(refused),
            (std::vector<std::string>{"definition.top_percent", "definition.signup_days"}));
}

}  // namespace
}  // namespace loyalty::gateway
