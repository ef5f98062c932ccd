// Checkout's rules, with no I/O: a storefront cart's checks, its quote, and the orders request
// that a checkout of it creates. The money itself is common/pricing.hpp's, the one pricing path.
#pragma once

#include <cstdint>
#include <string>

#include "loyalty/common/errors.hpp"
#include "loyalty/common/pricing.hpp"
#include "loyalty/gateway/v1/gateway_service.pb.h"
#include "loyalty/orders/v1/orders_service.pb.h"
#include "loyalty/points/v1/points_service.pb.h"

namespace loyalty::checkout {

// Checks a storefront cart, naming fields as the public request does ("cart.lines[1].quantity"):
// the pricing path's checks, the currency and, when `need_customer` (orders, points), the
// customer. Nothing else validates a cart: what passes here, the orders service accepts.
void CheckCart(common::Validator& v, const gateway::v1::Cart& cart,
               const std::string& store_currency, bool need_customer);

struct Quote {
  common::pricing::PricedCart priced;
  int64_t max_points = 0;         // the most points this cart may use
  int64_t max_points_amount = 0;  // what they would take off
};

// The shopper's tier ships free (points.v1.TierBenefits); false without a tier.
bool TierShipsFree(const points::v1::TierStatus& tier);

// Prices a checked cart for a shopper with `available` points, paying with
// min(points_to_redeem, the most the merchandise allows), shipping free when the shopper's
// tier does. Quotes and checkouts both price here.
Quote PriceCart(const gateway::v1::Cart& cart, const points::v1::Settings& settings,
                int64_t available, bool tier_free_shipping);

// The orders request of a checked cart: lines, discounts, the points hold that pays (points and
// value as the ledger holds them) and the shipping fee after free shipping (the threshold or the
// tier), priced with that payment. The orders service prices it again with the same path and
// records the same nets.
orders::v1::PlaceOrderRequest OrderRequest(const std::string& store_id,
                                           const std::string& currency_code,
                                           const std::string& order_id,
                                           const gateway::v1::Cart& cart,
                                           const points::v1::Settings& settings,
                                           const points::v1::Hold* hold,
                                           bool tier_free_shipping);

// Fills the money of a quote answer.
void FillTotals(const Quote& quote, const std::string& currency_code, int64_t available,
                gateway::v1::QuoteCartResponse* response);

}  // namespace loyalty::checkout
