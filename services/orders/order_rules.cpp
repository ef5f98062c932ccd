#include "order_rules.hpp"

#include <algorithm>
#include <regex>
#include <set>

namespace loyalty::orders {

using common::AllocateLargestRemainder;

void CheckOrderContent(common::Validator& v, const v1::PlaceOrderRequest& order,
                       const std::string& prefix) {
  static const std::regex kCurrency("^[A-Z]{3}$");
  if (v.Check(std::regex_match(order.currency_code(), kCurrency), prefix + "currency_code",
              "must be an ISO 4217 code such as USD")) {
    v.Check(order.currency_code() == order.store_currency_code(), prefix + "currency_code",
            "must be the store's currency (" + order.store_currency_code() + ")");
  }
  const int n = order.lines_size();
  v.Check(n >= 1 && n <= kMaxLines, prefix + "lines",
          "must have 1 to " + std::to_string(kMaxLines) + " lines");
  std::set<std::string> ids;
  int64_t subtotal = 0;
  for (int i = 0; i < n && i < kMaxLines; ++i) {
    const auto& line = order.lines(i);
    const std::string f = prefix + "lines[" + std::to_string(i) + "].";
    if (v.RequireId(line.line_id(), f + "line_id")) {
      v.Check(ids.insert(line.line_id()).second, f + "line_id", "is used by another line");
    }
    v.Check(!line.sku().empty() && line.sku().size() <= 128, f + "sku", "must be 1-128 characters");
    v.Check(!line.category().empty() && line.category().size() <= 128, f + "category",
            "must be 1-128 characters");
    const bool price_ok = v.Check(line.unit_price_minor() >= 0 &&
                                      line.unit_price_minor() <= kMaxUnitPrice,
                                  f + "unit_price_minor", "must be 0 to 1e11");
    const bool qty_ok = v.Check(line.quantity() >= 1 && line.quantity() <= kMaxQuantity,
                                f + "quantity", "must be 1 to " + std::to_string(kMaxQuantity));
    if (price_ok && qty_ok) subtotal += line.unit_price_minor() * line.quantity();  // < 5e17
  }
  v.Check(order.discounts_size() <= kMaxDiscounts, prefix + "discounts", "at most 20");
  int64_t discounts = 0;
  for (int i = 0; i < order.discounts_size() && i < kMaxDiscounts; ++i) {
    const auto& d = order.discounts(i);
    const std::string f = prefix + "discounts[" + std::to_string(i) + "].";
    v.Check(!d.code().empty() && d.code().size() <= 64, f + "code", "must be 1-64 characters");
    if (v.Check(d.amount_minor() >= 0 && d.amount_minor() <= kMaxShipping * 1000, f + "amount_minor",
                "must be 0 or more")) {
      discounts += d.amount_minor();
    }
  }
  v.Check(discounts <= subtotal, prefix + "discounts", "add up to more than the lines");
  v.Check(order.shipping_fee_minor() >= 0 && order.shipping_fee_minor() <= kMaxShipping,
          prefix + "shipping_fee_minor", "must be 0 to 1e12");
  v.Check(order.points_payments_size() <= kMaxPointsPayments, prefix + "points_payments",
          "at most 10");
  std::set<std::string> holds;
  int64_t paid = 0;
  for (int i = 0; i < order.points_payments_size() && i < kMaxPointsPayments; ++i) {
    const auto& p = order.points_payments(i);
    const std::string f = prefix + "points_payments[" + std::to_string(i) + "].";
    if (v.RequireId(p.hold_id(), f + "hold_id")) {
      v.Check(holds.insert(p.hold_id()).second, f + "hold_id", "is named twice");
    }
    v.Check(p.points() > 0 && p.points() <= 1'000'000'000'000, f + "points", "must be positive");
    if (v.Check(p.amount_minor() >= 0 && p.amount_minor() <= kMaxShipping * 1000,
                f + "amount_minor", "must be 0 or more")) {
      paid += p.amount_minor();
    }
  }
  v.Check(paid <= subtotal - std::min(discounts, subtotal), prefix + "points_payments",
          "take off more than is left after discounts");
}

PricedOrder PriceOrder(const v1::PlaceOrderRequest& order) {
  PricedOrder priced;
  std::vector<int64_t> gross;
  for (const auto& line : order.lines()) {
    gross.push_back(line.unit_price_minor() * line.quantity());
    priced.subtotal += gross.back();
  }
  for (const auto& d : order.discounts()) priced.discount += d.amount_minor();
  for (const auto& p : order.points_payments()) {
    priced.points_amount += p.amount_minor();
    priced.points_paid += p.points();
  }
  const auto discounts = AllocateLargestRemainder(priced.discount, gross);
  std::vector<int64_t> after_discount(gross.size());
  for (size_t i = 0; i < gross.size(); ++i) after_discount[i] = gross[i] - discounts[i];
  const auto points_amounts = AllocateLargestRemainder(priced.points_amount, after_discount);
  const auto points_paid = AllocateLargestRemainder(priced.points_paid, after_discount);
  for (size_t i = 0; i < gross.size(); ++i) {
    PricedLine line{gross[i], discounts[i], points_amounts[i], points_paid[i],
                    after_discount[i] - points_amounts[i]};
    priced.revenue += line.net;
    priced.lines.push_back(line);
  }
  priced.shipping = order.shipping_fee_minor();
  priced.total = priced.subtotal - priced.discount - priced.points_amount + priced.shipping;
  return priced;
}

}  // namespace loyalty::orders
