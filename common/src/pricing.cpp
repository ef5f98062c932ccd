#include "loyalty/common/pricing.hpp"

#include <algorithm>
#include <set>

#include "loyalty/common/money.hpp"

namespace loyalty::common::pricing {

namespace {

constexpr const char* kOutOfRange = "AMOUNT_OUT_OF_RANGE";

std::string Index(const std::string& prefix, const char* list, size_t i) {
  return prefix + list + "[" + std::to_string(i) + "].";
}

}  // namespace

bool CheckCart(Validator& validator, const Cart& cart, const std::string& prefix) {
  bool ok = true;
  // Every check goes through here, so that the answer says whether any failed.
  auto check = [&](bool passed, const std::string& field, const std::string& description,
                   const std::string& reason = "") {
    ok &= validator.Check(passed, field, description, reason);
    return passed;
  };
  const size_t n = cart.lines.size();
  check(n >= 1 && n <= kMaxLines, prefix + "lines", "must have 1 to 500 lines",
        "LINE_COUNT_OUT_OF_RANGE");
  std::set<std::string> ids;
  Wide subtotal = 0;
  bool subtotal_known = true;
  for (size_t i = 0; i < n && i < static_cast<size_t>(kMaxLines); ++i) {
    const auto& line = cart.lines[i];
    const std::string f = Index(prefix, "lines", i);
    const bool id_ok = validator.RequireId(line.line_id, f + "line_id");
    ok &= id_ok;
    if (id_ok) {
      check(ids.insert(line.line_id).second, f + "line_id", "is used by another line",
            "DUPLICATE_LINE_ID");
    }
    check(!line.sku.empty() && line.sku.size() <= 128, f + "sku", "must be 1-128 characters");
    check(line.category.size() <= 128, f + "category", "must be at most 128 characters");
    const bool price_ok =
        check(line.unit_price_minor >= 0 && line.unit_price_minor <= kMaxUnitPrice,
              f + "unit_price_minor", "must be 0 to 100,000,000,000", kOutOfRange);
    const bool quantity_ok = check(line.quantity >= 1 && line.quantity <= kMaxQuantity,
                                   f + "quantity", "must be 1 to 10,000", kOutOfRange);
    if (price_ok && quantity_ok) {
      subtotal += static_cast<Wide>(line.unit_price_minor) * line.quantity;
    } else {
      subtotal_known = false;
    }
  }
  check(cart.discounts.size() <= static_cast<size_t>(kMaxDiscounts), prefix + "discounts",
        "at most 20 discounts", "TOO_MANY_DISCOUNTS");
  Wide discounts = 0;
  bool discounts_known = true;
  for (size_t i = 0; i < cart.discounts.size() && i < static_cast<size_t>(kMaxDiscounts); ++i) {
    const auto& d = cart.discounts[i];
    const std::string f = Index(prefix, "discounts", i);
    check(!d.code.empty() && d.code.size() <= 64, f + "code", "must be 1-64 characters");
    if (check(d.amount_minor >= 0 && d.amount_minor <= kMaxAmount, f + "amount_minor",
              "must be 0 to 500,000,000,000,000,000", kOutOfRange)) {
      discounts += d.amount_minor;  // 20 × 5e17 fits in 128 bits
    } else {
      discounts_known = false;
    }
  }
  if (subtotal_known && discounts_known) {
    check(discounts <= subtotal, prefix + "discounts", "add up to more than the lines",
          "DISCOUNTS_EXCEED_SUBTOTAL");
  }
  check(cart.shipping_fee_minor >= 0 && cart.shipping_fee_minor <= kMaxShippingFee,
        prefix + "shipping_fee_minor", "must be 0 to 1,000,000,000,000", kOutOfRange);
  return ok;
}

int64_t PayableByPoints(const Cart& cart) {
  int64_t payable = 0;
  for (const auto& line : cart.lines) payable += line.unit_price_minor * line.quantity;
  for (const auto& d : cart.discounts) payable -= d.amount_minor;
  return payable;
}

int64_t MaxRedeemablePoints(int64_t payable_minor, int64_t available, int64_t redeem_points,
                            int64_t redeem_value_minor) {
  if (payable_minor <= 0 || available <= 0 || redeem_points <= 0 || redeem_value_minor <= 0) {
    return 0;
  }
  // floor(payable × points / value) points are worth at most `payable`.
  const Wide cap = static_cast<Wide>(payable_minor) * redeem_points / redeem_value_minor;
  return static_cast<int64_t>(std::min<Wide>(available, cap));
}

RewardEffect RewardOff(const Cart& cart, const RewardTerms& reward) {
  const int64_t payable = std::max<int64_t>(0, PayableByPoints(cart));
  RewardEffect effect;
  int64_t off = 0;
  switch (reward.kind) {
    case RewardKind::kAmountOff:
      off = reward.amount_off_minor;
      break;
    case RewardKind::kPercentOff:
      off = std::min<int64_t>(
          reward.cap_minor,
          static_cast<int64_t>(static_cast<Wide>(payable) * reward.percent_off_bps / 10'000));
      break;
    case RewardKind::kFreeShipping:
      effect.free_shipping = true;
      break;
    case RewardKind::kFreeProduct: {
      bool found = false;
      for (const auto& line : cart.lines) {
        if (line.sku != reward.sku) continue;
        off = found ? std::min(off, line.unit_price_minor) : line.unit_price_minor;
        found = true;
      }
      break;
    }
    case RewardKind::kGiftWrap:
      for (const auto& line : cart.lines) {
        if (line.sku == reward.sku) off += line.unit_price_minor * line.quantity;
      }
      break;
  }
  effect.merchandise_off = std::clamp<int64_t>(off, 0, payable);
  return effect;
}

PricedCart Price(const Cart& cart, const PointsPayment& payment,
                 int64_t free_shipping_threshold_minor, bool free_shipping) {
  PricedCart priced;
  std::vector<int64_t> gross;
  gross.reserve(cart.lines.size());
  for (const auto& line : cart.lines) {
    gross.push_back(line.unit_price_minor * line.quantity);
    priced.subtotal += gross.back();
  }
  for (const auto& d : cart.discounts) priced.discount += d.amount_minor;
  priced.points_amount = payment.amount_minor;
  priced.points_paid = payment.points;

  const auto discounts = AllocateLargestRemainder(priced.discount, gross);
  std::vector<int64_t> after_discount(gross.size());
  for (size_t i = 0; i < gross.size(); ++i) after_discount[i] = gross[i] - discounts[i];
  const auto points_amounts = AllocateLargestRemainder(priced.points_amount, after_discount);
  const auto points_paid = AllocateLargestRemainder(priced.points_paid, after_discount);
  priced.lines.reserve(gross.size());
  for (size_t i = 0; i < gross.size(); ++i) {
    priced.lines.push_back({gross[i], discounts[i], points_amounts[i], points_paid[i],
                            after_discount[i] - points_amounts[i]});
  }
  priced.merchandise = priced.subtotal - priced.discount - priced.points_amount;
  const bool threshold_set = free_shipping_threshold_minor > 0;
  const bool free =
      free_shipping || (threshold_set && priced.merchandise >= free_shipping_threshold_minor);
  priced.shipping = free ? 0 : cart.shipping_fee_minor;
  priced.total = priced.merchandise + priced.shipping;
  if (threshold_set && !free) {
    priced.free_shipping_gap = free_shipping_threshold_minor - priced.merchandise;
  }
  return priced;
}

}  // namespace loyalty::common::pricing
