// The one pricing path of a cart, with no I/O: its validation and its arithmetic. Checkout's
// QuoteCart and PlaceOrder price a shopper's cart with it; the orders service prices the order
// that checkout creates (and imported orders) with it, so a quote and its order agree to the minor
// unit and, since points earn from the per-line nets, to the point.
//
//   lines ─► gross ─► order-level discounts (by gross) ─► points payment (by what is left)
//         ─► per-line nets ─► shipping (free from the threshold) ─► total, free-shipping gap
//
// Money is int64 minor units; every bound below keeps every sum far inside int64, and the
// validation refuses anything outside them, naming the field, before any arithmetic.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loyalty/common/errors.hpp"

namespace loyalty::common::pricing {

inline constexpr int kMaxLines = 500;
inline constexpr int kMaxQuantity = 10'000;
inline constexpr int64_t kMaxUnitPrice = 100'000'000'000;    // 1e11 minor units
inline constexpr int64_t kMaxShippingFee = 1'000'000'000'000;  // 1e12
inline constexpr int kMaxDiscounts = 20;
// A subtotal is at most 500 × 10,000 × 1e11 = 5e17, under int64's 9.2e18: no discount needs to
// be larger than that.
inline constexpr int64_t kMaxAmount = 500'000'000'000'000'000;

struct Line {
  std::string line_id;
  std::string sku;
  std::string category;
  int64_t unit_price_minor = 0;
  int64_t quantity = 0;
};

struct Discount {
  std::string code;
  int64_t amount_minor = 0;
};

struct Cart {
  std::vector<Line> lines;
  std::vector<Discount> discounts;
  int64_t shipping_fee_minor = 0;  // before free shipping
};

// What the shopper pays with points: `points`, worth `amount_minor`.
struct PointsPayment {
  int64_t points = 0;
  int64_t amount_minor = 0;
};

// The cart of a request message with `lines()` (line_id, sku, category, unit_price_minor,
// quantity), `discounts()` (code, amount_minor) and `shipping_fee_minor()`: the storefront's cart
// and the orders service's PlaceOrderRequest alike, so both are checked and priced as one.
template <class Message>
Cart CartOf(const Message& message) {
  Cart cart;
  cart.lines.reserve(static_cast<size_t>(message.lines_size()));
  for (const auto& l : message.lines()) {
    cart.lines.push_back({l.line_id(), l.sku(), l.category(), l.unit_price_minor(), l.quantity()});
  }
  for (const auto& d : message.discounts()) cart.discounts.push_back({d.code(), d.amount_minor()});
  cart.shipping_fee_minor = message.shipping_fee_minor();
  return cart;
}

// Validates a cart, naming each bad field under `prefix` ("cart." for a storefront's cart,
// "" for an orders request), with a reason (AMOUNT_OUT_OF_RANGE, DISCOUNTS_EXCEED_SUBTOTAL, ...).
// A cart that passes prices without overflow, and the orders service accepts the order built
// from it: this is the only cart validation in the tree. Returns true when the cart passed.
bool CheckCart(Validator& v, const Cart& cart, const std::string& prefix);

struct PricedLine {
  int64_t gross = 0;          // unit price × quantity
  int64_t discount = 0;       // its share of the order-level discounts
  int64_t points_amount = 0;  // its share of what the points take off
  int64_t points_paid = 0;    // its share of the points
  int64_t net = 0;            // gross − discount − points_amount: what points earn on
};

struct PricedCart {
  std::vector<PricedLine> lines;
  int64_t subtotal = 0;
  int64_t discount = 0;
  int64_t points_amount = 0;
  int64_t points_paid = 0;
  int64_t merchandise = 0;  // subtotal − discount − points_amount (= sum of line nets)
  int64_t shipping = 0;     // after free shipping
  int64_t total = 0;        // merchandise + shipping
  int64_t free_shipping_gap = 0;  // what is missing for free shipping (0: free or no threshold)
};

// Prices a checked cart. Discounts and the points payment are allocated across lines by largest
// remainder (common/money.hpp), discounts by gross, points by what is left of each line.
// Shipping is free when `free_shipping` (a tier benefit: then there is no gap either) or when
// `free_shipping_threshold_minor` > 0 and the merchandise reaches it.
// Requires: the cart passed CheckCart, and the payment does not exceed PayableByPoints.
PricedCart Price(const Cart& cart, const PointsPayment& payment,
                 int64_t free_shipping_threshold_minor, bool free_shipping = false);

// What points may pay for: the merchandise after discounts (never shipping).
int64_t PayableByPoints(const Cart& cart);

// A reward of the points catalogue as pricing sees it (points' RewardDefinition, docs/rewards.md).
enum class RewardKind { kAmountOff, kPercentOff, kFreeShipping, kFreeProduct, kGiftWrap };

struct RewardTerms {
  RewardKind kind = RewardKind::kAmountOff;
  int64_t amount_off_minor = 0;  // kAmountOff, 0 to kMaxAmount
  int32_t percent_off_bps = 0;   // kPercentOff, 1 to 10,000
  int64_t cap_minor = 0;         // kPercentOff, 0 to kMaxAmount
  std::string sku;               // kFreeProduct, kGiftWrap
};

inline constexpr int32_t kMaxPercentBps = 10'000;

// What a reward does to a cart.
struct RewardEffect {
  // Off the merchandise after the order-level discounts; never more than PayableByPoints.
  int64_t merchandise_off = 0;
  bool free_shipping = false;
};

// What `reward` takes off a checked cart: a fixed amount; a percentage of the merchandise after
// discounts (rounded down) up to the cap; free shipping; one unit of the product (the lowest unit
// price among its lines; nothing when the cart lacks it); every unit of the gift wrap product.
// Each is bounded by what is payable, so a reward never makes a total negative.
RewardEffect RewardOff(const Cart& cart, const RewardTerms& reward);

// The most of `available` points whose value does not exceed `payable_minor`.
int64_t MaxRedeemablePoints(int64_t payable_minor, int64_t available, int64_t redeem_points,
                            int64_t redeem_value_minor);

}  // namespace loyalty::common::pricing
