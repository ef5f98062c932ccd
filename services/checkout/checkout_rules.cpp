#include "checkout_rules.hpp"

#include <algorithm>

#include "loyalty/common/money.hpp"
#include "loyalty/common/time.hpp"
#include "program/reward_rules.hpp"

namespace loyalty::checkout {

namespace pricing = common::pricing;

namespace {

// The code of the order-level discount a redeemed reward becomes.
constexpr const char* kRewardDiscountCode = "REWARD";

// The cart as the pricing path takes it: the chosen code's then the chosen reward's merchandise
// part appended as order-level discounts (so each is allocated across lines like any other; the
// reward's percentage applies after the code's).
pricing::Cart Priceable(const gateway::v1::Cart& cart, const points::v1::Reward* reward,
                        const CodeState* code, pricing::RewardEffect* reward_effect,
                        pricing::RewardEffect* code_effect) {
  auto priceable = pricing::CartOf(cart);
  if (code != nullptr) {
    *code_effect = pricing::RewardOff(priceable, CodeTermsOf(code->definition));
    if (code_effect->merchandise_off > 0) {
      priceable.discounts.push_back({code->code, code_effect->merchandise_off});
    }
  }
  if (reward != nullptr) {
    *reward_effect = pricing::RewardOff(priceable, points::TermsOf(reward->definition()));
    if (reward_effect->merchandise_off > 0) {
      priceable.discounts.push_back({kRewardDiscountCode, reward_effect->merchandise_off});
    }
  }
  return priceable;
}

}  // namespace

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
  if (!cart.reward_id().empty()) {
    v.RequireId(cart.reward_id(), "cart.reward_id");
    if (!need_customer) {
      v.Check(!cart.customer_id().empty(), "cart.customer_id", "is required to redeem a reward");
    }
  }
  if (!cart.subscription_id().empty() && v.RequireId(cart.subscription_id(), "cart.subscription_id") &&
      !need_customer) {
    v.Check(!cart.customer_id().empty(), "cart.customer_id", "is required to renew a subscription");
  }
  if (!cart.discount_code().empty()) {
    v.Check(ValidCodeText(cart.discount_code()), "cart.discount_code",
            "must be 3-32 letters, digits or '-'");
  }
  // A reward and a code each become one more order-level discount, which the orders service
  // counts.
  const int extra = (cart.reward_id().empty() ? 0 : 1) + (cart.discount_code().empty() ? 0 : 1);
  if (extra > 0) {
    v.Check(cart.discounts_size() + extra <= pricing::kMaxDiscounts, "cart.discounts",
            "at most " + std::to_string(pricing::kMaxDiscounts - extra) +
                " discounts with a reward or a code",
            "TOO_MANY_DISCOUNTS");
  }
}

int64_t RenewalBonus(const points::v1::Settings& settings, bool renews) {
  return renews ? settings.renewal_bonus_points() : 0;
}

int64_t CodeMerchandise(const gateway::v1::Cart& cart) {
  return pricing::PayableByPoints(pricing::CartOf(cart));
}

const points::v1::Reward* ChosenReward(const gateway::v1::Cart& cart, const Catalogue& rewards) {
  if (cart.reward_id().empty()) return nullptr;
  for (const auto& reward : rewards) {
    if (reward.reward_id() == cart.reward_id()) return &reward;
  }
  throw points::RewardNotFound("cart.reward_id");
}

void CheckChosenReward(const points::v1::Reward& reward, const points::v1::TierStatus& tier,
                       int64_t available) {
  const auto refusal = points::CheckRedeemable(reward.definition(), reward.redeemed(),
                                               points::TierViewOf(tier), common::NowMicros());
  if (refusal != points::RewardRefusal::kNone) {
    throw points::RefusalError(refusal, "cart.reward_id");
  }
  if (!points::Affordable(reward.definition(), available)) {
    const std::string why = "costs " + std::to_string(reward.definition().points_cost()) +
                            " points; the customer has " + std::to_string(available);
    throw common::ApiError(grpc::StatusCode::FAILED_PRECONDITION, "INSUFFICIENT_POINTS",
                           "the reward " + why, {{"cart.reward_id", why}});
  }
}

bool TierShipsFree(const points::v1::TierStatus& tier) {
  return tier.tier().benefits().free_shipping();
}

Quote PriceCart(const gateway::v1::Cart& cart, const points::v1::Settings& settings,
                int64_t available, bool tier_free_shipping, const points::v1::Reward* reward,
                const CodeState* code) {
  Quote quote;
  const auto priceable = Priceable(cart, reward, code, &quote.reward, &quote.code);
  if (reward != nullptr) {
    quote.reward_points = reward->definition().points_cost();
    // Compared, not subtracted first: `available` may be anything a caller passes.
    available = available > quote.reward_points ? available - quote.reward_points : 0;
  }
  quote.max_points =
      pricing::MaxRedeemablePoints(pricing::PayableByPoints(priceable), available,
                                   settings.redeem_points(), settings.redeem_value_minor());
  quote.max_points_amount = common::PointsValue(quote.max_points, settings.redeem_points(),
                                                settings.redeem_value_minor());
  pricing::PointsPayment payment;
  payment.points = std::min(cart.points_to_redeem(), quote.max_points);
  payment.amount_minor =
      common::PointsValue(payment.points, settings.redeem_points(), settings.redeem_value_minor());
  quote.priced =
      pricing::Price(priceable, payment, settings.free_shipping_threshold_minor(),
                     tier_free_shipping || quote.reward.free_shipping || quote.code.free_shipping);
  return quote;
}

gateway::v1::RewardOffer OfferOf(const points::v1::Reward& reward, const pricing::Cart& cart,
                                 const Quote& quote) {
  const auto effect = pricing::RewardOff(cart, points::TermsOf(reward.definition()));
  gateway::v1::RewardOffer offer;
  offer.set_reward_id(reward.reward_id());
  offer.set_name(reward.definition().name());
  offer.set_kind(reward.definition().kind());
  offer.set_points_cost(reward.definition().points_cost());
  offer.set_merchandise_off_minor(effect.merchandise_off);
  offer.set_shipping_off_minor(effect.free_shipping ? quote.priced.shipping : 0);
  return offer;
}

std::vector<gateway::v1::RewardOffer> RewardOffers(const Catalogue& rewards,
                                                   const gateway::v1::Cart& cart,
                                                   const Quote& quote,
                                                   const points::v1::TierStatus& tier,
                                                   int64_t available) {
  const auto view = points::TierViewOf(tier);
  const int64_t now = common::NowMicros();
  const auto priceable = pricing::CartOf(cart);
  std::vector<gateway::v1::RewardOffer> offers;
  for (const auto& reward : rewards) {
    if (!points::Affordable(reward.definition(), available)) continue;
    if (points::CheckRedeemable(reward.definition(), reward.redeemed(), view, now) !=
        points::RewardRefusal::kNone) {
      continue;
    }
    offers.push_back(OfferOf(reward, priceable, quote));
  }
  std::stable_sort(offers.begin(), offers.end(), [](const auto& a, const auto& b) {
    return a.points_cost() < b.points_cost();
  });
  return offers;
}

orders::v1::PlaceOrderRequest OrderRequest(const std::string& store_id,
                                           const std::string& currency_code,
                                           const std::string& order_id,
                                           const gateway::v1::Cart& cart,
                                           const points::v1::Settings& settings,
                                           const points::v1::Hold* hold,
                                           bool tier_free_shipping,
                                           const points::v1::Reward* reward,
                                           const CodeState* code, bool renews) {
  pricing::PointsPayment payment;
  // What pays for merchandise: the hold's points but its reward's (the reward is a discount).
  if (hold != nullptr) payment = {hold->points() - hold->reward_points(), hold->value_minor()};
  pricing::RewardEffect reward_effect;
  pricing::RewardEffect code_effect;
  const auto priceable = Priceable(cart, reward, code, &reward_effect, &code_effect);
  const auto priced = pricing::Price(
      priceable, payment, settings.free_shipping_threshold_minor(),
      tier_free_shipping || reward_effect.free_shipping || code_effect.free_shipping);
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
  for (const auto& d : priceable.discounts) {
    auto* discount = order.add_discounts();
    discount->set_code(d.code);
    discount->set_amount_minor(d.amount_minor);
  }
  order.set_shipping_fee_minor(priced.shipping);
  if (renews) {
    order.set_subscription_id(cart.subscription_id());
    order.set_renewal_bonus_points(RenewalBonus(settings, true));
  }
  if (hold != nullptr) {
    auto* pay = order.add_points_payments();
    pay->set_hold_id(hold->hold_id());
    pay->set_points(payment.points);  // 0 for a hold that only redeems a reward
    pay->set_amount_minor(payment.amount_minor);
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
