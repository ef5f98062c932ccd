#include "checkout_rules.hpp"

#include "loyalty/common/money.hpp"

namespace loyalty::checkout {

namespace pricing = common::pricing;

void CheckCart(common::Validator& v, const gateway::v1::Cart& cart,
               const std::string& store_currency, bool need_customer) {
  if (need_customer || !cart.customer_id().empty()) {
    v.RequireId(cart.customer_id(), "cart.customer_id");
  }
  v.Check(cart.currency_code().empty() || cart.currency_code() == store_currency,
          "cart.currency_code", "must be the store's currency (" + store_currency + ")",
          "CURRENCY_MISMATCH");
  pricing::CheckCart(v, pricing::CartOf(cart), "cart.");
  v.Check(cart.points_to_redeem() >= 0 && cart.points_to_redeem() <= 1'000'000'000'000,
          "cart.points_to_redeem", "must be 0 to 1,000,000,000,000", "AMOUNT_OUT_OF_RANGE");
  if (cart.points_to_redeem() > 0 && !need_customer) {
    v.Check(!cart.customer_id().empty(), "cart.customer_id", "is required to pay with points");
  }
}

bool TierShipsFree(const points::v1::TierStatus& tier) {
  return tier.tier().benefits().free_shipping();
}

Quote PriceCart(const gateway::v1::Cart& cart, const points::v1::Settings& settings,
                int64_t available, bool tier_free_shipping) {
  const auto priceable = pricing::CartOf(cart);
  Quote quote;
  quote.max_points =
      pricing::MaxRedeemablePoints(pricing::PayableByPoints(priceable), available,
                                   settings.redeem_points(), settings.redeem_value_minor());
  quote.max_points_amount = common::PointsValue(quote.max_points, settings.redeem_points(),
                                                settings.redeem_value_minor());
  pricing::PointsPayment payment;
  payment.points = std::min(cart.points_to_redeem(), quote.max_points);
  payment.amount_minor =
      common::PointsValue(payment.points, settings.redeem_points(), settings.redeem_value_minor());
  quote.priced = pricing::Price(priceable, payment, settings.free_shipping_threshold_minor(),
                                tier_free_shipping);
  return quote;
}

orders::v1::PlaceOrderRequest OrderRequest(const std::string& store_id,
                                           const std::string& currency_code,
                                           const std::string& order_id,
                                           const gateway::v1::Cart& cart,
                                           const points::v1::Settings& settings,
                                           const points::v1::Hold* hold,
                                           bool tier_free_shipping) {
  pricing::PointsPayment payment;
  if (hold != nullptr) payment = {hold->points(), hold->value_minor()};
  const auto priced = pricing::Price(pricing::CartOf(cart), payment,
                                     settings.free_shipping_threshold_minor(), tier_free_shipping);
  orders::v1::PlaceOrderRequest order;
  order.set_store_id(store_id);
  order.set_order_id(order_id);
  order.set_customer_id(cart.customer_id());
  order.set_currency_code(currency_code);
  order.set_store_currency_code(currency_code);
  for (const auto& l : cart.lines()) {
    auto* line = order.add_lines();
    line->set_line_id(l.line_id());
    line->set_sku(l.sku());
    line->set_category(l.category());
    line->set_unit_price_minor(l.unit_price_minor());
    line->set_quantity(l.quantity());
    line->set_gift_wrappable(l.gift_wrappable());
  }
  *order.mutable_discounts() = cart.discounts();
  order.set_shipping_fee_minor(priced.shipping);
  if (hold != nullptr) {
    auto* pay = order.add_points_payments();
    pay->set_hold_id(hold->hold_id());
    pay->set_points(hold->points());
    pay->set_amount_minor(hold->value_minor());
  }
  return order;
}

void FillTotals(const Quote& quote, const std::string& currency_code, int64_t available,
                gateway::v1::QuoteCartResponse* response) {
  const auto& p = quote.priced;
  auto* t = response->mutable_totals();
  t->set_subtotal_minor(p.subtotal);
  t->set_discount_minor(p.discount);
  t->set_points_used(p.points_paid);
  t->set_points_amount_minor(p.points_amount);
  t->set_shipping_minor(p.shipping);
  t->set_total_minor(p.total);
  t->set_currency_code(currency_code);
  response->set_points_available(available);
  response->set_max_points_redeemable(quote.max_points);
  response->set_max_points_amount_minor(quote.max_points_amount);
  response->set_free_shipping_gap_minor(p.free_shipping_gap);
}

}  // namespace loyalty::checkout
