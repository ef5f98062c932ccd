#include "order_rules.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <random>

namespace loyalty::orders {
namespace {

using common::AllocateLargestRemainder;
using common::CumulativeShare;

int64_t Sum(const std::vector<int64_t>& v) { return std::accumulate(v.begin(), v.end(), int64_t{0}); }

TEST(LargestRemainder, AddsUpExactlyAndFavoursLargestRemainders) {
  // 100 over 1:1:1 → 33.33 each; the leftover cent goes to the first (ties by index).
  EXPECT_EQ(AllocateLargestRemainder(100, {1, 1, 1}), (std::vector<int64_t>{34, 33, 33}));
  // 10 over 3:7 is exact.
  EXPECT_EQ(AllocateLargestRemainder(10, {300, 700}), (std::vector<int64_t>{3, 7}));
  // 5 over 1999, 1, 1000: exact 3.3317, 0.0017, 1.6667 → floors 3, 0, 1; one left for the
  // largest remainder (0.6667, the third).
  EXPECT_EQ(AllocateLargestRemainder(5, {1999, 1, 1000}), (std::vector<int64_t>{3, 0, 2}));
  EXPECT_EQ(AllocateLargestRemainder(0, {5, 5}), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(AllocateLargestRemainder(3, {0, 0}), (std::vector<int64_t>{2, 1}));
}

TEST(LargestRemainder, RandomCasesSumAndStayWithinWeights) {
  std::mt19937_64 rng(2026);
  for (int round = 0; round < 2000; ++round) {
    std::vector<int64_t> weights(1 + rng() % 12);
    for (auto& w : weights) w = static_cast<int64_t>(rng() % 100000);
    const int64_t cap = Sum(weights);
    const int64_t total = cap == 0 ? 0 : static_cast<int64_t>(rng() % (cap + 1));
    const auto shares = AllocateLargestRemainder(total, weights);
    ASSERT_EQ(Sum(shares), total);
    for (size_t i = 0; i < weights.size(); ++i) {
      ASSERT_GE(shares[i], 0);
      ASSERT_LE(shares[i], weights[i]) << "a share never exceeds its line";
    }
  }
}

TEST(CumulativeShare, PartialRefundsAddUpToTheWhole) {
  // A line of 3 units with net 1000: refunding 1, then 1, then 1 returns 333 + 333 + 334.
  const int64_t net = 1000;
  int64_t returned = 0;
  for (int refunded = 1; refunded <= 3; ++refunded) {
    returned += CumulativeShare(net, refunded, 3) - CumulativeShare(net, refunded - 1, 3);
  }
  EXPECT_EQ(returned, net);
  EXPECT_EQ(CumulativeShare(999'999'999'999'999, 3, 7), 428'571'428'571'428);  // no overflow
}

v1::PlaceOrderRequest Order() {
  v1::PlaceOrderRequest r;
  r.set_currency_code("USD");
  r.set_store_currency_code("USD");
  auto add = [&](const char* id, int64_t price, int qty) {
    auto* l = r.add_lines();
    l->set_line_id(id);
    l->set_sku(std::string("sku-") + id);
    l->set_category("tea");
    l->set_unit_price_minor(price);
    l->set_quantity(qty);
  };
  add("a", 1000, 1);  // gross 1000
  add("b", 333, 3);   // gross 999
  add("c", 1, 1);     // gross 1
  r.set_shipping_fee_minor(500);
  return r;
}

TEST(PriceOrder, AllocatesDiscountsThenPointsToTheCent) {
  auto r = Order();
  auto* d = r.add_discounts();
  d->set_code("WELCOME");
  d->set_amount_minor(100);
  auto* p = r.add_points_payments();
  p->set_hold_id("h1");
  p->set_points(250);
  p->set_amount_minor(250);
  common::Validator v;
  CheckOrderContent(v, r, "");
  ASSERT_NO_THROW(v.ThrowIfInvalid());
  const auto priced = PriceOrder(r);
  EXPECT_EQ(priced.subtotal, 2000);
  // Discount 100 by gross 1000:999:1 → 50, 49.95, 0.05 → floors 50, 49, 0; +1 to line b.
  EXPECT_EQ(priced.lines[0].discount, 50);
  EXPECT_EQ(priced.lines[1].discount, 50);
  EXPECT_EQ(priced.lines[2].discount, 0);
  int64_t discount = 0, points_amount = 0, points = 0, net = 0;
  for (const auto& line : priced.lines) {
    discount += line.discount;
    points_amount += line.points_amount;
    points += line.points_paid;
    net += line.net;
    EXPECT_EQ(line.net, line.gross - line.discount - line.points_amount);
    EXPECT_GE(line.net, 0);
  }
  EXPECT_EQ(discount, 100);
  EXPECT_EQ(points_amount, 250);
  EXPECT_EQ(points, 250);
  EXPECT_EQ(net, 2000 - 100 - 250);
  EXPECT_EQ(priced.merchandise, net);
  EXPECT_EQ(priced.total, 2000 - 100 - 250 + 500);
}

TEST(CheckOrderContent, NamesEveryBadField) {
  auto r = Order();
  r.set_currency_code("EUR");
  r.mutable_lines(0)->set_quantity(0);
  r.mutable_lines(1)->set_unit_price_minor(-5);
  r.mutable_lines(2)->set_line_id("a");
  r.add_discounts()->set_amount_minor(-1);
  r.set_shipping_fee_minor(-1);
  common::Validator v;
  CheckOrderContent(v, r, "");
  try {
    v.ThrowIfInvalid();
    FAIL();
  } catch (const common::ApiError& e) {
    std::vector<std::string> fields;
    for (const auto& f : e.fields()) fields.push_back(f.field);
    EXPECT_EQ(fields, (std::vector<std::string>{"currency_code", "lines[0].quantity",
                                                "lines[1].unit_price_minor", "lines[2].line_id",
                                                "discounts[0].code", "discounts[0].amount_minor",
                                                "shipping_fee_minor"}));
  }
}

TEST(CheckOrderContent, RefusesDiscountsAndPointsBeyondTheLines) {
  auto r = Order();
  r.add_discounts()->set_code("BIG");
  r.mutable_discounts(0)->set_amount_minor(1500);
  auto* p = r.add_points_payments();
  p->set_hold_id("h");
  p->set_points(10);
  p->set_amount_minor(600);  // 2000 - 1500 = 500 left
  common::Validator v;
  CheckOrderContent(v, r, "");
  EXPECT_THROW(v.ThrowIfInvalid(), common::ApiError);
}

TEST(CheckOrderContent, LargeButValidAmountsDoNotOverflow) {
  v1::PlaceOrderRequest r;
  r.set_currency_code("JPY");
  r.set_store_currency_code("JPY");
  for (int i = 0; i < kMaxLines; ++i) {
    auto* l = r.add_lines();
    l->set_line_id("l" + std::to_string(i));
    l->set_sku("s");
    l->set_category("c");
    l->set_unit_price_minor(common::pricing::kMaxUnitPrice);
    l->set_quantity(kMaxQuantity);
  }
  common::Validator v;
  CheckOrderContent(v, r, "");
  EXPECT_NO_THROW(v.ThrowIfInvalid());
  EXPECT_EQ(PriceOrder(r).subtotal, int64_t{500} * common::pricing::kMaxUnitPrice * kMaxQuantity);
}

}  // namespace
}  // namespace loyalty::orders
