// The money rules of an order, with no I/O: validation, allocation of order-level discounts and
// points across lines, refund amounts. Integer arithmetic only.
#pragma once

#include <cstdint>
#include <vector>

#include "loyalty/common/errors.hpp"
#include "loyalty/common/money.hpp"
#include "loyalty/orders/v1/orders_service.pb.h"

namespace loyalty::orders {

inline constexpr int kMaxLines = 500;
inline constexpr int kMaxQuantity = 10000;
inline constexpr int64_t kMaxUnitPrice = 100'000'000'000;  // 1e11 minor units
inline constexpr int64_t kMaxShipping = 1'000'000'000'000;
inline constexpr int kMaxDiscounts = 20;
inline constexpr int kMaxPointsPayments = 10;

struct PricedLine {
  int64_t gross = 0;
  int64_t discount = 0;
  int64_t points_amount = 0;
  int64_t points_paid = 0;
  int64_t net = 0;
};

struct PricedOrder {
  std::vector<PricedLine> lines;
  int64_t subtotal = 0;
  int64_t discount = 0;
  int64_t points_amount = 0;
  int64_t points_paid = 0;
  int64_t shipping = 0;
  int64_t total = 0;
  int64_t revenue = 0;  // sum of line nets
};

// Checks an order's content (not its ids): lines, amounts, overflow, currency. Field names are
// prefixed with `prefix` (e.g. "orders[3].order.").
void CheckOrderContent(common::Validator& v, const v1::PlaceOrderRequest& order,
                       const std::string& prefix);

// Prices a checked order: discounts allocated by line gross, then the points payment (money and
// points) by what is left of each line.
PricedOrder PriceOrder(const v1::PlaceOrderRequest& order);

}  // namespace loyalty::orders
