#include "order_rules.hpp"

#include <regex>
#include <set>

namespace loyalty::orders {

namespace pricing = common::pricing;

namespace {

pricing::PointsPayment PaymentOf(const v1::PlaceOrderRequest& order) {
  pricing::PointsPayment payment;
  for (const auto& p : order.points_payments()) {
    payment.points += p.points();
    payment.amount_minor += p.amount_minor();
  }
  return payment;
}

}  // namespace

void CheckOrderContent(common::Validator& v, const v1::PlaceOrderRequest& order,
                       const std::string& prefix) {
  static const std::regex kCurrency("^[A-Z]{3}$");
  if (v.Check(std::regex_match(order.currency_code(), kCurrency), prefix + "currency_code",
              "must be an ISO 4217 code such as USD")) {
    v.Check(order.currency_code() == order.store_currency_code(), prefix + "currency_code",
            "must be the store's currency (" + order.store_currency_code() + ")");
  }
  const auto cart = pricing::CartOf(order);
  const bool cart_ok = pricing::CheckCart(v, cart, prefix);
  v.Check(order.points_payments_size() <= kMaxPointsPayments, prefix + "points_payments",
          "at most 10");
  std::set<std::string> holds;
  bool amounts_ok = true;
  for (int i = 0; i < order.points_payments_size() && i < kMaxPointsPayments; ++i) {
    const auto& p = order.points_payments(i);
    const std::string f = prefix + "points_payments[" + std::to_string(i) + "].";
    if (v.RequireId(p.hold_id(), f + "hold_id")) {
      v.Check(holds.insert(p.hold_id()).second, f + "hold_id", "is named twice");
    }
    // 0 points: a hold that only redeems a reward (its discount is in the discounts); the
    // order names it so that the ledger commits it.
    amounts_ok &= v.Check(p.points() >= 0 && p.points() <= 1'000'000'000'000, f + "points",
                          "must be 0 to 1,000,000,000,000", "AMOUNT_OUT_OF_RANGE");
    amounts_ok &= v.Check(p.amount_minor() >= 0 && p.amount_minor() <= pricing::kMaxAmount,
                          f + "amount_minor", "must be 0 to 500,000,000,000,000,000",
                          "AMOUNT_OUT_OF_RANGE");
    amounts_ok &= v.Check(p.points() > 0 || p.amount_minor() == 0, f + "amount_minor",
                          "must be 0 when no points pay", "AMOUNT_OUT_OF_RANGE");
  }
  // Only meaningful once the cart itself is sound (its sums are then in range).
  if (amounts_ok && cart_ok && order.points_payments_size() <= kMaxPointsPayments) {
    v.Check(PaymentOf(order).amount_minor <= pricing::PayableByPoints(cart),
            prefix + "points_payments", "take off more than is left after discounts",
            "POINTS_EXCEED_MERCHANDISE");
  }
}

PricedOrder PriceOrder(const v1::PlaceOrderRequest& order) {
  return pricing::Price(pricing::CartOf(order), PaymentOf(order), 0);
}

}  // namespace loyalty::orders
