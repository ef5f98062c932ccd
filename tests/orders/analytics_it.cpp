// The analytics RPCs of OrdersService through a real loyalty-orders process on a real Postgres.
//
// Two datasets:
// - a small, hand-computed one (store "s1", time zone America/New_York), loaded through the real
//   RPCs (ImportOrders, then RefundOrder, CancelOrder and AbandonOrder), against which every
//   figure is checked with its arithmetic written out;
// - the articles' retention example (10,000 customers at the start), bulk-inserted with
//   generate_series SQL: 20,000+ orders through ImportOrders (one outbox event per order) would
//   take most of a minute, and only the orders rows matter to the reports.
#include <gtest/gtest.h>

#include <tuple>

#include <google/protobuf/util/time_util.h>

#include <pqxx/pqxx>

#include "loyalty/common/errors.hpp"
#include "loyalty/orders/v1/orders_service.grpc.pb.h"
#include "test_env.hpp"

namespace loyalty::orders {
namespace {

using common::ErrorFields;
using google::protobuf::util::TimeUtil;

constexpr const char* kZone = "America/New_York";

struct Line {
  std::string sku;
  std::string category;
  int64_t price;
  int quantity = 1;
};

class AnalyticsIT : public ::testing::Test {
 protected:
  void SetUp() override {
    // The customers address is never called by ImportOrders; the event subscriber address is
    // dead on purpose (events stay pending, which the reports do not read).
    process_ = std::make_unique<testing::ServiceProcess>(
        "orders", db_.url(),
        std::map<std::string, std::string>{
            {"LOYALTY_CUSTOMERS_ADDR", "127.0.0.1:1"},
            {"LOYALTY_ORDER_EVENT_SUBSCRIBERS", "sink=127.0.0.1:1"}});
    process_->WaitServing();
    stub_ = v1::OrdersService::NewStub(
        grpc::CreateChannel(process_->address(), grpc::InsecureChannelCredentials()));
  }

  static google::protobuf::Timestamp At(const std::string& rfc3339) {
    google::protobuf::Timestamp t;
    EXPECT_TRUE(TimeUtil::FromString(rfc3339, &t)) << rfc3339;
    return t;
  }

  v1::ImportedOrder Imported(const std::string& store, const std::string& order_id,
                             const std::string& customer, const std::string& at,
                             const std::vector<Line>& lines, int64_t discount = 0,
                             bool fulfilled = true) {
    v1::ImportedOrder imported;
    auto* o = imported.mutable_order();
    o->set_store_id(store);
    o->set_order_id(order_id);
    o->set_customer_id(customer);
    o->set_currency_code("USD");
    o->set_store_currency_code("USD");
    int n = 0;
    for (const auto& line : lines) {
      auto* l = o->add_lines();
      l->set_line_id("l" + std::to_string(++n));
      l->set_sku(line.sku);
      l->set_category(line.category);
      l->set_unit_price_minor(line.price);
      l->set_quantity(line.quantity);
    }
    if (discount > 0) {
      auto* d = o->add_discounts();
      d->set_code("SPRING");
      d->set_amount_minor(discount);
    }
    *imported.mutable_placed_at() = At(at);
    imported.set_fulfilled(fulfilled);
    return imported;
  }

  void Import(const std::string& store, const std::vector<v1::ImportedOrder>& orders) {
    v1::ImportOrdersRequest request;
    request.set_store_id(store);
    for (const auto& o : orders) *request.add_orders() = o;
    v1::ImportOrdersResponse response;
    auto status = stub_->ImportOrders(testing::InternalContext().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.imported(), static_cast<int>(orders.size()));
  }

  // The hand-computed dataset. Times are UTC; New York is UTC−5 until 2024-03-10 02:00 local,
  // UTC−4 after. March 2024 in New York is [2024-03-01T05:00Z, 2024-04-01T04:00Z).
  //
  //  order  customer  placed (UTC)           lines (sku/category price×qty)     revenue
  //  a1     cust-a    2024-02-10 15:00       tea-1/tea 1000                      1000
  //  a2     cust-a    2024-03-05 15:00       tea-1/tea 3000                      3000
  //  a3     cust-a    2024-03-20 15:00       mug-1/mugs 2000, pot-1/pots 700     2000 (pot refunded)
  //  a4     cust-a    2024-04-15 15:00       tea-1/tea 10000                    10000 (after all)
  //  b1     cust-b    2024-02-15 15:00       tea-2/tea 5000                      5000
  //  c1     cust-c    2023-06-01 15:00       tea-2/tea 700                        700
  //  c2     cust-c    2024-03-25 15:00       tea-2/tea 2000                      2000
  //  d1     cust-d    2024-03-10 15:00       mug-1/mugs 4500, discount 500       4000
  //  d2     cust-d    2024-03-28 15:00       tea-1/tea 500                        500
  //  e1     cust-e    2024-03-01 05:30       cup-9/mugs 1000, discount 200        800
  //                   (Mar 1 00:30 local)
  //  f1     cust-f    2024-03-01 03:00       tea-1/tea 600                        600
  //                   (Feb 29 22:00 local)
  //  g1     cust-g    2024-02-20 15:00       tea-2/tea 900                        900
  //  g2     cust-g    2024-03-15 15:00       tea-1/tea 1500                   cancelled: not an order
  //  h1     cust-h    2024-01-05 15:00       tea-3/tea 1200                      1200
  //  h2     cust-h    2024-03-12 15:00       tea-3/tea 1000×3, 1 refunded        2000
  //  i1     cust-i    2024-04-05 15:00       tea-1/tea 300                        300
  //  j1-j3  cust-j    2024-04-02/03/04 15:00 tea-1/tea 4000 each                 4000 each
  //  k1-k3  cust-k    2023-10-01/02/03 15:00 tea-2/tea 1000 each                 1000 each
  //  ab-1   —         abandoned tombstone
  //  z1     cust-z    2024-03-10 15:00       store s2: tea-1/tea 99999
  void LoadSmallDataset() {
    Import("s1",
           {Imported("s1", "a1", "cust-a", "2024-02-10T15:00:00Z", {{"tea-1", "tea", 1000}}),
            Imported("s1", "a2", "cust-a", "2024-03-05T15:00:00Z", {{"tea-1", "tea", 3000}}),
            Imported("s1", "a3", "cust-a", "2024-03-20T15:00:00Z",
                     {{"mug-1", "mugs", 2000}, {"pot-1", "pots", 700}}),
            Imported("s1", "a4", "cust-a", "2024-04-15T15:00:00Z", {{"tea-1", "tea", 10000}}),
            Imported("s1", "b1", "cust-b", "2024-02-15T15:00:00Z", {{"tea-2", "tea", 5000}}),
            Imported("s1", "c1", "cust-c", "2023-06-01T15:00:00Z", {{"tea-2", "tea", 700}}),
            Imported("s1", "c2", "cust-c", "2024-03-25T15:00:00Z", {{"tea-2", "tea", 2000}}),
            Imported("s1", "d1", "cust-d", "2024-03-10T15:00:00Z", {{"mug-1", "mugs", 4500}}, 500),
            Imported("s1", "d2", "cust-d", "2024-03-28T15:00:00Z", {{"tea-1", "tea", 500}}),
            Imported("s1", "e1", "cust-e", "2024-03-01T05:30:00Z", {{"cup-9", "mugs", 1000}}, 200),
            Imported("s1", "f1", "cust-f", "2024-03-01T03:00:00Z", {{"tea-1", "tea", 600}}),
            Imported("s1", "g1", "cust-g", "2024-02-20T15:00:00Z", {{"tea-2", "tea", 900}}),
            Imported("s1", "g2", "cust-g", "2024-03-15T15:00:00Z", {{"tea-1", "tea", 1500}}, 0,
                     /*fulfilled=*/false),
            Imported("s1", "h1", "cust-h", "2024-01-05T15:00:00Z", {{"tea-3", "tea", 1200}}),
            Imported("s1", "h2", "cust-h", "2024-03-12T15:00:00Z", {{"tea-3", "tea", 1000, 3}}),
            Imported("s1", "i1", "cust-i", "2024-04-05T15:00:00Z", {{"tea-1", "tea", 300}}),
            Imported("s1", "j1", "cust-j", "2024-04-02T15:00:00Z", {{"tea-1", "tea", 4000}}),
            Imported("s1", "j2", "cust-j", "2024-04-03T15:00:00Z", {{"tea-1", "tea", 4000}}),
            Imported("s1", "j3", "cust-j", "2024-04-04T15:00:00Z", {{"tea-1", "tea", 4000}}),
            Imported("s1", "k1", "cust-k", "2023-10-01T15:00:00Z", {{"tea-2", "tea", 1000}}),
            Imported("s1", "k2", "cust-k", "2023-10-02T15:00:00Z", {{"tea-2", "tea", 1000}}),
            Imported("s1", "k3", "cust-k", "2023-10-03T15:00:00Z", {{"tea-2", "tea", 1000}})});
    Import("s2", {Imported("s2", "z1", "cust-z", "2024-03-10T15:00:00Z",
                           {{"tea-1", "tea", 99999}})});
    Refund("a3", "rf-a3", "l2", 1);  // the pot: 700 back, a3's revenue 2000
    Refund("h2", "rf-h2", "l1", 1);  // 1 of 3 teas: 1000 back, h2's revenue 2000
    v1::CancelOrderRequest cancel;
    cancel.set_store_id("s1");
    cancel.set_order_id("g2");
    v1::CancelOrderResponse cancelled;
    ASSERT_TRUE(stub_->CancelOrder(testing::InternalContext().get(), cancel, &cancelled).ok());
    v1::AbandonOrderRequest abandon;
    abandon.set_store_id("s1");
    abandon.set_order_id("ab-1");
    v1::AbandonOrderResponse abandoned;
    ASSERT_TRUE(stub_->AbandonOrder(testing::InternalContext().get(), abandon, &abandoned).ok());
    ASSERT_TRUE(abandoned.abandoned());
  }

  void Refund(const std::string& order_id, const std::string& refund_id,
              const std::string& line_id, int quantity) {
    v1::RefundOrderRequest r;
    r.set_store_id("s1");
    r.set_order_id(order_id);
    r.set_refund_id(refund_id);
    auto* l = r.add_lines();
    l->set_line_id(line_id);
    l->set_quantity(quantity);
    v1::RefundOrderResponse response;
    auto status = stub_->RefundOrder(testing::InternalContext().get(), r, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  template <class Request>
  static void March(Request* r, const std::string& store = "s1") {
    r->set_store_id(store);
    r->set_time_zone(kZone);
    r->mutable_period()->set_start_date("2024-03-01");
    r->mutable_period()->set_end_date("2024-04-01");
  }

  static std::vector<std::string> Ids(const v1::TopCustomersResponse& r) {
    std::vector<std::string> ids;
    for (const auto& c : r.customers()) ids.push_back(c.customer_id());
    return ids;
  }

  v1::SegmentCustomersResponse Segment(std::vector<std::string> skus,
                                       std::vector<std::string> categories,
                                       v1::DiscountUse discount, int page_size = 0,
                                       const std::string& token = "") {
    v1::SegmentCustomersRequest r;
    March(&r);
    for (auto& s : skus) r.add_skus(s);
    for (auto& c : categories) r.add_categories(c);
    r.set_discount_use(discount);
    r.set_page_size(page_size);
    r.set_page_token(token);
    v1::SegmentCustomersResponse response;
    auto status = stub_->SegmentCustomers(testing::InternalContext().get(), r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  static std::vector<std::string> Ids(const v1::SegmentCustomersResponse& r) {
    return {r.customer_ids().begin(), r.customer_ids().end()};
  }

  void Sql(const std::string& sql) {
    pqxx::connection conn(db_.url());
    pqxx::work tx(conn);
    tx.exec(sql);
    tx.commit();
  }

  testing::TestDatabase db_;
  std::unique_ptr<testing::ServiceProcess> process_;
  std::unique_ptr<v1::OrdersService::Stub> stub_;
};

TEST_F(AnalyticsIT, RetentionOfTheHandComputedDataset) {
  LoadSmallDataset();
  v1::RetentionReportRequest r;
  March(&r);
  r.set_activity_window_days(30);
  v1::RetentionReportResponse got;
  auto status = stub_->RetentionReport(testing::InternalContext().get(), r, &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // Window 30 days. At the start (S): an order in [Jan 31, Mar 1) local =
  // [Jan 31 05:00Z, Mar 1 05:00Z): a1 (Feb 10), b1, g1, and f1 (Mar 1 03:00Z is Feb 29 local);
  // not e1 (Mar 1 00:30 local), not h1 (Jan 5): S = {a, b, f, g} = 4.
  EXPECT_EQ(got.customers_at_start(), 4);
  // At the end (E): an order in [Mar 2, Apr 1) local: a2/a3, c2, d1/d2, h2; g2 is cancelled, e1 is
  // Mar 1, a4 and the April orders are after the end: E = {a, c, d, h} = 4.
  EXPECT_EQ(got.customers_at_end(), 4);
  // First order ever in March (local): d (d1), e (e1). d is a customer at the end: N = 1.
  EXPECT_EQ(got.new_customers(), 1);
  // e was acquired (Mar 1 00:30) and lost (no order in [Mar 2, Apr 1)) within the period.
  EXPECT_EQ(got.acquired_and_lost(), 1);
  // Retained: S ∩ E = {a}; lost: S − retained = {b, f, g} = 3.
  EXPECT_EQ(got.retained_customers(), 1);
  EXPECT_EQ(got.lost_customers(), 3);
  // Reactivated: E − S − N = {c (last order 2023-06), h (2024-01-05)} = 2.
  EXPECT_EQ(got.reactivated_customers(), 2);
  // (E − N) ÷ S = (4 − 1) ÷ 4 = 75 % = 7500 bp. Had e been counted in N: (4 − 2) ÷ 4 = 50 %.
  EXPECT_EQ(got.retention_rate().numerator(), 3);
  EXPECT_EQ(got.retention_rate().denominator(), 4);
  EXPECT_EQ(got.retention_rate().basis_points(), 7500);
  // retained ÷ S = 1 ÷ 4 = 2500 bp.
  EXPECT_EQ(got.cohort_retention_rate().basis_points(), 2500);
}

TEST_F(AnalyticsIT, ACustomerAcquiredAndLostWithinThePeriodIsNotNew) {
  // Only cust-e: first order Mar 1 00:30 local, none after. Window 7 days: at the end means an
  // order in [Mar 25, Apr 1) local.
  Import("s1", {Imported("s1", "e1", "cust-e", "2024-03-01T05:30:00Z", {{"cup-9", "mugs", 1000}})});
  v1::RetentionReportRequest r;
  March(&r);
  r.set_activity_window_days(7);
  v1::RetentionReportResponse got;
  ASSERT_TRUE(stub_->RetentionReport(testing::InternalContext().get(), r, &got).ok());
  EXPECT_EQ(got.customers_at_start(), 0);
  EXPECT_EQ(got.customers_at_end(), 0);
  EXPECT_EQ(got.new_customers(), 0);
  EXPECT_EQ(got.acquired_and_lost(), 1);
  EXPECT_EQ(got.lost_customers(), 0);
  EXPECT_EQ(got.reactivated_customers(), 0);
  // S = 0: the rate is undefined, reported as 0 / 0.
  EXPECT_EQ(got.retention_rate().denominator(), 0);
  EXPECT_EQ(got.retention_rate().basis_points(), 0);

  // With a 60-day window, Mar 1 is within [Jan 31, Apr 1): e is a customer at the end, so new.
  r.set_activity_window_days(60);
  ASSERT_TRUE(stub_->RetentionReport(testing::InternalContext().get(), r, &got).ok());
  EXPECT_EQ(got.new_customers(), 1);
  EXPECT_EQ(got.acquired_and_lost(), 0);
}

TEST_F(AnalyticsIT, TheArticlesWorkedExample) {
  // Period 2024-01-01 to 2024-07-01 (UTC), window 90 days:
  //   S window [2023-10-03, 2024-01-01), E window [2024-04-02, 2024-07-01).
  // 10,000 customers ordered on 2023-12-01 (S = 10,000); 7,500 of them order again on
  // 2024-05-01 (retained), 2,500 do not (lost); 5,500 new customers first order on 2024-05-15.
  // E = 7,500 + 5,500 = 13,000; (E − N) ÷ S = (13,000 − 5,500) ÷ 10,000 = 75 % = 7500 bp.
  Sql("INSERT INTO orders.orders (store_id, order_id, status, customer_id, placed_at, "
      "revenue_minor) "
      "SELECT 'big', 'old-' || i, 'fulfilled', 'e' || i, "
      "  timestamptz '2023-12-01T12:00:00Z', 1000 FROM generate_series(1, 10000) i "
      "UNION ALL SELECT 'big', 'again-' || i, 'fulfilled', 'e' || i, "
      "  timestamptz '2024-05-01T12:00:00Z', 1000 FROM generate_series(1, 7500) i "
      "UNION ALL SELECT 'big', 'new-' || i, 'placed', 'n' || i, "
      "  timestamptz '2024-05-15T12:00:00Z', 1000 FROM generate_series(1, 5500) i");
  v1::RetentionReportRequest r;
  r.set_store_id("big");
  r.set_time_zone("UTC");
  r.mutable_period()->set_start_date("2024-01-01");
  r.mutable_period()->set_end_date("2024-07-01");
  r.set_activity_window_days(90);
  v1::RetentionReportResponse got;
  ASSERT_TRUE(stub_->RetentionReport(testing::InternalContext().get(), r, &got).ok());
  EXPECT_EQ(got.customers_at_start(), 10000);
  EXPECT_EQ(got.new_customers(), 5500);
  EXPECT_EQ(got.lost_customers(), 2500);
  EXPECT_EQ(got.customers_at_end(), 13000);
  EXPECT_EQ(got.retained_customers(), 7500);
  EXPECT_EQ(got.reactivated_customers(), 0);
  EXPECT_EQ(got.retention_rate().basis_points(), 7500);

  // 100 more customers acquired on 2024-01-15 and never seen again (lapsed by the end): they are
  // acquired_and_lost, not N, and the rate stays 75 %. (Counted in N, they would give
  // (13,000 − 5,600) ÷ 10,000 = 74 %.)
  Sql("INSERT INTO orders.orders (store_id, order_id, status, customer_id, placed_at, "
      "revenue_minor) SELECT 'big', 'gone-' || i, 'fulfilled', 'g' || i, "
      "timestamptz '2024-01-15T12:00:00Z', 1000 FROM generate_series(1, 100) i");
  ASSERT_TRUE(stub_->RetentionReport(testing::InternalContext().get(), r, &got).ok());
  EXPECT_EQ(got.acquired_and_lost(), 100);
  EXPECT_EQ(got.new_customers(), 5500);
  EXPECT_EQ(got.customers_at_end(), 13000);
  EXPECT_EQ(got.retention_rate().basis_points(), 7500);
}

TEST_F(AnalyticsIT, RevenueFiguresOfTheHandComputedDataset) {
  LoadSmallDataset();
  // March (local) orders: a2 3000, a3 2000, c2 2000, d1 4000, d2 500, e1 800, h2 2000 (g2 is
  // cancelled, f1 is Feb 29 local, z1 is another store's).
  // Per customer: a 5000 (2 orders), d 4500 (2), c 2000 (1), h 2000 (1), e 800 (1).
  // Total 3000 + 2000 + 2000 + 4000 + 500 + 800 + 2000 = 14,300 over 7 orders, 5 customers.
  {
    v1::RepeatCustomerRevenueRequest r;
    March(&r);
    v1::RepeatCustomerRevenueResponse got;
    ASSERT_TRUE(stub_->RepeatCustomerRevenue(testing::InternalContext().get(), r, &got).ok());
    // Orders ever before Apr 1: a 3, c 2 (c1 in 2023), d 2, h 2 (h1), e 1. Repeat: a, c, d, h.
    // Repeat revenue 5000 + 2000 + 4500 + 2000 = 13,500; 13,500 × 10,000 ÷ 14,300 = 9440.5…
    EXPECT_EQ(got.total_revenue_minor(), 14300);
    EXPECT_EQ(got.repeat_revenue_minor(), 13500);
    EXPECT_EQ(got.customers(), 5);
    EXPECT_EQ(got.repeat_customers(), 4);
    EXPECT_EQ(got.repeat_revenue_share().basis_points(), 9440);
  }
  {
    v1::RevenueConcentrationRequest r;
    March(&r);
    v1::RevenueConcentrationResponse got;
    // Ranking: a 5000, d 4500, c 2000, h 2000 (tie: cust-c before cust-h), e 800.
    // Top 40 %: ceil(40 × 5 ÷ 100) = 2 customers: 5000 + 4500 = 9500; 9500 × 10,000 ÷ 14,300 =
    // 6643.3…
    r.set_top_percent(40);
    ASSERT_TRUE(stub_->RevenueConcentration(testing::InternalContext().get(), r, &got).ok());
    EXPECT_EQ(got.customers(), 5);
    EXPECT_EQ(got.top_customers(), 2);
    EXPECT_EQ(got.total_revenue_minor(), 14300);
    EXPECT_EQ(got.top_revenue_minor(), 9500);
    EXPECT_EQ(got.top_revenue_share().basis_points(), 6643);
    // Top 1 %: ceil(0.05) = 1 customer: 5000 × 10,000 ÷ 14,300 = 3496.5…
    r.set_top_percent(1);
    ASSERT_TRUE(stub_->RevenueConcentration(testing::InternalContext().get(), r, &got).ok());
    EXPECT_EQ(got.top_customers(), 1);
    EXPECT_EQ(got.top_revenue_minor(), 5000);
    EXPECT_EQ(got.top_revenue_share().basis_points(), 3496);
    // Top 60 %: 3 customers: 5000 + 4500 + 2000 = 11,500 → 8041.9… → 8041.
    r.set_top_percent(60);
    ASSERT_TRUE(stub_->RevenueConcentration(testing::InternalContext().get(), r, &got).ok());
    EXPECT_EQ(got.top_customers(), 3);
    EXPECT_EQ(got.top_revenue_minor(), 11500);
    EXPECT_EQ(got.top_revenue_share().basis_points(), 8041);
    // 100 %: everyone, 10,000 bp.
    r.set_top_percent(100);
    ASSERT_TRUE(stub_->RevenueConcentration(testing::InternalContext().get(), r, &got).ok());
    EXPECT_EQ(got.top_customers(), 5);
    EXPECT_EQ(got.top_revenue_share().basis_points(), 10000);
  }
  {
    v1::CustomerValueRequest r;
    March(&r);
    v1::CustomerValueResponse got;
    ASSERT_TRUE(stub_->CustomerValue(testing::InternalContext().get(), r, &got).ok());
    // AOV: 14,300 ÷ 7 = 2042.8… → 2042.
    EXPECT_EQ(got.orders(), 7);
    EXPECT_EQ(got.revenue_minor(), 14300);
    EXPECT_EQ(got.average_order_value_minor(), 2042);
    // Lifetime (before Apr 1) of a, c, d, e, h: a 1000 + 5000 = 6000 (3 orders; a4 is after),
    // c 700 + 2000 = 2700 (2), d 4500 (2), e 800 (1), h 1200 + 2000 = 3200 (2):
    // 17,200 over 10 orders. CLV 17,200 ÷ 5 = 3440; orders per customer 10 ÷ 5 = 2.00 → 200.
    EXPECT_EQ(got.customers(), 5);
    EXPECT_EQ(got.lifetime_revenue_minor(), 17200);
    EXPECT_EQ(got.lifetime_orders(), 10);
    EXPECT_EQ(got.customer_lifetime_value_minor(), 3440);
    EXPECT_EQ(got.average_lifetime_orders_centi(), 200);
  }
}

TEST_F(AnalyticsIT, TopCustomersAreRankedWithTiesByIdAndPaged) {
  LoadSmallDataset();
  v1::TopCustomersRequest r;
  March(&r);
  r.set_top_percent(60);  // ceil(60 × 5 ÷ 100) = 3: a, d, then c (ties h at 2000, smaller id)
  r.set_page_size(2);
  v1::TopCustomersResponse page1, page2;
  ASSERT_TRUE(stub_->TopCustomers(testing::InternalContext().get(), r, &page1).ok());
  EXPECT_EQ(Ids(page1), (std::vector<std::string>{"cust-a", "cust-d"}));
  EXPECT_EQ(page1.customers(0).rank(), 1);
  EXPECT_EQ(page1.customers(0).revenue_minor(), 5000);
  EXPECT_EQ(page1.customers(0).orders(), 2);
  EXPECT_EQ(page1.customers(1).revenue_minor(), 4500);
  EXPECT_EQ(page1.period_customers(), 5);
  EXPECT_EQ(page1.selected_customers(), 3);
  ASSERT_FALSE(page1.next_page_token().empty());
  r.set_page_token(page1.next_page_token());
  ASSERT_TRUE(stub_->TopCustomers(testing::InternalContext().get(), r, &page2).ok());
  EXPECT_EQ(Ids(page2), (std::vector<std::string>{"cust-c"}));
  EXPECT_EQ(page2.customers(0).rank(), 3);
  EXPECT_EQ(page2.customers(0).revenue_minor(), 2000);
  EXPECT_TRUE(page2.next_page_token().empty());

  // By limit: 10 asks for more than the 5 there are.
  v1::TopCustomersRequest by_limit;
  March(&by_limit);
  by_limit.set_limit(10);
  v1::TopCustomersResponse all;
  ASSERT_TRUE(stub_->TopCustomers(testing::InternalContext().get(), by_limit, &all).ok());
  EXPECT_EQ(Ids(all),
            (std::vector<std::string>{"cust-a", "cust-d", "cust-c", "cust-h", "cust-e"}));
  EXPECT_EQ(all.selected_customers(), 5);
  EXPECT_EQ(all.customers(4).revenue_minor(), 800);
  EXPECT_TRUE(all.next_page_token().empty());
}

TEST_F(AnalyticsIT, LapsedCustomersLongestLapsedFirst) {
  LoadSmallDataset();
  v1::LapsedCustomersRequest r;
  r.set_store_id("s1");
  *r.mutable_as_of() = At("2024-04-10T00:00:00Z");
  r.set_days(30);  // lapsed: last order before 2024-03-11T00:00Z
  r.set_page_size(3);
  v1::LapsedCustomersResponse page1, page2;
  ASSERT_TRUE(stub_->LapsedCustomers(testing::InternalContext().get(), r, &page1).ok());
  // Last orders at or before as_of (a4 is after it, g2 is cancelled): k Oct 3 2023, b Feb 15,
  // g Feb 20 (g1), f Mar 1 03:00, e Mar 1 05:30 are before Mar 11; h (Mar 12), a (Mar 20),
  // c, d, i, j are not. 5 lapsed.
  EXPECT_EQ(page1.total_size(), 5);
  ASSERT_EQ(page1.customers_size(), 3);
  EXPECT_EQ(page1.customers(0).customer_id(), "cust-k");
  // 2023-10-03 15:00 → 2024-04-10 00:00 = 190 days − 15 h → 189 whole days.
  EXPECT_EQ(page1.customers(0).days_since_last_order(), 189);
  EXPECT_EQ(page1.customers(0).orders(), 3);
  EXPECT_EQ(page1.customers(0).revenue_minor(), 3000);
  EXPECT_EQ(page1.customers(0).last_order_at().seconds(),
            At("2023-10-03T15:00:00Z").seconds());
  EXPECT_EQ(page1.customers(1).customer_id(), "cust-b");
  // Feb 15 15:00 → Apr 10 00:00 = 55 days − 15 h → 54.
  EXPECT_EQ(page1.customers(1).days_since_last_order(), 54);
  EXPECT_EQ(page1.customers(2).customer_id(), "cust-g");
  EXPECT_EQ(page1.customers(2).orders(), 1);  // g2 cancelled
  EXPECT_EQ(page1.customers(2).revenue_minor(), 900);
  EXPECT_EQ(page1.as_of().seconds(), At("2024-04-10T00:00:00Z").seconds());
  ASSERT_FALSE(page1.next_page_token().empty());

  r.set_page_token(page1.next_page_token());
  ASSERT_TRUE(stub_->LapsedCustomers(testing::InternalContext().get(), r, &page2).ok());
  ASSERT_EQ(page2.customers_size(), 2);
  EXPECT_EQ(page2.customers(0).customer_id(), "cust-f");
  EXPECT_EQ(page2.customers(0).days_since_last_order(), 39);  // 40 days − 3 h
  EXPECT_EQ(page2.customers(1).customer_id(), "cust-e");
  EXPECT_TRUE(page2.next_page_token().empty());
}

TEST_F(AnalyticsIT, SegmentsByProductAndDiscountUse) {
  LoadSmallDataset();
  // tea-1 in March: a2 (a), d2 (d). Not g2 (cancelled), f1 (Feb 29 local), z1 (store s2).
  auto got = Segment({"tea-1"}, {}, v1::DISCOUNT_USE_UNSPECIFIED);
  EXPECT_EQ(Ids(got), (std::vector<std::string>{"cust-a", "cust-d"}));
  EXPECT_EQ(got.total_size(), 2);
  // Category tea: a2, c2, d2, h2 (2 of 3 units left after the refund).
  got = Segment({}, {"tea"}, v1::DISCOUNT_USE_UNSPECIFIED);
  EXPECT_EQ(Ids(got), (std::vector<std::string>{"cust-a", "cust-c", "cust-d", "cust-h"}));
  // pot-1: a3's pot line is wholly refunded.
  got = Segment({"pot-1"}, {}, v1::DISCOUNT_USE_UNSPECIFIED);
  EXPECT_TRUE(Ids(got).empty());
  EXPECT_EQ(got.total_size(), 0);
  // SKU or category: pot-1 (nobody) or mugs (a3, d1, e1).
  got = Segment({"pot-1"}, {"mugs"}, v1::DISCOUNT_USE_UNSPECIFIED);
  EXPECT_EQ(Ids(got), (std::vector<std::string>{"cust-a", "cust-d", "cust-e"}));
  // Mugs and a discount in March: d (d1: 500 off), e (e1: 200 off).
  got = Segment({}, {"mugs"}, v1::DISCOUNT_USE_USED);
  EXPECT_EQ(Ids(got), (std::vector<std::string>{"cust-d", "cust-e"}));
  // No discount on any March order: a, c, h.
  got = Segment({}, {}, v1::DISCOUNT_USE_NOT_USED);
  EXPECT_EQ(Ids(got), (std::vector<std::string>{"cust-a", "cust-c", "cust-h"}));
  // No filter: every March customer, 2 a page.
  got = Segment({}, {}, v1::DISCOUNT_USE_UNSPECIFIED, 2);
  EXPECT_EQ(Ids(got), (std::vector<std::string>{"cust-a", "cust-c"}));
  EXPECT_EQ(got.total_size(), 5);
  got = Segment({}, {}, v1::DISCOUNT_USE_UNSPECIFIED, 2, got.next_page_token());
  EXPECT_EQ(Ids(got), (std::vector<std::string>{"cust-d", "cust-e"}));
  got = Segment({}, {}, v1::DISCOUNT_USE_UNSPECIFIED, 2, got.next_page_token());
  EXPECT_EQ(Ids(got), (std::vector<std::string>{"cust-h"}));
  EXPECT_TRUE(got.next_page_token().empty());
}

TEST_F(AnalyticsIT, SegmentsBySpendBand) {
  LoadSmallDataset();
  // Revenue in March (local), refunds and discounts out: a 3000 + (2700 − 700) = 5000, c 2000,
  // d (4500 − 500) + 500 = 4500, e 1000 − 200 = 800, h 3000 − 1000 = 2000.
  const auto band = [&](int64_t min, int64_t max, std::vector<std::string> categories = {}) {
    v1::SegmentCustomersRequest r;
    March(&r);
    for (auto& c : categories) r.add_categories(c);
    r.set_min_spend_minor(min);
    r.set_max_spend_minor(max);
    v1::SegmentCustomersResponse response;
    const auto status = stub_->SegmentCustomers(testing::InternalContext().get(), r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return Ids(response);
  };
  EXPECT_EQ(band(2000, 4500), (std::vector<std::string>{"cust-c", "cust-d", "cust-h"}));
  EXPECT_EQ(band(4501, 0), (std::vector<std::string>{"cust-a"}));
  EXPECT_EQ(band(0, 1999), (std::vector<std::string>{"cust-e"}));
  // With a product filter: tea buyers of March (a, c, d, h) whose whole March spend is at most
  // 4000 (the band counts every order of theirs in the period, not only the tea).
  EXPECT_EQ(band(0, 4000, {"tea"}), (std::vector<std::string>{"cust-c", "cust-h"}));

  for (const auto& [min, max, field] :
       std::vector<std::tuple<int64_t, int64_t, std::string>>{
           {-1, 0, "min_spend_minor"}, {3000, 2999, "max_spend_minor"},
           {0, -5, "max_spend_minor"}}) {
    v1::SegmentCustomersRequest r;
    March(&r);
    r.set_min_spend_minor(min);
    r.set_max_spend_minor(max);
    v1::SegmentCustomersResponse response;
    const auto status = stub_->SegmentCustomers(testing::InternalContext().get(), r, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{field});
  }
}

TEST_F(AnalyticsIT, RfmScoresAndSegments) {
  LoadSmallDataset();
  v1::RfmReportRequest r;
  r.set_store_id("s1");
  *r.mutable_as_of() = At("2024-04-10T00:00:00Z");
  r.set_page_size(4);
  v1::RfmReportResponse got;
  ASSERT_TRUE(stub_->RfmReport(testing::InternalContext().get(), r, &got).ok());
  // 11 customers with orders at or before as_of (a4 after it; g2 cancelled):
  //   cust  last order   F  M
  //   a     Mar 20       3  6000     b  Feb 15   1  5000     c  Mar 25   2  2700
  //   d     Mar 28       2  4500     e  Mar 1 05:30 1 800    f  Mar 1 03:00 1 600
  //   g     Feb 20       1   900     h  Mar 12   2  3200     i  Apr 5    1   300
  //   j     Apr 4        3 12000     k  Oct 3 2023 3 3000
  // ntile(5) of 11 rows: groups of 3, 2, 2, 2, 2.
  //   R (last order asc): k b g | f e | h a | c d | j i   → k,b,g 1; f,e 2; h,a 3; c,d 4; j,i 5
  //   F (F asc, id asc):  b e f | g i | c d | h a | j k   → b,e,f 1; g,i 2; c,d 3; h,a 4; j,k 5
  //   M (M asc):          i f e | g c | k h | d b | a j   → i,f,e 1; g,c 2; k,h 3; d,b 4; a,j 5
  // Segments: j R5 F5 M5 champions; a R3 F4, h R3 F4 loyal; c R4 F3, d R4 F3 potential;
  // i R5 one order new; k R1 F5 (3 orders) at risk; e R2, f R2 hibernating; b R1, g R1 lost.
  EXPECT_EQ(got.customers(), 11);
  ASSERT_EQ(got.segments_size(), 7);
  struct Expected {
    v1::RfmSegment segment;
    int64_t customers;
    int64_t revenue;
  };
  const Expected expected[] = {{v1::RFM_SEGMENT_CHAMPIONS, 1, 12000},
                               {v1::RFM_SEGMENT_LOYAL, 2, 6000 + 3200},
                               {v1::RFM_SEGMENT_POTENTIAL, 2, 2700 + 4500},
                               {v1::RFM_SEGMENT_NEW, 1, 300},
                               {v1::RFM_SEGMENT_AT_RISK, 1, 3000},
                               {v1::RFM_SEGMENT_HIBERNATING, 2, 800 + 600},
                               {v1::RFM_SEGMENT_LOST, 2, 5000 + 900}};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(got.segments(i).segment(), expected[i].segment) << i;
    EXPECT_EQ(got.segments(i).customers(), expected[i].customers) << i;
    EXPECT_EQ(got.segments(i).revenue_minor(), expected[i].revenue) << i;
  }
  // Rows by customer id, 4 a page.
  ASSERT_EQ(got.rows_size(), 4);
  const auto& a = got.rows(0);
  EXPECT_EQ(a.customer_id(), "cust-a");
  EXPECT_EQ(a.recency_days(), 20);  // Mar 20 15:00 → Apr 10 00:00 = 20 days 9 h
  EXPECT_EQ(a.frequency(), 3);
  EXPECT_EQ(a.monetary_minor(), 6000);
  EXPECT_EQ(a.recency_score(), 3);
  EXPECT_EQ(a.frequency_score(), 4);
  EXPECT_EQ(a.monetary_score(), 5);
  EXPECT_EQ(a.segment(), v1::RFM_SEGMENT_LOYAL);
  EXPECT_EQ(a.last_order_at().seconds(), At("2024-03-20T15:00:00Z").seconds());
  EXPECT_EQ(got.rows(1).customer_id(), "cust-b");
  EXPECT_EQ(got.rows(1).segment(), v1::RFM_SEGMENT_LOST);
  EXPECT_EQ(got.rows(3).customer_id(), "cust-d");
  ASSERT_FALSE(got.next_page_token().empty());
  r.set_page_token(got.next_page_token());
  ASSERT_TRUE(stub_->RfmReport(testing::InternalContext().get(), r, &got).ok());
  ASSERT_EQ(got.rows_size(), 4);
  EXPECT_EQ(got.rows(0).customer_id(), "cust-e");
  EXPECT_EQ(got.rows(0).segment(), v1::RFM_SEGMENT_HIBERNATING);

  // Only one segment's rows; the counts still cover all.
  v1::RfmReportRequest lost;
  lost.set_store_id("s1");
  *lost.mutable_as_of() = At("2024-04-10T00:00:00Z");
  lost.set_page_size(10);
  lost.set_segment(v1::RFM_SEGMENT_LOST);
  ASSERT_TRUE(stub_->RfmReport(testing::InternalContext().get(), lost, &got).ok());
  ASSERT_EQ(got.rows_size(), 2);
  EXPECT_EQ(got.rows(0).customer_id(), "cust-b");
  EXPECT_EQ(got.rows(1).customer_id(), "cust-g");
  EXPECT_EQ(got.customers(), 11);
  EXPECT_TRUE(got.next_page_token().empty());

  // No rows asked: counts only.
  lost.set_page_size(0);
  ASSERT_TRUE(stub_->RfmReport(testing::InternalContext().get(), lost, &got).ok());
  EXPECT_EQ(got.rows_size(), 0);
  EXPECT_EQ(got.segments_size(), 7);
}

TEST_F(AnalyticsIT, BadRequestsNameTheirFields) {
  auto fields = [&](auto call) {
    grpc::Status status = call();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    return ErrorFields(status);
  };
  using V = std::vector<std::string>;
  v1::RetentionReportResponse retention;
  v1::RetentionReportRequest r;
  March(&r);
  r.set_activity_window_days(30);

  auto bad = r;
  bad.mutable_period()->set_start_date("2024-02-30");
  bad.mutable_period()->set_end_date("2024/04/01");
  bad.set_activity_window_days(0);
  EXPECT_EQ(fields([&] {
              return stub_->RetentionReport(testing::InternalContext().get(), bad, &retention);
            }),
            (V{"period.start_date", "period.end_date", "activity_window_days"}));

  bad = r;
  bad.mutable_period()->set_end_date("2024-03-01");
  EXPECT_EQ(fields([&] {
              return stub_->RetentionReport(testing::InternalContext().get(), bad, &retention);
            }),
            (V{"period.end_date"}));

  bad = r;
  bad.clear_period();
  bad.clear_store_id();
  EXPECT_EQ(fields([&] {
              return stub_->RetentionReport(testing::InternalContext().get(), bad, &retention);
            }),
            (V{"store_id", "period"}));

  // Well-formed but unknown to the database, and malformed.
  bad = r;
  bad.set_time_zone("Mars/Olympus_Mons");
  EXPECT_EQ(fields([&] {
              return stub_->RetentionReport(testing::InternalContext().get(), bad, &retention);
            }),
            (V{"time_zone"}));
  bad.set_time_zone("Europe/Paris; DROP TABLE orders");
  EXPECT_EQ(fields([&] {
              return stub_->RetentionReport(testing::InternalContext().get(), bad, &retention);
            }),
            (V{"time_zone"}));

  v1::TopCustomersRequest top;
  March(&top);
  v1::TopCustomersResponse top_response;
  EXPECT_EQ(fields([&] {
              return stub_->TopCustomers(testing::InternalContext().get(), top, &top_response);
            }),
            (V{"top_percent"}));
  top.set_top_percent(101);
  top.set_page_token("not-a-token");
  EXPECT_EQ(fields([&] {
              return stub_->TopCustomers(testing::InternalContext().get(), top, &top_response);
            }),
            (V{"top_percent", "page_token"}));

  v1::SegmentCustomersRequest segment;
  March(&segment);
  segment.add_skus("");
  segment.set_discount_use(static_cast<v1::DiscountUse>(9));
  v1::SegmentCustomersResponse segment_response;
  EXPECT_EQ(fields([&] {
              return stub_->SegmentCustomers(testing::InternalContext().get(), segment,
                                             &segment_response);
            }),
            (V{"skus[0]", "discount_use"}));

  v1::LapsedCustomersRequest lapsed;
  lapsed.set_store_id("s1");
  lapsed.set_days(0);
  lapsed.set_page_size(1001);
  v1::LapsedCustomersResponse lapsed_response;
  EXPECT_EQ(fields([&] {
              return stub_->LapsedCustomers(testing::InternalContext().get(), lapsed,
                                            &lapsed_response);
            }),
            (V{"days", "page_size"}));

  // A token of another report is refused.
  v1::RfmReportRequest rfm;
  rfm.set_store_id("s1");
  rfm.set_page_size(1);
  Import("s1", {Imported("s1", "x1", "cust-x", "2024-03-05T15:00:00Z", {{"tea-1", "tea", 100}}),
                Imported("s1", "y1", "cust-y", "2024-03-05T15:00:00Z", {{"tea-1", "tea", 100}})});
  v1::RfmReportResponse rfm_response;
  ASSERT_TRUE(stub_->RfmReport(testing::InternalContext().get(), rfm, &rfm_response).ok());
  ASSERT_FALSE(rfm_response.next_page_token().empty());
  lapsed.set_days(30);
  lapsed.set_page_size(0);
  lapsed.set_page_token(rfm_response.next_page_token());
  EXPECT_EQ(fields([&] {
              return stub_->LapsedCustomers(testing::InternalContext().get(), lapsed,
                                            &lapsed_response);
            }),
            (V{"page_token"}));
}

TEST_F(AnalyticsIT, PeriodsAreLocalDaysAcrossDaylightSavingTime) {
  // March 2024 in New York starts at 00:00 EST (05:00Z) and ends at 00:00 EDT (04:00Z): the
  // orders one second inside each bound count, those one second outside do not.
  Import("dst",
         {Imported("dst", "before", "x", "2024-03-01T04:59:59Z", {{"tea-1", "tea", 1}}),
          Imported("dst", "first", "x", "2024-03-01T05:00:00Z", {{"tea-1", "tea", 10}}),
          Imported("dst", "last", "x", "2024-04-01T03:59:59Z", {{"tea-1", "tea", 100}}),
          Imported("dst", "after", "x", "2024-04-01T04:00:00Z", {{"tea-1", "tea", 1000}})});
  v1::CustomerValueRequest r;
  March(&r, "dst");
  v1::CustomerValueResponse got;
  ASSERT_TRUE(stub_->CustomerValue(testing::InternalContext().get(), r, &got).ok());
  EXPECT_EQ(got.orders(), 2);
  EXPECT_EQ(got.revenue_minor(), 110);  // 10 + 100
  EXPECT_EQ(got.lifetime_orders(), 3);  // "before" too; "after" is after the period's end
  EXPECT_EQ(got.lifetime_revenue_minor(), 111);
  // The same dates in UTC hold "before" and "first" (March 1 UTC), not "last"'s 03:59Z on Apr 1.
  r.set_time_zone("UTC");
  ASSERT_TRUE(stub_->CustomerValue(testing::InternalContext().get(), r, &got).ok());
  EXPECT_EQ(got.revenue_minor(), 11);
}

TEST_F(AnalyticsIT, AnEmptyStoreReportsZeros) {
  v1::RepeatCustomerRevenueRequest r;
  March(&r, "empty");
  v1::RepeatCustomerRevenueResponse got;
  ASSERT_TRUE(stub_->RepeatCustomerRevenue(testing::InternalContext().get(), r, &got).ok());
  EXPECT_EQ(got.total_revenue_minor(), 0);
  EXPECT_EQ(got.repeat_revenue_share().denominator(), 0);
  v1::CustomerValueRequest v;
  March(&v, "empty");
  v1::CustomerValueResponse value;
  ASSERT_TRUE(stub_->CustomerValue(testing::InternalContext().get(), v, &value).ok());
  EXPECT_EQ(value.average_order_value_minor(), 0);
  EXPECT_EQ(value.customer_lifetime_value_minor(), 0);
  v1::TopCustomersRequest t;
  March(&t, "empty");
  t.set_limit(5);
  v1::TopCustomersResponse top;
  ASSERT_TRUE(stub_->TopCustomers(testing::InternalContext().get(), t, &top).ok());
  EXPECT_EQ(top.customers_size(), 0);
  EXPECT_EQ(top.selected_customers(), 0);
  v1::RfmReportRequest f;
  f.set_store_id("empty");
  f.set_page_size(10);
  v1::RfmReportResponse rfm;
  ASSERT_TRUE(stub_->RfmReport(testing::InternalContext().get(), f, &rfm).ok());
  EXPECT_EQ(rfm.customers(), 0);
  EXPECT_EQ(rfm.segments_size(), 7);
}

}  // namespace
}  // namespace loyalty::orders
