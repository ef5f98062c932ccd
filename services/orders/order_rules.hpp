// The rules of an order request, with no I/O: its checks and its price. Both come from the one
// pricing path (common/pricing.hpp) that checkout quotes with, so an order records exactly the
// per-line figures its quote showed.
#pragma once

#include <cstdint>
#include <string>

#include "loyalty/common/errors.hpp"
#include "loyalty/common/money.hpp"
#include "loyalty/common/pricing.hpp"
#include "loyalty/orders/v1/orders_service.pb.h"

namespace loyalty::orders {

using common::pricing::kMaxLines;
using common::pricing::kMaxQuantity;
inline constexpr int kMaxPointsPayments = 10;

// An order's price: the pricing path's result (merchandise = revenue, the sum of line nets).
using PricedOrder = common::pricing::PricedCart;

// Checks an order's content (not its ids): the cart (common::pricing::CheckCart), currency and
// points payments. Field names are prefixed with `prefix` (e.g. "orders[3].order.").
void CheckOrderContent(common::Validator& v, const v1::PlaceOrderRequest& order,
                       const std::string& prefix);

// Prices a checked order. The shipping fee is taken as final (checkout has already applied free
// shipping).
PricedOrder PriceOrder(const v1::PlaceOrderRequest& order);

}  // namespace loyalty::orders
