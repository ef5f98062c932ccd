// Checkout's rules, with no I/O: a storefront cart's checks, its quote, and the orders request
// that a checkout of it creates. The money itself is common/pricing.hpp's, the one pricing path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "code_rules.hpp"
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

// What a code's minimum spend is measured on: the merchandise after the cart's own discounts.
int64_t CodeMerchandise(const gateway::v1::Cart& cart);

// The store's rewards catalogue as checkout keeps it (points.GetSettings with include_rewards).
using Catalogue = google::protobuf::RepeatedPtrField<points::v1::Reward>;

// The reward a cart chooses (cart.reward_id), found in the catalogue; nullptr when it chooses
// none. NOT_FOUND REWARD_NOT_FOUND naming cart.reward_id when the catalogue lacks it.
const points::v1::Reward* ChosenReward(const gateway::v1::Cart& cart, const Catalogue& rewards);

// Refuses the chosen reward for this shopper: FAILED_PRECONDITION naming cart.reward_id with the
// rules' reason (REWARD_OUT_OF_STOCK, REWARD_TIER_REQUIRED, ...) or INSUFFICIENT_POINTS. Nothing
// when the shopper, in `tier` with `available` points, may redeem it now.
void CheckChosenReward(const points::v1::Reward& reward, const points::v1::TierStatus& tier,
                       int64_t available);

struct Quote {
  common::pricing::PricedCart priced;
  int64_t max_points = 0;         // the most points this cart may use
  int64_t max_points_amount = 0;  // what they would take off
  int64_t reward_points = 0;      // the chosen reward's cost, spent beside the points paid
  common::pricing::RewardEffect reward;  // what the chosen reward takes off
  common::pricing::RewardEffect code;    // what the cart's discount code takes off
};

// The shopper's tier ships free (points.v1.TierBenefits); false without a tier.
bool TierShipsFree(const points::v1::TierStatus& tier);

// Prices a checked cart for a shopper with `available` points, paying with
// min(points_to_redeem, the most the merchandise allows), shipping free when the shopper's
// tier does. A chosen `reward` (nullptr: none) is an order-level discount of what it takes off
// (common::pricing::RewardOff) and may ship free; its cost comes out of `available` first.
// A usable discount `code` (nullptr: none) is one more order-level discount, before the reward's,
// or ships free. Quotes and checkouts both price here.
Quote PriceCart(const gateway::v1::Cart& cart, const points::v1::Settings& settings,
                int64_t available, bool tier_free_shipping,
                const points::v1::Reward* reward = nullptr, const CodeState* code = nullptr);

// The rewards a shopper in `tier` with `available` points may redeem now, each with what it
// would take off `quote` (this cart priced without a reward): cheapest first.
std::vector<gateway::v1::RewardOffer> RewardOffers(const Catalogue& rewards,
                                                   const gateway::v1::Cart& cart,
                                                   const Quote& quote,
                                                   const points::v1::TierStatus& tier,
                                                   int64_t available);

// One reward as a shopper sees it against a cart (as pricing::CartOf gives it) priced without it.
gateway::v1::RewardOffer OfferOf(const points::v1::Reward& reward,
                                 const common::pricing::Cart& cart, const Quote& quote);

// The orders request of a checked cart: lines, discounts (the code's and the reward's as more), the
// points hold that pays (points and value as the ledger holds them, the reward's cost left out:
// the order names the hold, whose commit spends it) and the shipping fee after free shipping
// (the threshold, the tier or the reward), priced with that payment. The orders service prices it
// again with the same path and records the same nets.
orders::v1::PlaceOrderRequest OrderRequest(const std::string& store_id,
                                           const std::string& currency_code,
                                           const std::string& order_id,
                                           const gateway::v1::Cart& cart,
                                           const points::v1::Settings& settings,
                                           const points::v1::Hold* hold,
                                           bool tier_free_shipping,
                                           const points::v1::Reward* reward = nullptr,
                                           const CodeState* code = nullptr,
                                           bool renews = false);

// The points a subscription renewal order earns on top of its lines (0 when the cart `renews`
// nothing): the quote shows them and the order carries them for the points service to credit.
int64_t RenewalBonus(const points::v1::Settings& settings, bool renews);

// Fills the money of a quote answer.
void FillTotals(const Quote& quote, const std::string& currency_code, int64_t available,
                gateway::v1::QuoteCartResponse* response);

}  // namespace loyalty::checkout
