// Tiers end to end (docs/tiers.md), through the public API on all six services and a real Postgres:
// the order that crosses a threshold moves the customer up; the tier's multiplier and free shipping
// show in QuoteCart and the order charges and earns the same; a refund below the threshold keeps
// the tier until the period end plus grace, when the tier job (with as-of, safe to run twice)
// lowers it; a manual tier lasts until its end. VerifyLedger is clean after each.
#include <google/protobuf/util/time_util.h>
#include <nlohmann/json.hpp>

#include <ctime>
#include <set>

#include "gateway_fixture.hpp"

namespace loyalty::gateway {
namespace {

using google::protobuf::util::TimeUtil;

class TiersIT : public GatewayIT {
 protected:
  // Member from 0 (×1); Gold from 80.00 of qualifying spend: ×2 points and free shipping.
  v1::PublishTiersResponse PublishTiers(
      const TestStore& s, int grace_days,
      points::v1::TierWindow window = points::v1::TIER_WINDOW_ROLLING_12_MONTHS) {
    v1::PublishTiersRequest req;
    req.set_request_id("tiers-1");
    req.set_reason("launch");
    auto* p = req.mutable_program();
    p->set_measure(points::v1::TIER_MEASURE_SPEND);
    p->set_window(window);
    p->set_grace_days(grace_days);
    auto* member = p->add_tiers();
    member->set_tier_id("member");
    member->set_name("Member");
    auto* gold = p->add_tiers();
    gold->set_tier_id("gold");
    gold->set_name("Gold");
    gold->set_threshold(8000);
    gold->mutable_benefits()->set_earn_multiplier_bps(20000);
    gold->mutable_benefits()->set_free_shipping(true);
    v1::PublishTiersResponse resp;
    const auto status = admin_->PublishTiers(Ctx(s.owner).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  }

  v1::QuoteCartResponse Quote(const TestStore& s, const v1::Cart& cart) {
    v1::QuoteCartRequest req;
    *req.mutable_cart() = cart;
    v1::QuoteCartResponse resp;
    const auto status = storefront_->QuoteCart(Ctx(s.storefront).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  }

  // One line of D (9.00), shipping 4.99: under the 60.00 free-shipping threshold.
  v1::Cart SmallCart(const std::string& customer) {
    v1::Cart cart;
    cart.set_customer_id(customer);
    auto* d = cart.add_lines();
    d->set_line_id("l1");
    d->set_sku("D");
    d->set_category("tea");
    d->set_unit_price_minor(900);
    d->set_quantity(1);
    cart.set_shipping_fee_minor(499);
    return cart;
  }

  std::vector<points::v1::PointsEvent> Events(const TestStore& s, const std::string& type) {
    points::v1::ListEventsRequest req;
    req.set_store_id(s.store_id);
    req.set_limit(1000);
    points::v1::ListEventsResponse resp;
    EXPECT_TRUE(points_stub_->ListEvents(testing::InternalContext().get(), req, &resp).ok());
    std::vector<points::v1::PointsEvent> out;
    for (const auto& e : resp.events()) {
      if (e.type() == type) out.push_back(e);
    }
    return out;
  }

  // The log's readers see an event once no transaction older than its own is running
  // (points_store.cpp), a moment after it committed: waits until there are `n` of `type`.
  std::vector<points::v1::PointsEvent> EventsOnceThere(const TestStore& s, const std::string& type,
                                                       size_t n) {
    Eventually([&] { return Events(s, type).size() >= n; });
    return Events(s, type);
  }

  int64_t RunTierJob(const TestStore& s, int64_t as_of_us) {
    v1::RunJobRequest req;
    req.set_store_id(s.store_id);
    req.set_job(v1::JOB_TIER_REVIEW);
    *req.mutable_as_of() = TimeUtil::MicrosecondsToTimestamp(as_of_us);
    v1::RunJobResponse resp;
    const auto status = admin_->RunJob(Ctx(kOperatorToken).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp.processed();
  }

  void ExpectLedgerClean(const TestStore& s) {
    v1::VerifyLedgerRequest req;
    req.set_store_id(s.store_id);
    v1::VerifyLedgerResponse resp;
    const auto status = admin_->VerifyLedger(Ctx(kOperatorToken).get(), req, &resp);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(resp.result().mismatches_size(), 0) << resp.DebugString();
    EXPECT_EQ(resp.result().zero_sum(), 0);
  }

  void PlaceOk(const TestStore& s, const std::string& order_id, const v1::Cart& cart,
               v1::PlaceOrderResponse* placed) {
    const auto status = Place(s, order_id, cart, placed);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
};

TEST_F(TiersIT, TheCrossingOrderMovesUpAndTheTierPricesQuoteAndOrderAlike) {
  const auto s = CreateStore("tiers-up");
  SetUpProgram(s);
  const auto published = PublishTiers(s, 0);
  EXPECT_EQ(published.version().version(), 1);
  EXPECT_FALSE(published.version().author().empty());  // the owner's key id
  EXPECT_EQ(published.version().reason(), "launch");
  EXPECT_EQ(published.version().program().currency_code(), "USD");
  const auto customer = Register(s, "tiers-up@example.com");

  // No orders: Member, 80.00 to Gold.
  auto st = Status(s, customer);
  EXPECT_EQ(st.tier().tier().tier_id(), "member") << st.DebugString();
  EXPECT_EQ(st.tier().progress().next_tier_id(), "gold");
  EXPECT_EQ(st.tier().progress().missing(), 8000);
  EXPECT_EQ(st.tier().currency_code(), "USD");

  // A 50.00 cart: Member's prices; after it, 30.00 would still be missing.
  auto q = Quote(s, TwoLineCart(customer, 0));
  EXPECT_EQ(q.tier().tier().tier_id(), "member");
  EXPECT_EQ(q.progress_after_cart().qualifying(), 5000);
  EXPECT_EQ(q.progress_after_cart().next_tier_id(), "gold");
  EXPECT_EQ(q.progress_after_cart().missing(), 3000);
  EXPECT_EQ(q.totals().shipping_minor(), 499);
  EXPECT_EQ(q.points_to_earn(), 50);
  v1::PlaceOrderResponse placed;
  PlaceOk(s, "order-1", TwoLineCart(customer, 0), &placed);
  ASSERT_TRUE(Eventually([&] { return Status(s, customer).tier().progress().missing() == 3000; }))
      << Status(s, customer).DebugString();
  EXPECT_EQ(Status(s, customer).tier().tier().tier_id(), "member");

  // The same cart again would reach Gold; the quote still prices it as Member.
  q = Quote(s, TwoLineCart(customer, 0));
  EXPECT_EQ(q.tier().tier().tier_id(), "member");
  EXPECT_EQ(q.progress_after_cart().reached_tier_id(), "gold");
  EXPECT_EQ(q.progress_after_cart().missing(), 0);
  EXPECT_EQ(q.points_to_earn(), 50);
  PlaceOk(s, "order-2", TwoLineCart(customer, 0), &placed);
  ASSERT_TRUE(Eventually([&] { return Status(s, customer).tier().tier().tier_id() == "gold"; }))
      << Status(s, customer).DebugString();
  st = Status(s, customer);
  EXPECT_EQ(st.tier().progress().qualifying(), 10000);
  EXPECT_TRUE(st.tier().progress().next_tier_id().empty());  // the top tier
  // None → member (order-1), member → gold (order-2).
  const auto changes = EventsOnceThere(s, "tier.changed", 2);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[1].order_id(), "order-2");
  const auto details = nlohmann::json::parse(changes[1].details_json());
  EXPECT_EQ(details["from"], "member");
  EXPECT_EQ(details["to"], "gold");
  EXPECT_EQ(details["qualifying"], 10000);
  EXPECT_EQ(details["reason"], "order order-2: qualifying 10000 reached Gold (threshold 8000)");
  // Order-2 itself earned as Member (50), as its quote said.
  const auto earned = EventsOnceThere(s, "points.earned", 2);
  ASSERT_EQ(earned.size(), 2u);
  EXPECT_EQ(earned[1].points(), 50);

  // As Gold: 9.00 under the free-shipping threshold ships free, with no gap; ×2 points.
  q = Quote(s, SmallCart(customer));
  EXPECT_EQ(q.tier().tier().tier_id(), "gold");
  EXPECT_TRUE(q.tier().tier().benefits().free_shipping());
  EXPECT_EQ(q.totals().shipping_minor(), 0);
  EXPECT_EQ(q.totals().total_minor(), 900);
  EXPECT_EQ(q.free_shipping_gap_minor(), 0);
  EXPECT_EQ(q.free_shipping_gap_closers_size(), 0);
  EXPECT_EQ(q.points_to_earn(), 18);
  // The order charges and earns what the quote said.
  PlaceOk(s, "order-3", SmallCart(customer), &placed);
  EXPECT_EQ(placed.order().shipping_minor(), 0);
  EXPECT_EQ(placed.order().total_minor(), q.totals().total_minor());
  ASSERT_TRUE(Eventually([&] { return Events(s, "points.earned").size() == 3u; }));
  EXPECT_EQ(Events(s, "points.earned")[2].points(), q.points_to_earn());
  ExpectLedgerClean(s);
}

TEST_F(TiersIT, ARefundBelowTheThresholdKeepsTheTierUntilThePeriodEndPlusGrace) {
  const auto s = CreateStore("tiers-down");
  SetUpProgram(s);
  PublishTiers(s, 10);
  const auto customer = Register(s, "tiers-down@example.com");
  v1::PlaceOrderResponse placed;
  PlaceOk(s, "order-1", TwoLineCart(customer, 0), &placed);
  PlaceOk(s, "order-2", TwoLineCart(customer, 0), &placed);
  ASSERT_TRUE(Eventually([&] { return Status(s, customer).tier().tier().tier_id() == "gold"; }))
      << Status(s, customer).DebugString();

  // Refund order-2's 30.00 line: 70.00 qualifies, under Gold's 80.00. Gold is kept.
  v1::RefundOrderRequest refund;
  refund.set_order_id("order-2");
  refund.set_refund_id("refund-1");
  auto* line = refund.add_lines();
  line->set_line_id("l1");
  line->set_quantity(1);
  v1::RefundOrderResponse refunded;
  const auto status = storefront_->RefundOrder(Ctx(s.storefront).get(), refund, &refunded);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(Eventually([&] {
    return Status(s, customer).tier().progress().qualifying() == 7000;
  })) << Status(s, customer).DebugString();
  auto st = Status(s, customer);
  EXPECT_EQ(st.tier().tier().tier_id(), "gold");
  EXPECT_EQ(st.tier().progress().reached_tier_id(), "member");
  ASSERT_TRUE(st.tier().has_kept_until());
  const int64_t since = TimeUtil::TimestampToMicroseconds(st.tier().since());
  const int64_t kept_until = TimeUtil::TimestampToMicroseconds(st.tier().kept_until());
  // 12 months in the store's time zone, then 10 days of grace.
  constexpr int64_t kDay = 86'400'000'000;
  EXPECT_GE(kept_until - since, 365 * kDay + 10 * kDay);
  EXPECT_LE(kept_until - since, 366 * kDay + 10 * kDay);

  // The job lowers nothing before that time, now or a microsecond before.
  EXPECT_EQ(RunTierJob(s, common::NowMicros()), 0);
  EXPECT_EQ(RunTierJob(s, kept_until - 1), 0);
  EXPECT_EQ(Status(s, customer).tier().tier().tier_id(), "gold");
  // From it, the customer goes to what they qualify for; a second run changes nothing more.
  EXPECT_EQ(RunTierJob(s, kept_until), 1);
  EXPECT_EQ(RunTierJob(s, kept_until), 0);
  st = Status(s, customer);
  EXPECT_EQ(st.tier().tier().tier_id(), "member");
  const auto changes = EventsOnceThere(s, "tier.changed", 3);
  ASSERT_EQ(changes.size(), 3u);
  const auto details = nlohmann::json::parse(changes[2].details_json());
  EXPECT_EQ(details["from"], "gold");
  EXPECT_EQ(details["to"], "member");
  EXPECT_NE(details["reason"].get<std::string>().find("is below Gold (threshold 8000)"),
            std::string::npos)
      << details.dump();
  ExpectLedgerClean(s);
}

TEST_F(TiersIT, AManualTierIsRecordedAndLastsUntilItsEnd) {
  const auto s = CreateStore("tiers-manual");
  SetUpProgram(s);
  PublishTiers(s, 0);
  const auto customer = Register(s, "tiers-manual@example.com");
  v1::SetManualTierRequest req;
  req.set_request_id("manual-1");
  req.set_customer_id(customer);
  req.set_tier_id("gold");
  *req.mutable_until() = InDays(30);
  req.set_reason("influencer partnership");
  v1::SetManualTierResponse resp;
  auto status = admin_->SetManualTier(Ctx(s.owner).get(), req, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.status().tier().tier_id(), "gold");
  EXPECT_TRUE(resp.status().manual());
  // A tier the program does not have, and a customer the store does not have, are refused.
  req.set_request_id("manual-2");
  req.set_tier_id("platinum");
  status = admin_->SetManualTier(Ctx(s.owner).get(), req, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_request_id("manual-3");
  req.set_tier_id("gold");
  req.set_customer_id("nobody");
  status = admin_->SetManualTier(Ctx(s.owner).get(), req, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);

  // Gold's free shipping, in the quote and the order.
  const auto q = Quote(s, SmallCart(customer));
  EXPECT_TRUE(q.tier().manual());
  EXPECT_EQ(q.totals().shipping_minor(), 0);
  v1::PlaceOrderResponse placed;
  PlaceOk(s, "order-1", SmallCart(customer), &placed);
  EXPECT_EQ(placed.order().shipping_minor(), 0);

  const auto changes = EventsOnceThere(s, "tier.changed", 1);
  ASSERT_EQ(changes.size(), 1u);
  auto details = nlohmann::json::parse(changes[0].details_json());
  EXPECT_EQ(details["to"], "gold");
  EXPECT_EQ(details["cause"], "manual");
  EXPECT_NE(details["reason"].get<std::string>().find("influencer partnership"), std::string::npos);

  // After its end the job puts the customer back to what they qualify for.
  ASSERT_TRUE(Eventually([&] { return Events(s, "points.earned").size() == 1u; }));
  EXPECT_EQ(RunTierJob(s, TimeUtil::TimestampToMicroseconds(InDays(31))), 1);
  const auto st = Status(s, customer);
  EXPECT_EQ(st.tier().tier().tier_id(), "member");
  EXPECT_FALSE(st.tier().manual());
  const auto after = EventsOnceThere(s, "tier.changed", 2);
  ASSERT_EQ(after.size(), 2u);
  details = nlohmann::json::parse(after.back().details_json());
  EXPECT_EQ(details["from"], "gold");
  EXPECT_EQ(details["to"], "member");
  ExpectLedgerClean(s);
}

// The store is in America/New_York (UTC-5 in winter): a calendar-year tier is kept until local
// midnight of 1 January, 05:00 UTC, read from the system's time zone data by the points service.
TEST_F(TiersIT, ACalendarYearEndsAtMidnightOfFirstJanuaryInTheStoresTimeZone) {
  const auto s = CreateStore("tiers-calendar");
  SetUpProgram(s);
  PublishTiers(s, 0, points::v1::TIER_WINDOW_CALENDAR_YEAR);
  const auto customer = Register(s, "tiers-calendar@example.com");
  v1::PlaceOrderResponse placed;
  PlaceOk(s, "order-1", TwoLineCart(customer, 0), &placed);
  PlaceOk(s, "order-2", TwoLineCart(customer, 0), &placed);
  ASSERT_TRUE(Eventually([&] { return Status(s, customer).tier().tier().tier_id() == "gold"; }))
      << Status(s, customer).DebugString();
  // The local year now (New York is at UTC-5 around the new year), and its end in UTC.
  const std::time_t local_now = static_cast<std::time_t>(common::NowMicros() / 1000000 - 5 * 3600);
  std::tm local{};
  gmtime_r(&local_now, &local);
  std::tm new_year{};
  new_year.tm_year = local.tm_year + 1;
  new_year.tm_mday = 1;
  new_year.tm_hour = 5;
  const int64_t year_end = int64_t{timegm(&new_year)} * 1000000;
  const auto st = Status(s, customer);
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(st.tier().kept_until()), year_end)
      << st.DebugString();
  EXPECT_EQ(RunTierJob(s, year_end - 1), 0);
  // From then the new year's figure (nothing yet) counts: back to Member.
  EXPECT_EQ(RunTierJob(s, year_end), 1);
  EXPECT_EQ(Status(s, customer).tier().tier().tier_id(), "member");
  ExpectLedgerClean(s);
}

// A segment by tier: the tier in force at the time it is evaluated, so a manual tier counts
// until its end. Campaigns naming the segment reach those customers (CampaignIT covers the run).
TEST_F(TiersIT, ASegmentByTierHasTheCustomersInThatTierAtItsTime) {
  const auto s = CreateStore("tiers-segment");
  SetUpProgram(s);
  PublishTiers(s, 0);
  const auto ada = Register(s, "tiers-segment-ada@example.com");
  const auto bob = Register(s, "tiers-segment-bob@example.com");
  Register(s, "tiers-segment-cy@example.com");  // in no tier
  const auto manual_gold = [&](const std::string& customer, int days) {
    v1::SetManualTierRequest req;
    req.set_request_id("manual-" + customer);
    req.set_customer_id(customer);
    req.set_tier_id("gold");
    *req.mutable_until() = InDays(days);
    req.set_reason("partnership");
    v1::SetManualTierResponse resp;
    const auto status = admin_->SetManualTier(Ctx(s.owner).get(), req, &resp);
    ASSERT_TRUE(status.ok()) << status.error_message();
  };
  manual_gold(ada, 30);
  manual_gold(bob, 10);

  v1::PutSegmentRequest put;
  put.set_request_id("segment-gold");
  put.set_segment_id("gold");
  put.mutable_definition()->set_tier_id("gold");
  put.set_reason("our best");
  v1::PutSegmentResponse saved;
  auto status = admin_->PutSegment(Ctx(s.owner).get(), put, &saved);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const auto members_at = [&](int days) {
    v1::PreviewSegmentRequest req;
    req.set_segment_id("gold");
    *req.mutable_as_of() = InDays(days);
    v1::PreviewSegmentResponse resp;
    const auto previewed = admin_->PreviewSegment(Ctx(s.owner).get(), req, &resp);
    EXPECT_TRUE(previewed.ok()) << previewed.error_message();
    return std::set<std::string>(resp.customer_ids().begin(), resp.customer_ids().end());
  };
  EXPECT_EQ(members_at(0), (std::set<std::string>{ada, bob}));
  EXPECT_EQ(members_at(20), (std::set<std::string>{ada})) << "bob's manual gold ended on day 10";
  EXPECT_TRUE(members_at(40).empty());

  put.set_request_id("segment-bad");
  put.mutable_definition()->set_tier_id("gold tier");
  status = admin_->PutSegment(Ctx(s.owner).get(), put, &saved);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"definition.tier_id"});
}

}  // namespace
}  // namespace loyalty::gateway
