// The gateway end to end: all six services on a throwaway database, called through the public
// StorefrontService and AdminService with real keys.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <vector>

#include "gateway_fixture.hpp"

namespace loyalty::gateway {
namespace {

// Reads a stream until `want` events arrived (or a heartbeat after at least `want` = -1).
std::vector<points::v1::PointsEvent> ReadEvents(v1::StorefrontService::Stub& stub,
                                                const std::string& key, const std::string& after,
                                                int want) {
  auto ctx = Ctx(key, 20s);
  v1::StreamEventsRequest req;
  req.set_after(after);
  req.set_heartbeat_seconds(1);
  auto reader = stub.StreamEvents(ctx.get(), req);
  std::vector<points::v1::PointsEvent> events;
  v1::StreamEventsResponse item;
  while (reader->Read(&item)) {
    if (item.has_event()) events.push_back(item.event());
    if (want >= 0 && static_cast<int>(events.size()) >= want) break;
    if (want < 0 && item.has_heartbeat()) break;
  }
  ctx->TryCancel();
  (void)reader->Finish();
  return events;
}

TEST_F(GatewayIT, OneCustomerStoryThroughTheGateway) {
  const auto s = CreateStore("story");
  SetUpProgram(s);
  const auto customer = Register(s, "ada@example.com");
  Adjust(s, customer, 1000);

  // Quote: 5,000 of goods, 500 points (5.00) off: 4,500 < 6,000 → gap 1,500, shipping charged.
  v1::QuoteCartRequest quote;
  *quote.mutable_cart() = TwoLineCart(customer, 500);
  v1::QuoteCartResponse q;
  auto status = storefront_->QuoteCart(Ctx(s.storefront).get(), quote, &q);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(q.totals().subtotal_minor(), 5000);
  EXPECT_EQ(q.totals().points_used(), 500);
  EXPECT_EQ(q.totals().points_amount_minor(), 500);
  EXPECT_EQ(q.totals().shipping_minor(), 499);
  EXPECT_EQ(q.totals().total_minor(), 4999);
  EXPECT_EQ(q.points_available(), 1000);
  EXPECT_EQ(q.max_points_redeemable(), 1000);
  EXPECT_EQ(q.free_shipping_gap_minor(), 1500);
  EXPECT_EQ(q.points_to_earn(), 45);  // 27 + 18 on the lines' net amounts
  EXPECT_FALSE(q.partial());
  std::set<std::string> closers;
  for (const auto& c : q.free_shipping_gap_closers()) closers.insert(c.sku());
  EXPECT_TRUE(closers.count("C")) << q.DebugString();
  EXPECT_FALSE(closers.count("D"));

  // The same cart paying no points takes one round (PreviewEarn brings the balance): the same
  // balance and cap, no points used.
  *quote.mutable_cart() = TwoLineCart(customer, 0);
  v1::QuoteCartResponse unpaid;
  status = storefront_->QuoteCart(Ctx(s.storefront).get(), quote, &unpaid);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(unpaid.points_available(), 1000);
  EXPECT_EQ(unpaid.max_points_redeemable(), 1000);
  EXPECT_EQ(unpaid.totals().points_used(), 0);
  EXPECT_EQ(unpaid.totals().total_minor(), 5499);
  EXPECT_EQ(unpaid.points_to_earn(), 50);

  // Order paying partly with points.
  v1::PlaceOrderResponse placed;
  status = Place(s, "order-1", TwoLineCart(customer, 500), &placed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(placed.order().points_paid(), 500);
  EXPECT_EQ(placed.order().shipping_minor(), 499);
  EXPECT_EQ(placed.order().total_minor(), 4999);
  // Pending points, and the hold committed by the order event.
  ASSERT_TRUE(Eventually([&] {
    const auto st = Status(s, customer);
    return st.balance().pending() == 45 && st.balance().held() == 0 &&
           st.balance().available() == 500;
  })) << Status(s, customer).DebugString();

  // Fulfil, then release after the return window (the as-of job).
  v1::FulfillOrderRequest fulfil;
  fulfil.set_order_id("order-1");
  v1::FulfillOrderResponse fulfilled;
  ASSERT_TRUE(storefront_->FulfillOrder(Ctx(s.storefront).get(), fulfil, &fulfilled).ok());
  ASSERT_TRUE(Eventually([&] {
    RunJob("release", s.store_id, 15);
    return Status(s, customer).balance().available() == 545;
  })) << Status(s, customer).DebugString();

  // A one-line refund claws back exactly that line's points (l2: 18) and returns the points
  // that line was paid with (its share of the 500: 200).
  v1::RefundOrderRequest refund;
  refund.set_order_id("order-1");
  refund.set_refund_id("refund-1");
  auto* line = refund.add_lines();
  line->set_line_id("l2");
  line->set_quantity(1);
  v1::RefundOrderResponse refunded;
  status = storefront_->RefundOrder(Ctx(s.storefront).get(), refund, &refunded);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(Eventually([&] { return Status(s, customer).balance().available() == 545 - 18 + 200; }))
      << Status(s, customer).DebugString();

  // The event stream shows each step in order, resumed once mid-way: nothing missed or doubled.
  points::v1::ListEventsRequest all_req;
  all_req.set_store_id(s.store_id);
  all_req.set_limit(1000);
  points::v1::ListEventsResponse all;
  ASSERT_TRUE(points_stub_->ListEvents(testing::InternalContext().get(), all_req, &all).ok());
  ASSERT_GE(all.events_size(), 5);
  const auto first = ReadEvents(*storefront_, s.storefront, "", 2);
  ASSERT_EQ(first.size(), 2u);
  const auto rest = ReadEvents(*storefront_, s.storefront, first.back().cursor(), -1);
  std::vector<std::string> seen;
  for (const auto& e : first) seen.push_back(e.cursor());
  for (const auto& e : rest) seen.push_back(e.cursor());
  ASSERT_EQ(seen.size(), static_cast<size_t>(all.events_size()));
  std::vector<std::string> types;
  for (int i = 0; i < all.events_size(); ++i) {
    EXPECT_EQ(seen[static_cast<size_t>(i)], all.events(i).cursor());
    types.push_back(all.events(i).type());
  }
  auto pos = [&](const std::string& type) {
    return std::find(types.begin(), types.end(), type) - types.begin();
  };
  EXPECT_LT(pos("points.adjusted"), pos("points.earned"));
  EXPECT_LT(pos("points.earned"), pos("points.available"));
  EXPECT_LT(pos("points.available"), pos("points.clawed_back"));
  EXPECT_LT(pos("points.clawed_back"), static_cast<long>(types.size()));
}

TEST_F(GatewayIT, PlaceOrderReplaysRefusesChangesAndVoidsRefusedHolds) {
  const auto s = CreateStore("checkout");
  SetUpProgram(s);
  const auto customer = Register(s, "bob@example.com");
  Adjust(s, customer, 1000);

  v1::PlaceOrderResponse first, again;
  ASSERT_TRUE(Place(s, "o-1", TwoLineCart(customer, 300), &first).ok());
  auto status = Place(s, "o-1", TwoLineCart(customer, 300), &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(first.SerializeAsString(), again.SerializeAsString());
  v1::PlaceOrderResponse changed;
  status = Place(s, "o-1", TwoLineCart(customer, 200), &changed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(common::ErrorReason(status), "ORDER_ID_REUSED");
  ASSERT_TRUE(Eventually([&] {
    const auto b = Status(s, customer).balance();
    return b.available() == 700 && b.held() == 0;
  }));

  // A cart that checkout refuses (two lines with one id) claims nothing: no hold, and the id
  // stays free for the corrected cart.
  auto bad = TwoLineCart(customer, 200);
  bad.mutable_lines(1)->set_line_id("l1");
  v1::PlaceOrderResponse refused;
  status = Place(s, "o-2", bad, &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"cart.lines[1].line_id"});
  auto b = Status(s, customer).balance();
  EXPECT_EQ(b.available(), 700);
  EXPECT_EQ(b.held(), 0);
  v1::PlaceOrderResponse corrected;
  status = Place(s, "o-2", TwoLineCart(customer, 200), &corrected);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(corrected.order().points_paid(), 200);
}

TEST_F(GatewayIT, CheckoutKilledAfterOrderCreatedLosesNothing) {
  const auto s = CreateStore("crash");
  SetUpProgram(s);
  const auto customer = Register(s, "cy@example.com");
  Adjust(s, customer, 1000);
  auto crashy = StartCheckout({{"LOYALTY_FAILPOINTS", "checkout.after_order_created=crash"}});
  crashy->WaitServing();
  auto front = StartGateway({{"LOYALTY_CHECKOUT_ADDR", crashy->address()}});
  front->WaitServing();
  Connect(front->address());
  v1::PlaceOrderResponse lost;
  auto status = Place(s, "o-crash", TwoLineCart(customer, 400), &lost);
  EXPECT_FALSE(status.ok());
  crashy->Kill();
  Connect(gateway_->address());
  // The order event commits the hold: no points stay held.
  ASSERT_TRUE(Eventually([&] {
    const auto b = Status(s, customer).balance();
    return b.held() == 0 && b.available() == 600 && b.pending() > 0;
  })) << Status(s, customer).DebugString();
  // The same PlaceOrder retried returns the first answer: one order, one hold.
  v1::PlaceOrderResponse retried;
  status = Place(s, "o-crash", TwoLineCart(customer, 400), &retried);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(retried.order().order_id(), "o-crash");
  EXPECT_EQ(retried.order().points_paid(), 400);
  const auto b = Status(s, customer).balance();
  EXPECT_EQ(b.available(), 600);
  EXPECT_EQ(b.held(), 0);
}

TEST_F(GatewayIT, OrdersStoppedAnswersUnavailableAndTheExpiryJobReleasesTheHold) {
  const auto s = CreateStore("down");
  SetUpProgram(s);
  const auto customer = Register(s, "di@example.com");
  Adjust(s, customer, 1000);
  ASSERT_EQ(orders_->Terminate(), 0);
  v1::PlaceOrderResponse resp;
  auto status = Place(s, "o-down", TwoLineCart(customer, 250), &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  auto b = Status(s, customer).balance();
  EXPECT_EQ(b.held(), 250);
  orders_->Start();
  WaitHealthy(orders_addr_);
  // Hold TTL is 60 s: the expiry job (as of tomorrow) abandons the order id, then releases.
  RunJob("holds", s.store_id, 1);
  b = Status(s, customer).balance();
  EXPECT_EQ(b.held(), 0);
  EXPECT_EQ(b.available(), 1000);
}

TEST_F(GatewayIT, QuoteIsPartialWhenRecommendationsIsDownOrSlow) {
  const auto s = CreateStore("partial");
  SetUpProgram(s);
  const auto customer = Register(s, "ed@example.com");
  v1::QuoteCartRequest quote;
  *quote.mutable_cart() = TwoLineCart(customer, 0);
  auto check = [&](const char* what) {
    v1::QuoteCartResponse q;
    const auto started = std::chrono::steady_clock::now();
    auto status = storefront_->QuoteCart(Ctx(s.storefront, 2s).get(), quote, &q);
    const auto took = std::chrono::steady_clock::now() - started;
    ASSERT_TRUE(status.ok()) << what << ": " << status.error_message();
    EXPECT_TRUE(q.partial()) << what;
    EXPECT_EQ(q.totals().total_minor(), 5499) << what;
    EXPECT_EQ(q.points_to_earn(), 50) << what;
    EXPECT_LT(took, 1500ms) << what;
  };
  recs_->Kill();
  check("stopped");
  StartRecommendations({{"LOYALTY_FAILPOINTS", "rpc.before_handler=sleep:3000"}});
  WaitHealthy(recs_addr_);
  check("slow");
}

// Quotes keep the store's settings (LOYALTY_CHECKOUT_SETTINGS_CACHE_MS, 30 s) until the points
// service announces a change; a checkout always reads them fresh. So an order right after a change
// follows it, and a quote does within moments, far sooner than the cache's age.
TEST_F(GatewayIT, CheckoutsAndQuotesFollowASettingsChangeAtOnce) {
  const auto s = CreateStore("settings-cache");
  SetUpProgram(s);  // free shipping from 6,000
  const auto customer = Register(s, "gus@example.com");
  v1::QuoteCartRequest quote;
  *quote.mutable_cart() = TwoLineCart(customer, 0);
  v1::QuoteCartResponse before;
  ASSERT_TRUE(storefront_->QuoteCart(Ctx(s.storefront).get(), quote, &before).ok());
  EXPECT_EQ(before.free_shipping_threshold_minor(), 6000);

  v1::GetSettingsResponse current;
  ASSERT_TRUE(admin_->GetSettings(Ctx(s.owner).get(), v1::GetSettingsRequest(), &current).ok());
  v1::UpdateSettingsRequest change;
  change.set_request_id("settings-2");
  *change.mutable_settings() = current.settings();
  change.mutable_settings()->set_free_shipping_threshold_minor(4000);
  v1::UpdateSettingsResponse changed;
  ASSERT_TRUE(admin_->UpdateSettings(Ctx(s.owner).get(), change, &changed).ok());
  const auto changed_at = std::chrono::steady_clock::now();

  v1::PlaceOrderResponse placed;
  const auto status = Place(s, "after-change", TwoLineCart(customer, 0), &placed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(placed.order().shipping_minor(), 0);

  v1::QuoteCartResponse after;
  ASSERT_TRUE(Eventually([&] {
    after.Clear();
    return storefront_->QuoteCart(Ctx(s.storefront).get(), quote, &after).ok() &&
           after.free_shipping_threshold_minor() == 4000;
  }));
  EXPECT_LT(std::chrono::steady_clock::now() - changed_at, 2500ms) << "the announcement was missed";
  EXPECT_EQ(after.free_shipping_gap_minor(), 0);
  EXPECT_EQ(after.totals().shipping_minor(), 0);
}

// Recommendations take at most 100 cart lines; a larger cart (the gateway takes 500) still gets
// its suggestions, from the first 100 lines, and points for every line.
TEST_F(GatewayIT, QuoteOfALargeCartIsWholeAndEarnsOnEveryLine) {
  const auto s = CreateStore("large");
  SetUpProgram(s);
  const auto customer = Register(s, "flo@example.com");
  v1::QuoteCartRequest quote;
  *quote.mutable_cart() = TwoLineCart(customer, 0);
  v1::QuoteCartResponse small;
  ASSERT_TRUE(storefront_->QuoteCart(Ctx(s.storefront).get(), quote, &small).ok());
  for (int i = 0; i < 148; ++i) {
    auto* line = quote.mutable_cart()->add_lines();
    line->set_line_id("x" + std::to_string(i));
    line->set_sku("X" + std::to_string(i));
    line->set_category("mugs");
    line->set_unit_price_minor(1000);
    line->set_quantity(1);
  }
  v1::QuoteCartResponse q;
  const auto status = storefront_->QuoteCart(Ctx(s.storefront).get(), quote, &q);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(q.partial()) << q.DebugString();
  EXPECT_EQ(q.totals().subtotal_minor(), 5000 + 148 * 1000);
  EXPECT_EQ(q.line_points_size(), 150);
  EXPECT_GT(q.points_to_earn(), small.points_to_earn());
}

// The worked cart: 10 points per unit, 1040×1, 999×3, 501×2 and 500 off. The quote, the
// placed order and the ledger agree line by line: 93 + 270 + 90 = 453.
TEST_F(GatewayIT, TheQuoteTheOrderAndTheLedgerAgreeToThePoint) {
  const auto s = CreateStore("worked");
  SetUpProgram(s);
  v1::PublishEarnRulesRequest rules;
  rules.set_request_id("rules-10");
  rules.mutable_rules()->set_base_rate(10);
  v1::PublishEarnRulesResponse published;
  ASSERT_TRUE(admin_->PublishEarnRules(Ctx(s.owner).get(), rules, &published).ok());
  const auto customer = Register(s, "hal@example.com");
  v1::Cart cart;
  cart.set_customer_id(customer);
  const std::vector<std::pair<int64_t, int>> lines{{1040, 1}, {999, 3}, {501, 2}};
  for (size_t i = 0; i < lines.size(); ++i) {
    auto* l = cart.add_lines();
    l->set_line_id("l" + std::to_string(i + 1));
    l->set_sku(std::string(1, static_cast<char>('A' + i)));
    l->set_category("mugs");
    l->set_unit_price_minor(lines[i].first);
    l->set_quantity(lines[i].second);
  }
  auto* d = cart.add_discounts();
  d->set_code("SPRING");
  d->set_amount_minor(500);

  v1::QuoteCartRequest quote;
  *quote.mutable_cart() = cart;
  v1::QuoteCartResponse q;
  auto status = storefront_->QuoteCart(Ctx(s.storefront).get(), quote, &q);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(q.line_points_size(), 3);
  EXPECT_EQ(q.line_points(1).points(), 270);
  EXPECT_EQ(q.points_to_earn(), 453);

  v1::PlaceOrderResponse placed;
  status = Place(s, "worked-1", cart, &placed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(placed.order().lines_size(), 3);
  EXPECT_EQ(placed.order().lines(0).net_minor(), 937);
  EXPECT_EQ(placed.order().lines(1).net_minor(), 2700);
  EXPECT_EQ(placed.order().lines(2).net_minor(), 902);
  EXPECT_EQ(placed.order().total_minor(), q.totals().total_minor());
  ASSERT_TRUE(Eventually([&] { return Status(s, customer).balance().pending() == 453; }))
      << Status(s, customer).DebugString();
}

// One validation, at checkout's edge: amounts that cannot be represented are INVALID_ARGUMENT
// naming the public field, in QuoteCart and PlaceOrder alike, and a refused cart leaves its
// order id free.
TEST_F(GatewayIT, UnrepresentableCartsAreRefusedByFieldAndKeepTheirOrderId) {
  const auto s = CreateStore("overflow");
  SetUpProgram(s);
  const auto customer = Register(s, "ivy@example.com");
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  auto shipping = TwoLineCart(customer, 0);
  shipping.set_shipping_fee_minor(kMax);
  auto discounts = TwoLineCart(customer, 0);
  for (int i = 0; i < 2; ++i) {
    auto* d = discounts.add_discounts();
    d->set_code("MAX" + std::to_string(i));
    d->set_amount_minor(kMax);
  }
  const std::vector<std::pair<v1::Cart, std::vector<std::string>>> cases{
      {shipping, {"cart.shipping_fee_minor"}},
      {discounts, {"cart.discounts[0].amount_minor", "cart.discounts[1].amount_minor"}}};
  for (const auto& [cart, fields] : cases) {
    v1::QuoteCartRequest quote;
    *quote.mutable_cart() = cart;
    v1::QuoteCartResponse q;
    auto status = storefront_->QuoteCart(Ctx(s.storefront).get(), quote, &q);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(common::ErrorReason(status), "AMOUNT_OUT_OF_RANGE");
    EXPECT_EQ(common::ErrorFields(status), fields);
    v1::PlaceOrderResponse placed;
    status = Place(s, "overflow-1", cart, &placed);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(common::ErrorFields(status), fields);
    EXPECT_EQ(status.error_message().find("9223372036854775807"), std::string::npos)
        << "the message names the field and its range, not the value echoed back";
  }
  v1::PlaceOrderResponse placed;
  const auto status = Place(s, "overflow-1", TwoLineCart(customer, 0), &placed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(placed.order().order_id(), "overflow-1");
}

TEST_F(GatewayIT, AnUnknownCustomerIsNotFoundEverywhere) {
  const auto s = CreateStore("stranger");
  SetUpProgram(s);
  v1::QuoteCartRequest quote;
  *quote.mutable_cart() = TwoLineCart("nobody", 0);
  v1::QuoteCartResponse q;
  auto status = storefront_->QuoteCart(Ctx(s.storefront).get(), quote, &q);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(common::ErrorReason(status), "CUSTOMER_NOT_FOUND");

  v1::GetLoyaltyStatusRequest req;
  req.set_customer_id("nobody");
  v1::GetLoyaltyStatusResponse st;
  status = storefront_->GetLoyaltyStatus(Ctx(s.storefront).get(), req, &st);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(common::ErrorReason(status), "CUSTOMER_NOT_FOUND");

  v1::PlaceOrderResponse placed;
  status = Place(s, "stranger-1", TwoLineCart("nobody", 100), &placed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_EQ(common::ErrorReason(status), "CUSTOMER_NOT_FOUND");
  // Without points the orders service says the same, and the id stays free.
  status = Place(s, "stranger-1", TwoLineCart("nobody", 0), &placed);
  EXPECT_EQ(common::ErrorReason(status), "CUSTOMER_NOT_FOUND");
  const auto customer = Register(s, "nobody-yet@example.com");
  status = Place(s, "stranger-1", TwoLineCart(customer, 0), &placed);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// The ledger takes any customer id; the gateway asks customers first. Store A's owner key crediting
// store B's customer is refused and changes nothing: A's liability must not grow for nobody.
TEST_F(GatewayIT, AdjustPointsRefusesACustomerTheStoreDoesNotHave) {
  const auto a = CreateStore("adjust-a");
  const auto b = CreateStore("adjust-b");
  SetUpProgram(a);
  SetUpProgram(b);
  const auto theirs = Register(b, "theirs@example.com");
  Adjust(b, theirs, 100);

  v1::AdjustPointsRequest req;
  req.set_request_id("credit-a-stranger");
  req.set_customer_id(theirs);
  req.set_points(500);
  req.set_reason("goodwill");
  v1::AdjustPointsResponse resp;
  auto status = admin_->AdjustPoints(Ctx(a.owner).get(), req, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_EQ(common::ErrorReason(status), "CUSTOMER_NOT_FOUND");
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"customer_id"});
  EXPECT_EQ(status.error_message().find("127.0.0.1"), std::string::npos) << status.error_message();

  // Nothing changed: no transfer, balance or audit entry in A; B's customer as before.
  pqxx::connection conn(db_.url());
  pqxx::nontransaction tx(conn);
  for (const char* table : {"points.transfers", "points.balances", "points.lots"}) {
    EXPECT_EQ(tx.exec_params1(std::string("SELECT count(*) FROM ") + table + " WHERE store_id = $1",
                              a.store_id)[0]
                  .as<int>(),
              0)
        << table;
  }
  EXPECT_EQ(tx.exec_params1("SELECT count(*) FROM gateway.audit_log WHERE store_id = $1 "
                            "AND method = 'AdjustPoints'",
                            a.store_id)[0]
                .as<int>(),
            0);
  EXPECT_EQ(Status(b, theirs).balance().available(), 100);

  // An empty id is bad input, named; the refused request id stays free for a real customer.
  req.set_customer_id("");
  status = admin_->AdjustPoints(Ctx(a.owner).get(), req, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"customer_id"});
  req.set_customer_id(Register(a, "ours@example.com"));
  status = admin_->AdjustPoints(Ctx(a.owner).get(), req, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.balance().available(), 500);
}

// The admin console's customer page: a viewer finds a customer of its own store by email and
// reads the ledger (reasons, balance); another store's customer is a stranger to it.
TEST_F(GatewayIT, LookupCustomerAndListLedgerSeeOnlyTheKeysStore) {
  const auto a = CreateStore("lookup-a");
  const auto b = CreateStore("lookup-b");
  SetUpProgram(a);
  SetUpProgram(b);
  const auto ada = Register(a, "ada@example.com");
  const auto theirs = Register(b, "theirs@example.com");
  Adjust(a, ada, 40);
  const std::string viewer = CreateKey(a.owner, v1::KEY_KIND_ADMIN, v1::ROLE_VIEWER, 0);

  v1::GetCustomerRequest lookup;
  lookup.set_email("ada@example.com");
  v1::GetCustomerResponse found;
  auto status = admin_->LookupCustomer(Ctx(viewer).get(), lookup, &found);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(found.customer().customer_id(), ada);
  lookup.set_email("theirs@example.com");
  status = admin_->LookupCustomer(Ctx(viewer).get(), lookup, &found);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_EQ(common::ErrorReason(status), "CUSTOMER_NOT_FOUND");

  v1::ListLedgerRequest ledger;
  ledger.set_customer_id(ada);
  v1::ListLedgerResponse page;
  status = admin_->ListLedger(Ctx(viewer).get(), ledger, &page);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_FALSE(page.transfers().empty());
  EXPECT_EQ(page.transfers(0).kind(), "adjust");
  EXPECT_EQ(page.transfers(0).amount(), 40);
  EXPECT_EQ(page.transfers(0).reason(), "welcome gift");
  EXPECT_EQ(page.balance().available(), Status(a, ada).balance().available());

  ledger.set_customer_id(theirs);
  status = admin_->ListLedger(Ctx(viewer).get(), ledger, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"customer_id"});
  ledger.set_customer_id("");
  status = admin_->ListLedger(Ctx(viewer).get(), ledger, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"customer_id"});

  // Members: the store's own customers, erased ones left out.
  auto members = [&](const std::string& key) {
    v1::CountMembersResponse counted;
    const auto s = admin_->CountMembers(Ctx(key).get(), v1::CountMembersRequest(), &counted);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return counted.members();
  };
  const auto bo = Register(a, "bo@example.com");
  EXPECT_EQ(members(viewer), 2);
  EXPECT_EQ(members(b.owner), 1);
  v1::EraseCustomerRequest erase;
  erase.set_request_id("erase-bo");
  erase.set_customer_id(bo);
  v1::EraseCustomerResponse erased;
  status = admin_->EraseCustomer(Ctx(a.owner).get(), erase, &erased);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(members(viewer), 1);
}

TEST_F(GatewayIT, AuthMatrix) {
  const auto s = CreateStore("auth");
  const auto other = CreateStore("other");
  std::string revoked_id;
  const std::string revoked =
      CreateKey(s.owner, v1::KEY_KIND_STOREFRONT, v1::ROLE_UNSPECIFIED, 0, &revoked_id);
  const std::string viewer = CreateKey(s.owner, v1::KEY_KIND_ADMIN, v1::ROLE_VIEWER, 0);
  v1::RevokeApiKeyRequest revoke;
  revoke.set_key_id(revoked_id);
  v1::RevokeApiKeyResponse revoke_resp;
  ASSERT_TRUE(admin_->RevokeApiKey(Ctx(s.owner).get(), revoke, &revoke_resp).ok());
  std::this_thread::sleep_for(600ms);  // the key cache: revocation within seconds
  const std::string bad = "lk_0123456789abcdef_" + std::string(64, 'a');

  // Every RPC: no key and a bad key are UNAUTHENTICATED.
  using Call = std::function<grpc::Status(const std::string& key, const std::string& store)>;
  std::map<std::string, Call> storefront_calls = {
      {"RegisterCustomer", [&](auto& k, auto& st) { v1::RegisterCustomerRequest r; r.set_store_id(st); r.set_request_id("x"); r.set_email("x@example.com"); v1::RegisterCustomerResponse o; return storefront_->RegisterCustomer(Ctx(k).get(), r, &o); }},
      {"GetCustomer", [&](auto& k, auto& st) { v1::GetCustomerRequest r; r.set_store_id(st); r.set_customer_id("c"); v1::GetCustomerResponse o; return storefront_->GetCustomer(Ctx(k).get(), r, &o); }},
      {"UpdateCustomer", [&](auto& k, auto& st) { v1::UpdateCustomerRequest r; r.set_store_id(st); v1::UpdateCustomerResponse o; return storefront_->UpdateCustomer(Ctx(k).get(), r, &o); }},
      {"GetLoyaltyStatus", [&](auto& k, auto& st) { v1::GetLoyaltyStatusRequest r; r.set_store_id(st); r.set_customer_id("c"); v1::GetLoyaltyStatusResponse o; return storefront_->GetLoyaltyStatus(Ctx(k).get(), r, &o); }},
      {"QuoteCart", [&](auto& k, auto& st) { v1::QuoteCartRequest r; r.set_store_id(st); *r.mutable_cart() = TwoLineCart("", 0); v1::QuoteCartResponse o; return storefront_->QuoteCart(Ctx(k).get(), r, &o); }},
      {"PlaceOrder", [&](auto& k, auto& st) { v1::PlaceOrderRequest r; r.set_store_id(st); r.set_order_id("auth-o"); *r.mutable_cart() = TwoLineCart("c", 0); v1::PlaceOrderResponse o; return storefront_->PlaceOrder(Ctx(k).get(), r, &o); }},
      {"FulfillOrder", [&](auto& k, auto& st) { v1::FulfillOrderRequest r; r.set_store_id(st); r.set_order_id("o"); v1::FulfillOrderResponse o; return storefront_->FulfillOrder(Ctx(k).get(), r, &o); }},
      {"RefundOrder", [&](auto& k, auto& st) { v1::RefundOrderRequest r; r.set_store_id(st); r.set_order_id("o"); v1::RefundOrderResponse o; return storefront_->RefundOrder(Ctx(k).get(), r, &o); }},
      {"CancelOrder", [&](auto& k, auto& st) { v1::CancelOrderRequest r; r.set_store_id(st); r.set_order_id("o"); v1::CancelOrderResponse o; return storefront_->CancelOrder(Ctx(k).get(), r, &o); }},
      {"RecommendForProduct", [&](auto& k, auto& st) { v1::RecommendForProductRequest r; r.set_store_id(st); r.set_sku("A"); v1::RecommendForProductResponse o; return storefront_->RecommendForProduct(Ctx(k).get(), r, &o); }},
      {"StreamEvents", [&](auto& k, auto& st) { v1::StreamEventsRequest r; r.set_store_id(st); auto ctx = Ctx(k, 3s); auto reader = storefront_->StreamEvents(ctx.get(), r); v1::StreamEventsResponse o; while (reader->Read(&o)) { ctx->TryCancel(); } return reader->Finish(); }},
  };
  std::map<std::string, Call> admin_mutations = {
      {"UpdateSettings", [&](auto& k, auto& st) { v1::UpdateSettingsRequest r; r.set_store_id(st); r.set_request_id("u"); r.mutable_settings()->set_free_shipping_threshold_minor(1); v1::UpdateSettingsResponse o; return admin_->UpdateSettings(Ctx(k).get(), r, &o); }},
      {"PublishEarnRules", [&](auto& k, auto& st) { v1::PublishEarnRulesRequest r; r.set_store_id(st); r.set_request_id("p"); v1::PublishEarnRulesResponse o; return admin_->PublishEarnRules(Ctx(k).get(), r, &o); }},
      {"AdjustPoints", [&](auto& k, auto& st) { v1::AdjustPointsRequest r; r.set_store_id(st); r.set_request_id("a"); r.set_customer_id("c"); r.set_points(5); r.set_reason("x"); v1::AdjustPointsResponse o; return admin_->AdjustPoints(Ctx(k).get(), r, &o); }},
      {"UpsertProducts", [&](auto& k, auto& st) { v1::UpsertProductsRequest r; r.set_store_id(st); r.set_request_id("p"); v1::UpsertProductsResponse o; return admin_->UpsertProducts(Ctx(k).get(), r, &o); }},
      {"ImportOrders", [&](auto& k, auto& st) { v1::ImportOrdersRequest r; r.set_store_id(st); v1::ImportOrdersResponse o; return admin_->ImportOrders(Ctx(k).get(), r, &o); }},
      {"EraseCustomer", [&](auto& k, auto& st) { v1::EraseCustomerRequest r; r.set_store_id(st); r.set_request_id("e"); r.set_customer_id("c"); v1::EraseCustomerResponse o; return admin_->EraseCustomer(Ctx(k).get(), r, &o); }},
      {"CreateApiKey", [&](auto& k, auto& st) { v1::CreateApiKeyRequest r; r.set_store_id(st); r.set_request_id("k"); r.set_kind(v1::KEY_KIND_STOREFRONT); v1::CreateApiKeyResponse o; return admin_->CreateApiKey(Ctx(k).get(), r, &o); }},
      {"RevokeApiKey", [&](auto& k, auto& st) { v1::RevokeApiKeyRequest r; r.set_store_id(st); r.set_key_id("0123456789abcdef"); v1::RevokeApiKeyResponse o; return admin_->RevokeApiKey(Ctx(k).get(), r, &o); }},
  };
  std::map<std::string, Call> admin_reads = {
      {"GetStore", [&](auto& k, auto& st) { v1::GetStoreRequest r; r.set_store_id(st); v1::GetStoreResponse o; return admin_->GetStore(Ctx(k).get(), r, &o); }},
      {"GetSettings", [&](auto& k, auto& st) { v1::GetSettingsRequest r; r.set_store_id(st); v1::GetSettingsResponse o; return admin_->GetSettings(Ctx(k).get(), r, &o); }},
      {"ListRuleVersions", [&](auto& k, auto& st) { v1::ListRuleVersionsRequest r; r.set_store_id(st); v1::ListRuleVersionsResponse o; return admin_->ListRuleVersions(Ctx(k).get(), r, &o); }},
      {"GetRuleVersion", [&](auto& k, auto& st) { v1::GetRuleVersionRequest r; r.set_store_id(st); r.set_version(1); v1::GetRuleVersionResponse o; return admin_->GetRuleVersion(Ctx(k).get(), r, &o); }},
      {"RetentionReport", [&](auto& k, auto& st) { v1::RetentionReportRequest r; r.set_store_id(st); v1::RetentionReportResponse o; return admin_->RetentionReport(Ctx(k).get(), r, &o); }},
      {"RepeatCustomerRevenue", [&](auto& k, auto& st) { v1::RepeatCustomerRevenueRequest r; r.set_store_id(st); v1::RepeatCustomerRevenueResponse o; return admin_->RepeatCustomerRevenue(Ctx(k).get(), r, &o); }},
      {"RevenueConcentration", [&](auto& k, auto& st) { v1::RevenueConcentrationRequest r; r.set_store_id(st); v1::RevenueConcentrationResponse o; return admin_->RevenueConcentration(Ctx(k).get(), r, &o); }},
      {"TopCustomers", [&](auto& k, auto& st) { v1::TopCustomersRequest r; r.set_store_id(st); v1::TopCustomersResponse o; return admin_->TopCustomers(Ctx(k).get(), r, &o); }},
      {"LapsedCustomers", [&](auto& k, auto& st) { v1::LapsedCustomersRequest r; r.set_store_id(st); v1::LapsedCustomersResponse o; return admin_->LapsedCustomers(Ctx(k).get(), r, &o); }},
      {"CustomerValue", [&](auto& k, auto& st) { v1::CustomerValueRequest r; r.set_store_id(st); v1::CustomerValueResponse o; return admin_->CustomerValue(Ctx(k).get(), r, &o); }},
      {"SegmentCustomers", [&](auto& k, auto& st) { v1::SegmentCustomersRequest r; r.set_store_id(st); v1::SegmentCustomersResponse o; return admin_->SegmentCustomers(Ctx(k).get(), r, &o); }},
      {"RfmReport", [&](auto& k, auto& st) { v1::RfmReportRequest r; r.set_store_id(st); v1::RfmReportResponse o; return admin_->RfmReport(Ctx(k).get(), r, &o); }},
      {"LiabilityReport", [&](auto& k, auto& st) { v1::LiabilityReportRequest r; r.set_store_id(st); v1::LiabilityReportResponse o; return admin_->LiabilityReport(Ctx(k).get(), r, &o); }},
      {"ExportCustomer", [&](auto& k, auto& st) { v1::ExportCustomerRequest r; r.set_store_id(st); r.set_customer_id("c"); v1::ExportCustomerResponse o; return admin_->ExportCustomer(Ctx(k).get(), r, &o); }},
      {"ListApiKeys", [&](auto& k, auto& st) { v1::ListApiKeysRequest r; r.set_store_id(st); v1::ListApiKeysResponse o; return admin_->ListApiKeys(Ctx(k).get(), r, &o); }},
      {"ListAuditLog", [&](auto& k, auto& st) { v1::ListAuditLogRequest r; r.set_store_id(st); v1::ListAuditLogResponse o; return admin_->ListAuditLog(Ctx(k).get(), r, &o); }},
      {"CountMembers", [&](auto& k, auto& st) { v1::CountMembersRequest r; r.set_store_id(st); v1::CountMembersResponse o; return admin_->CountMembers(Ctx(k).get(), r, &o); }},
      {"LookupCustomer", [&](auto& k, auto& st) { v1::GetCustomerRequest r; r.set_store_id(st); r.set_email("x@example.com"); v1::GetCustomerResponse o; return admin_->LookupCustomer(Ctx(k).get(), r, &o); }},
      {"ListLedger", [&](auto& k, auto& st) { v1::ListLedgerRequest r; r.set_store_id(st); r.set_customer_id("c"); v1::ListLedgerResponse o; return admin_->ListLedger(Ctx(k).get(), r, &o); }},
  };
  // Operations: the operator role only (the operator token or an operator key).
  std::map<std::string, Call> operator_calls = {
      {"ListDeadLetters", [&](auto& k, auto& st) { v1::ListDeadLettersRequest r; r.set_store_id(st); r.set_service("orders"); v1::ListDeadLettersResponse o; return admin_->ListDeadLetters(Ctx(k).get(), r, &o); }},
      {"RetryDeadLetter", [&](auto& k, auto& st) { v1::RetryDeadLetterRequest r; r.set_store_id(st); r.set_request_id("r"); r.set_service("orders"); r.set_event_id("00000000-0000-0000-0000-000000000001"); r.set_subscriber("points"); v1::RetryDeadLetterResponse o; return admin_->RetryDeadLetter(Ctx(k).get(), r, &o); }},
      {"DiscardDeadLetter", [&](auto& k, auto& st) { v1::DiscardDeadLetterRequest r; r.set_store_id(st); r.set_request_id("d"); r.set_service("orders"); r.set_event_id("00000000-0000-0000-0000-000000000001"); r.set_subscriber("points"); r.set_reason("x"); v1::DiscardDeadLetterResponse o; return admin_->DiscardDeadLetter(Ctx(k).get(), r, &o); }},
      {"VerifyLedger", [&](auto& k, auto& st) { v1::VerifyLedgerRequest r; r.set_store_id(st); v1::VerifyLedgerResponse o; return admin_->VerifyLedger(Ctx(k).get(), r, &o); }},
      {"RunJob", [&](auto& k, auto& st) { v1::RunJobRequest r; r.set_store_id(st); r.set_job(v1::JOB_RELEASE); v1::RunJobResponse o; return admin_->RunJob(Ctx(k).get(), r, &o); }},
  };
  auto expect = [](const std::string& name, const std::string& who, grpc::Status st,
                   grpc::StatusCode code) {
    EXPECT_EQ(st.error_code(), code) << name << " with " << who << ": " << st.error_message();
  };
  for (auto& [name, call] : storefront_calls) {
    expect(name, "no key", call("", ""), grpc::StatusCode::UNAUTHENTICATED);
    expect(name, "bad key", call(bad, ""), grpc::StatusCode::UNAUTHENTICATED);
    expect(name, "revoked key", call(revoked, ""), grpc::StatusCode::UNAUTHENTICATED);
    expect(name, "another store's key", call(other.storefront, s.store_id),
           grpc::StatusCode::PERMISSION_DENIED);
    expect(name, "an admin key", call(s.owner, ""), grpc::StatusCode::PERMISSION_DENIED);
  }
  for (auto* calls : {&admin_mutations, &admin_reads, &operator_calls}) {
    for (auto& [name, call] : *calls) {
      expect(name, "no key", call("", ""), grpc::StatusCode::UNAUTHENTICATED);
      expect(name, "bad key", call(bad, ""), grpc::StatusCode::UNAUTHENTICATED);
      expect(name, "another store's key", call(other.owner, s.store_id),
             grpc::StatusCode::PERMISSION_DENIED);
      expect(name, "a storefront key", call(s.storefront, ""), grpc::StatusCode::PERMISSION_DENIED);
    }
  }
  for (auto& [name, call] : admin_mutations) {
    expect(name, "a viewer", call(viewer, ""), grpc::StatusCode::PERMISSION_DENIED);
  }
  for (auto& [name, call] : operator_calls) {
    expect(name, "a viewer", call(viewer, ""), grpc::StatusCode::PERMISSION_DENIED);
    expect(name, "the store's owner", call(s.owner, ""), grpc::StatusCode::PERMISSION_DENIED);
  }
  // CreateStore replayed: the same store, the secret never shown again; changed: refused.
  v1::CreateStoreRequest replay;
  replay.set_request_id("create-auth");
  replay.set_name("auth");
  replay.set_currency_code("USD");
  replay.set_time_zone("America/New_York");
  v1::CreateStoreResponse replayed;
  ASSERT_TRUE(admin_->CreateStore(Ctx(kOperatorToken).get(), replay, &replayed).ok());
  EXPECT_EQ(replayed.store().store_id(), s.store_id);
  EXPECT_TRUE(replayed.owner_key_secret().empty());
  replay.set_name("changed");
  expect("CreateStore", "a changed body",
         admin_->CreateStore(Ctx(kOperatorToken).get(), replay, &replayed),
         grpc::StatusCode::ALREADY_EXISTS);
  v1::CreateStoreRequest create;
  create.set_request_id("nope");
  create.set_name("x");
  create.set_currency_code("USD");
  create.set_time_zone("UTC");
  v1::CreateStoreResponse created;
  expect("CreateStore", "no key", admin_->CreateStore(Ctx("").get(), create, &created),
         grpc::StatusCode::UNAUTHENTICATED);
  expect("CreateStore", "an owner key", admin_->CreateStore(Ctx(s.owner).get(), create, &created),
         grpc::StatusCode::PERMISSION_DENIED);

  // Nothing was written: the settings are still the seeded version, the audit log holds only
  // the store's creation and the key changes made above.
  v1::GetSettingsRequest get;
  v1::GetSettingsResponse settings;
  ASSERT_TRUE(admin_->GetSettings(Ctx(viewer).get(), get, &settings).ok());
  EXPECT_EQ(settings.settings().version(), 1);
  EXPECT_EQ(settings.settings().currency_code(), "USD");
  EXPECT_EQ(settings.settings().time_zone(), "America/New_York");
  v1::ListAuditLogRequest audit;
  v1::ListAuditLogResponse log;
  ASSERT_TRUE(admin_->ListAuditLog(Ctx(viewer).get(), audit, &log).ok());
  for (const auto& e : log.entries()) {
    EXPECT_TRUE(e.method() == "CreateStore" || e.method() == "CreateApiKey" ||
                e.method() == "RevokeApiKey")
        << e.method();
  }
  v1::GetCustomerRequest none;
  none.set_email("x@example.com");
  v1::GetCustomerResponse nobody;
  EXPECT_EQ(storefront_->GetCustomer(Ctx(s.storefront).get(), none, &nobody).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(GatewayIT, StreamEventsGoesLiveAfterBackfill) {
  const auto s = CreateStore("live");
  const auto customer = Register(s, "liv@example.com");
  auto ctx = Ctx(s.storefront, 20s);
  v1::StreamEventsRequest req;
  req.set_heartbeat_seconds(1);
  auto reader = storefront_->StreamEvents(ctx.get(), req);
  v1::StreamEventsResponse item;
  ASSERT_TRUE(reader->Read(&item));  // nothing yet: a heartbeat
  EXPECT_TRUE(item.has_heartbeat());
  Adjust(s, customer, 42);
  bool seen = false;
  while (!seen && reader->Read(&item)) {
    seen = item.has_event() && item.event().type() == "points.adjusted" &&
           item.event().points() == 42;
  }
  EXPECT_TRUE(seen);
  ctx->TryCancel();
  (void)reader->Finish();
}

TEST_F(GatewayIT, RateLimitTripsAtTheKeysRate) {
  const auto s = CreateStore("rate");
  const std::string limited = CreateKey(s.owner, v1::KEY_KIND_STOREFRONT, v1::ROLE_UNSPECIFIED, 3);
  int ok = 0, exhausted = 0;
  for (int i = 0; i < 10; ++i) {
    v1::GetCustomerRequest req;
    req.set_email("nobody@example.com");
    v1::GetCustomerResponse resp;
    const auto status = storefront_->GetCustomer(Ctx(limited).get(), req, &resp);
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++exhausted;
      EXPECT_EQ(common::ErrorReason(status), "RATE_LIMITED");
    } else {
      ++ok;
    }
  }
  EXPECT_GE(ok, 3);
  EXPECT_LE(ok, 5);
  EXPECT_GE(exhausted, 5);
  std::this_thread::sleep_for(1100ms);
  v1::GetCustomerRequest req;
  req.set_email("nobody@example.com");
  v1::GetCustomerResponse resp;
  EXPECT_NE(storefront_->GetCustomer(Ctx(limited).get(), req, &resp).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(GatewayIT, AuditLogShowsBeforeAndAfterOfASettingsChange) {
  const auto s = CreateStore("audit");
  SetUpProgram(s);
  v1::ListAuditLogRequest req;
  v1::ListAuditLogResponse log;
  ASSERT_TRUE(admin_->ListAuditLog(Ctx(s.owner).get(), req, &log).ok());
  const v1::AuditEntry* change = nullptr;
  for (const auto& e : log.entries()) {
    if (e.method() == "UpdateSettings") change = &e;
  }
  ASSERT_NE(change, nullptr);
  EXPECT_NE(change->actor_key_id(), "");
  EXPECT_NE(change->before_json().find("\"version\":1"), std::string::npos) << change->before_json();
  EXPECT_EQ(change->before_json().find("free_shipping_threshold_minor"), std::string::npos);
  EXPECT_NE(change->after_json().find("\"free_shipping_threshold_minor\":\"6000\""),
            std::string::npos)
      << change->after_json();
  EXPECT_NE(change->after_json().find("\"version\":2"), std::string::npos);
  EXPECT_GT(change->create_time().seconds(), 0);
  // Newest first; and each mutation above is there.
  std::set<std::string> methods;
  for (const auto& e : log.entries()) methods.insert(e.method());
  for (const char* m : {"CreateStore", "CreateApiKey", "UpdateSettings", "PublishEarnRules",
                        "UpsertProducts"}) {
    EXPECT_TRUE(methods.count(m)) << m;
  }
}

// Runs loyaltyctl against the gateway; answers its stdout, and its exit code in *code.
std::string Ctl(const std::string& address, const std::string& token, const std::string& args,
                int* code) {
  const std::string cmd = std::string(LOYALTY_BIN_DIR) + "/loyaltyctl --address " + address +
                          " --token " + token + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int status = pclose(pipe);
  *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST_F(GatewayIT, LoyaltyctlAdministersAStore) {
  const std::string addr = gateway_->address();
  int code = 0;
  auto out = Ctl(addr, kOperatorToken,
                 "--json create-store --name cli --currency EUR --time-zone Europe/Paris", &code);
  ASSERT_EQ(code, 0) << out;
  const auto created = nlohmann::json::parse(out);
  const std::string owner = created["owner_key_secret"];
  const std::string store_id = created["store"]["store_id"];

  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/rules.yaml") << "base_rate: 2\nexcluded_categories:\n  - gift-cards\n";
  out = Ctl(addr, owner, "rules publish " + dir + "/rules.yaml", &code);
  ASSERT_EQ(code, 0) << out;
  out = Ctl(addr, owner, "--json rules list", &code);
  ASSERT_EQ(code, 0) << out;
  const auto versions = nlohmann::json::parse(out)["versions"];
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0]["rules"]["base_rate"], "2");
  EXPECT_EQ(versions[0]["rules"]["excluded_categories"][0], "gift-cards");
  out = Ctl(addr, owner, "rules list", &code);  // a table for people
  EXPECT_NE(out.find("VERSION"), std::string::npos) << out;
  // A second version, and what it changed.
  std::ofstream(dir + "/rules2.yaml") << "base_rate: 3\nexcluded_categories:\n  - gift-cards\n";
  out = Ctl(addr, owner, "rules publish " + dir + "/rules2.yaml", &code);
  ASSERT_EQ(code, 0) << out;
  out = Ctl(addr, owner, "--json versions diff earn-rules 1 2", &code);
  ASSERT_EQ(code, 0) << out;
  const auto diff = nlohmann::json::parse(out);
  ASSERT_EQ(diff["changes"].size(), 1u) << out;
  EXPECT_EQ(diff["changes"][0]["path"], "base_rate");
  EXPECT_EQ(diff["changes"][0]["before"], "2");
  EXPECT_EQ(diff["changes"][0]["after"], "3");
  out = Ctl(addr, owner, "versions diff earn-rules 1 2", &code);  // a table for people
  EXPECT_NE(out.find("VERSION 2"), std::string::npos) << out;

  // A customer to import orders for.
  out = Ctl(addr, owner, "--json keys create --kind storefront --name shop", &code);
  ASSERT_EQ(code, 0) << out;
  const std::string shop = nlohmann::json::parse(out)["secret"];
  v1::RegisterCustomerRequest reg;
  reg.set_request_id("cli-reg");
  reg.set_email("cli@example.com");
  v1::RegisterCustomerResponse customer;
  ASSERT_TRUE(storefront_->RegisterCustomer(Ctx(shop).get(), reg, &customer).ok());
  const std::string cid = customer.customer().customer_id();
  std::ofstream(dir + "/orders.csv")
      << "order_id,customer_id,placed_at,line_id,sku,category,unit_price_minor,quantity\n"
      << "h1," << cid << ",2025-01-10T10:00:00Z,1,A,mugs,1000,1\n"
      << "h1," << cid << ",2025-01-10T10:00:00Z,2,B,mugs,500,2\n"
      << "h2," << cid << ",2025-03-01T10:00:00Z,1,C,tea,700,1\n";
  out = Ctl(addr, owner, "--json orders import " + dir + "/orders.csv", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["result"]["imported"], 2) << out;

  out = Ctl(addr, owner, "--json points adjust --customer " + cid + " --points 70 --reason goodwill",
            &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["balance"]["available"], "70") << out;
  out = Ctl(addr, owner, "report liability", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("outstanding"), std::string::npos) << out;
  out = Ctl(addr, owner, "--json keys list", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["keys"].size(), 2u);

  // Discount codes: a generated batch, listed one JSON object per line, and one code shown.
  std::ofstream(dir + "/code.yaml") << "kind: CODE_KIND_AMOUNT_OFF\namount_off_minor: 500\n"
                                    << "max_uses: 1\n";
  out = Ctl(addr, owner, "codes create " + dir + "/code.yaml --count 3 --batch thanks --reason mail",
            &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(out, "batch thanks: 3 code(s)\n");
  out = Ctl(addr, owner, "--json codes list thanks", &code);
  ASSERT_EQ(code, 0) << out;
  std::istringstream lines(out);
  std::vector<std::string> generated;
  for (std::string line; std::getline(lines, line);) {
    generated.push_back(nlohmann::json::parse(line)["code"]);
  }
  ASSERT_EQ(generated.size(), 3u) << out;
  out = Ctl(addr, owner, "codes show " + generated[0], &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["definition"]["amount_off_minor"], "500") << out;

  // A win-back campaign: the imported customer lapsed long ago, but gave no consent.
  std::ofstream(dir + "/win-back.yaml") << "kind: CAMPAIGN_KIND_WIN_BACK\nlapsed_days: 60\n";
  out = Ctl(addr, owner, "campaigns put we-miss-you " + dir + "/win-back.yaml --reason spring",
            &code);
  ASSERT_EQ(code, 0) << out;
  out = Ctl(addr, owner, "--json campaigns run we-miss-you --preview", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["without_consent"], "1") << out;
  out = Ctl(addr, owner, "campaigns run we-miss-you --as-of 2025-06-01T00:00:00Z", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(out, "reached 0; already reached 0; without consent 1; codes 0\n");
  // A saved segment: mug buyers of the last ten years.
  std::ofstream(dir + "/segment.yaml") << "categories: [mugs]\nwithin_days: 3660\n";
  out = Ctl(addr, owner, "segments put mug-buyers " + dir + "/segment.yaml --reason promo", &code);
  ASSERT_EQ(code, 0) << out;
  out = Ctl(addr, owner, "segments members mug-buyers", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(out, "1 members, 0 with marketing consent\n" + cid + "\n");
  out = Ctl(addr, owner,
            "subscriptions report --from 2025-01-01T00:00:00Z --to 2025-12-31T00:00:00Z", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(out, "started 0; cancelled 0; renewals 0 (0 bonus points); active now 0, paused 0\n");
  out = Ctl(addr, owner, "audit", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("ImportOrders"), std::string::npos) << out;
  EXPECT_NE(out.find("PublishEarnRules"), std::string::npos) << out;
  // Errors are reported with a non-zero exit.
  out = Ctl(addr, "lk_0123456789abcdef_" + std::string(64, 'a'), "rules list", &code);
  EXPECT_EQ(code, 1) << out;
  (void)store_id;
}

TEST_F(GatewayIT, PythonStorefrontExample) {
  const auto s = CreateStore("python");
  SetUpProgram(s);
  const auto customer = Register(s, "py@example.com");
  Adjust(s, customer, 1000);
  // A reward the example finds on offer and redeems (docs/rewards.md).
  v1::CreateRewardRequest reward;
  reward.set_request_id("py-reward");
  reward.set_reward_id("ship");
  reward.mutable_definition()->set_name("Free shipping");
  reward.mutable_definition()->set_kind(points::v1::REWARD_KIND_FREE_SHIPPING);
  reward.mutable_definition()->set_points_cost(100);
  reward.set_reason("launch");
  v1::CreateRewardResponse created;
  ASSERT_TRUE(admin_->CreateReward(Ctx(s.owner).get(), reward, &created).ok());
  const std::string stubs = ::testing::TempDir() + "/py-stubs";
  const std::string examples = std::string(LOYALTY_SOURCE_DIR) + "/examples/python";
  ASSERT_EQ(std::system((examples + "/gen_stubs.sh " + stubs + " >/dev/null").c_str()), 0);
  int code = 0;
  const std::string cmd = "LOYALTY_PY_STUBS=" + stubs + " LOYALTY_GATEWAY_ADDR=" +
                          gateway_->address() + " LOYALTY_STOREFRONT_KEY=" + s.storefront +
                          " LOYALTY_CUSTOMER_EMAIL=py@example.com /usr/bin/python3 " + examples +
                          "/storefront.py 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int status = pclose(pipe);
  code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("reward ship (Free shipping) for 100 points: -0 merchandise, -499 shipping"),
            std::string::npos)
      << out;
  // 1,000 points: 100 for the reward, 200 (the example's most) paying; shipping free.
  EXPECT_NE(out.find("shipping 0, total 4800 "), std::string::npos) << out;
  EXPECT_NE(out.find("paid 200 points, redeemed ship for 100 points"), std::string::npos) << out;
  EXPECT_NE(out.find("event points.earned"), std::string::npos) << out;
}

}  // namespace
}  // namespace loyalty::gateway
