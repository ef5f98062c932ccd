// Checkout's rules: the cart checks and the one pricing path, and the property that matters most:
// what a quote shows is what the order built from it records, line by line, and so what the
// ledger earns on it.
#include "checkout_rules.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <random>

#include "earn_rules.hpp"
#include "loyalty/common/money.hpp"
#include "order_rules.hpp"

namespace loyalty::checkout {
namespace {

points::v1::Settings Eur(int64_t threshold = 0) {
  auto s = points::DefaultSettings("EUR", "Europe/Paris");  // 100 points = 1.00, 100 minor/unit
  s.set_free_shipping_threshold_minor(threshold);
  return s;
}

gateway::v1::Cart CartOf(std::initializer_list<std::pair<int64_t, int>> lines) {
  gateway::v1::Cart cart;
  cart.set_customer_id("c1");
  int i = 0;
  for (const auto& [price, quantity] : lines) {
    auto* l = cart.add_lines();
    l->set_line_id("l" + std::to_string(++i));
    l->set_sku("sku" + std::to_string(i));
    l->set_category("tea");
    l->set_unit_price_minor(price);
    l->set_quantity(quantity);
  }
  return cart;
}

std::vector<std::string> BadFields(const gateway::v1::Cart& cart, std::string* reason = nullptr) {
  common::Validator v;
  CheckCart(v, cart, "EUR", true);
  try {
    v.ThrowIfInvalid();
  } catch (const common::ApiError& e) {
    if (reason) *reason = e.reason();
    std::vector<std::string> fields;
    for (const auto& f : e.fields()) fields.push_back(f.field);
    return fields;
  }
  return {};
}

// A reward of the catalogue; the kind's own fields filled with usual values.
points::v1::Reward Reward(const std::string& id, points::v1::RewardKind kind, int64_t cost,
                          int64_t redeemed = 0) {
  points::v1::Reward reward;
  reward.set_reward_id(id);
  reward.set_redeemed(redeemed);
  auto* d = reward.mutable_definition();
  d->set_name(id);
  d->set_kind(kind);
  d->set_points_cost(cost);
  if (kind == points::v1::REWARD_KIND_AMOUNT_OFF) d->set_amount_off_minor(500);
  if (kind == points::v1::REWARD_KIND_PERCENT_OFF) {
    d->set_percent_off_bps(1000);
    d->set_cap_minor(300);
  }
  if (kind == points::v1::REWARD_KIND_FREE_PRODUCT || kind == points::v1::REWARD_KIND_GIFT_WRAP) {
    d->set_sku("sku2");
  }
  return reward;
}

int64_t EarnedOn(int64_t net, const points::v1::EarnRules& rules,
                 const points::v1::Settings& settings, int64_t order_net) {
  return points::LinePoints(rules, settings, {"s", "tea", net}, order_net, 0);
}

// The worked cart of the issue: 10 points per euro, 1040×1, 999×3, 501×2, 500 off. Largest
// remainder gives line 2 its exact share (297.38 → 297) and the leftover unit to line 3 (.42),
// so line 2 earns 270 and the cart 453.
TEST(PriceCart, TheWorkedCartEarns453Points) {
  auto cart = CartOf({{1040, 1}, {999, 3}, {501, 2}});
  auto* d = cart.add_discounts();
  d->set_code("SPRING");
  d->set_amount_minor(500);
  ASSERT_TRUE(BadFields(cart).empty());
  const auto quote = PriceCart(cart, Eur(), 0, false);
  points::v1::EarnRules rules;
  rules.set_base_rate(10);
  std::vector<int64_t> earned;
  int64_t total = 0;
  for (const auto& line : quote.priced.lines) {
    earned.push_back(EarnedOn(line.net, rules, Eur(), quote.priced.merchandise));
    total += earned.back();
  }
  EXPECT_EQ(quote.priced.lines[0].net, 937);
  EXPECT_EQ(quote.priced.lines[1].net, 2700);
  EXPECT_EQ(quote.priced.lines[2].net, 902);  // 1002 − (99 + the leftover unit)
  EXPECT_EQ(earned, (std::vector<int64_t>{93, 270, 90}));
  EXPECT_EQ(total, 453);
}

TEST(PriceCart, PointsCappedByMerchandiseAndTheFreeShippingGap) {
  auto cart = CartOf({{2000, 2}, {1500, 1}});  // 5,500
  auto* d = cart.add_discounts();
  d->set_code("X");
  d->set_amount_minor(500);  // 5,000 left
  cart.set_shipping_fee_minor(499);
  cart.set_points_to_redeem(1000);  // worth 1,000 at 100 points = 100 minor
  const auto q = PriceCart(cart, Eur(5000), 100000, false);
  EXPECT_EQ(q.priced.subtotal, 5500);
  EXPECT_EQ(q.priced.discount, 500);
  EXPECT_EQ(q.max_points, 5000);
  EXPECT_EQ(q.max_points_amount, 5000);
  EXPECT_EQ(q.priced.points_paid, 1000);
  EXPECT_EQ(q.priced.points_amount, 1000);
  EXPECT_EQ(q.priced.merchandise, 4000);
  EXPECT_EQ(q.priced.shipping, 499);  // not free once points pay part
  EXPECT_EQ(q.priced.total, 4499);
  EXPECT_EQ(q.priced.free_shipping_gap, 1000);
}

TEST(PriceCart, FreeShippingAtTheThresholdAndNoGapWithoutOne) {
  auto cart = CartOf({{5000, 1}});
  cart.set_shipping_fee_minor(499);
  auto q = PriceCart(cart, Eur(5000), 0, false);
  EXPECT_EQ(q.priced.shipping, 0);
  EXPECT_EQ(q.priced.free_shipping_gap, 0);
  q = PriceCart(cart, Eur(0), 0, false);
  EXPECT_EQ(q.priced.shipping, 499);
  EXPECT_EQ(q.priced.free_shipping_gap, 0);
  EXPECT_EQ(q.max_points, 0);  // no points available
}

TEST(PriceCart, TierFreeShippingShipsFreeBelowTheThresholdWithNoGap) {
  auto cart = CartOf({{1000, 1}});
  cart.set_shipping_fee_minor(499);
  auto q = PriceCart(cart, Eur(5000), 0, false);
  EXPECT_EQ(q.priced.shipping, 499);
  EXPECT_EQ(q.priced.free_shipping_gap, 4000);
  q = PriceCart(cart, Eur(5000), 0, true);
  EXPECT_EQ(q.priced.shipping, 0);
  EXPECT_EQ(q.priced.total, 1000);
  EXPECT_EQ(q.priced.free_shipping_gap, 0);
  // The order a checkout creates charges the same.
  const auto order = OrderRequest("st", "EUR", "o1", cart, Eur(5000), nullptr, true);
  EXPECT_EQ(order.shipping_fee_minor(), 0);
  points::v1::TierStatus gold;
  EXPECT_FALSE(TierShipsFree(gold));
  gold.mutable_tier()->mutable_benefits()->set_free_shipping(true);
  EXPECT_TRUE(TierShipsFree(gold));
}

TEST(CheckCart, AmountsThatCannotBeRepresentedAreRefusedByField) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  auto cart = CartOf({{100, 1}});
  cart.set_shipping_fee_minor(kMax);
  std::string reason;
  EXPECT_EQ(BadFields(cart, &reason), std::vector<std::string>{"cart.shipping_fee_minor"});
  EXPECT_EQ(reason, "AMOUNT_OUT_OF_RANGE");

  cart = CartOf({{100, 1}});
  for (int i = 0; i < 2; ++i) {
    auto* d = cart.add_discounts();
    d->set_code("BIG" + std::to_string(i));
    d->set_amount_minor(kMax);
  }
  EXPECT_EQ(BadFields(cart), (std::vector<std::string>{"cart.discounts[0].amount_minor",
                                                       "cart.discounts[1].amount_minor"}));

  cart = CartOf({{100, 1}});
  auto* d = cart.add_discounts();
  d->set_code("TOO_MUCH");
  d->set_amount_minor(101);
  EXPECT_EQ(BadFields(cart, &reason), std::vector<std::string>{"cart.discounts"});
  EXPECT_EQ(reason, "DISCOUNTS_EXCEED_SUBTOTAL");

  cart = CartOf({{kMax, 2}});
  EXPECT_EQ(BadFields(cart), std::vector<std::string>{"cart.lines[0].unit_price_minor"});
  cart = CartOf({{100, 0}});
  EXPECT_EQ(BadFields(cart), std::vector<std::string>{"cart.lines[0].quantity"});
  cart = CartOf({{100, 1}});
  cart.set_points_to_redeem(-1);
  EXPECT_EQ(BadFields(cart), std::vector<std::string>{"cart.points_to_redeem"});
  cart.set_points_to_redeem(10);
  cart.clear_customer_id();
  EXPECT_EQ(BadFields(cart), std::vector<std::string>{"cart.customer_id"});
}

// What the orders service accepts is what checkout accepts: the same checks, one source.
TEST(CheckCart, ACartCheckoutAcceptsTheOrdersServiceAccepts) {
  auto cart = CartOf({{100'000'000'000, 10'000}, {1, 1}});
  cart.mutable_lines(1)->clear_category();  // optional in both
  ASSERT_TRUE(BadFields(cart).empty());
  const auto order = OrderRequest("st", "EUR", "o1", cart, Eur(), nullptr, false);
  common::Validator v;
  orders::CheckOrderContent(v, order, "");
  EXPECT_NO_THROW(v.ThrowIfInvalid());
}

TEST(PriceCart, AChosenRewardIsOneMoreDiscountAllocatedLikeTheOthers) {
  // 1040×1, 999×3, 501×2 = 5039; 500 off by the cart, 500 by the reward.
  auto cart = CartOf({{1040, 1}, {999, 3}, {501, 2}});
  auto* d = cart.add_discounts();
  d->set_code("SPRING");
  d->set_amount_minor(500);
  cart.set_reward_id("five-off");
  cart.set_points_to_redeem(10'000);
  const auto reward = Reward("five-off", points::v1::REWARD_KIND_AMOUNT_OFF, 800);
  // 1,000 points: 800 go to the reward, 200 are left to pay with (worth 2.00).
  const auto quote = PriceCart(cart, Eur(), 1000, false, &reward);
  EXPECT_EQ(quote.reward.merchandise_off, 500);
  EXPECT_EQ(quote.reward_points, 800);
  EXPECT_EQ(quote.priced.discount, 1000);
  EXPECT_EQ(quote.max_points, 200);
  EXPECT_EQ(quote.priced.points_paid, 200);
  EXPECT_EQ(quote.priced.merchandise, 5039 - 1000 - 200);
  // The order carries it as a discount of its own, and names the hold with the paid points only.
  points::v1::Hold hold;
  hold.set_hold_id("h");
  hold.set_points(1000);
  hold.set_value_minor(200);
  hold.set_reward_id("five-off");
  hold.set_reward_points(800);
  const auto order = OrderRequest("st", "EUR", "o1", cart, Eur(), &hold, false, &reward);
  ASSERT_EQ(order.discounts_size(), 2);
  EXPECT_EQ(order.discounts(1).code(), "REWARD");
  EXPECT_EQ(order.discounts(1).amount_minor(), 500);
  ASSERT_EQ(order.points_payments_size(), 1);
  EXPECT_EQ(order.points_payments(0).points(), 200);
  EXPECT_EQ(orders::PriceOrder(order).total, quote.priced.total);
}

TEST(PriceCart, AFreeShippingRewardShipsFreeAndAFreeProductTakesOneUnit) {
  auto cart = CartOf({{1200, 1}, {300, 4}});
  cart.set_shipping_fee_minor(499);
  const auto ship = Reward("ship", points::v1::REWARD_KIND_FREE_SHIPPING, 100);
  const auto shipped = PriceCart(cart, Eur(10'000), 0, false, &ship);
  EXPECT_EQ(shipped.priced.shipping, 0);
  EXPECT_EQ(shipped.priced.free_shipping_gap, 0);
  EXPECT_EQ(shipped.priced.total, 2400);
  const auto product = Reward("mug", points::v1::REWARD_KIND_FREE_PRODUCT, 100);  // sku2
  const auto free_unit = PriceCart(cart, Eur(), 0, false, &product);
  EXPECT_EQ(free_unit.reward.merchandise_off, 300);
  EXPECT_EQ(free_unit.priced.total, 2400 - 300 + 499);
  // A reward-only hold pays nothing: the order names it with 0 points, which orders accepts.
  points::v1::Hold hold;
  hold.set_hold_id("h");
  hold.set_points(100);
  hold.set_reward_id("mug");
  hold.set_reward_points(100);
  cart.set_reward_id("mug");
  const auto order = OrderRequest("st", "EUR", "o1", cart, Eur(), &hold, false, &product);
  EXPECT_EQ(order.points_payments(0).points(), 0);
  common::Validator v;
  orders::CheckOrderContent(v, order, "");
  EXPECT_NO_THROW(v.ThrowIfInvalid());
  EXPECT_EQ(orders::PriceOrder(order).total, free_unit.priced.total);
}

TEST(ChosenReward, UnknownIdsAndRefusalsNameTheField) {
  google::protobuf::RepeatedPtrField<points::v1::Reward> catalogue;
  *catalogue.Add() = Reward("five-off", points::v1::REWARD_KIND_AMOUNT_OFF, 500);
  auto cart = CartOf({{1000, 1}});
  EXPECT_EQ(ChosenReward(cart, catalogue), nullptr);
  cart.set_reward_id("nope");
  try {
    ChosenReward(cart, catalogue);
    ADD_FAILURE() << "an unknown reward was found";
  } catch (const common::ApiError& e) {
    EXPECT_EQ(e.reason(), "REWARD_NOT_FOUND");
    EXPECT_EQ(e.fields().at(0).field, "cart.reward_id");
  }
  cart.set_reward_id("five-off");
  const auto* reward = ChosenReward(cart, catalogue);
  ASSERT_NE(reward, nullptr);
  const points::v1::TierStatus no_tier;
  EXPECT_NO_THROW(CheckChosenReward(*reward, no_tier, 500));
  try {
    CheckChosenReward(*reward, no_tier, 499);
    ADD_FAILURE() << "499 points bought a 500-point reward";
  } catch (const common::ApiError& e) {
    EXPECT_EQ(e.reason(), "INSUFFICIENT_POINTS");
    EXPECT_EQ(e.code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(e.fields().at(0).field, "cart.reward_id");
  }
  auto gold_only = *reward;
  gold_only.mutable_definition()->add_tier_ids("gold");
  try {
    CheckChosenReward(gold_only, no_tier, 5000);
    ADD_FAILURE() << "a gold-only reward was redeemed without a tier";
  } catch (const common::ApiError& e) {
    EXPECT_EQ(e.reason(), "REWARD_TIER_REQUIRED");
  }
  points::v1::TierStatus gold;
  gold.mutable_tier()->set_tier_id("gold");
  EXPECT_NO_THROW(CheckChosenReward(gold_only, gold, 5000));
}

TEST(RewardOffers, OnlyWhatTheShopperMayRedeemAndAfford_CheapestFirst) {
  google::protobuf::RepeatedPtrField<points::v1::Reward> catalogue;
  *catalogue.Add() = Reward("pct", points::v1::REWARD_KIND_PERCENT_OFF, 900);
  *catalogue.Add() = Reward("ship", points::v1::REWARD_KIND_FREE_SHIPPING, 200);
  *catalogue.Add() = Reward("dear", points::v1::REWARD_KIND_AMOUNT_OFF, 5000);  // unaffordable
  auto gone = Reward("gone", points::v1::REWARD_KIND_AMOUNT_OFF, 100, 3);
  gone.mutable_definition()->set_stock_limit(3);  // out of stock
  *catalogue.Add() = gone;
  auto cart = CartOf({{1000, 2}});
  cart.set_shipping_fee_minor(450);
  const auto quote = PriceCart(cart, Eur(), 1000, false);
  const auto offers = RewardOffers(catalogue, cart, quote, points::v1::TierStatus(), 1000);
  ASSERT_EQ(offers.size(), 2u);
  EXPECT_EQ(offers[0].reward_id(), "ship");
  EXPECT_EQ(offers[0].shipping_off_minor(), 450);
  EXPECT_EQ(offers[0].merchandise_off_minor(), 0);
  EXPECT_EQ(offers[1].reward_id(), "pct");
  EXPECT_EQ(offers[1].merchandise_off_minor(), 200);  // 10 % of 2000, under the 300 cap
  EXPECT_EQ(offers[1].points_cost(), 900);
}

TEST(CheckCart, ARewardNeedsACustomerAndRoomForItsDiscount) {
  auto cart = CartOf({{1000, 1}});
  cart.set_reward_id("five-off");
  cart.clear_customer_id();
  common::Validator v;
  CheckCart(v, cart, "EUR", false);
  try {
    v.ThrowIfInvalid();
    ADD_FAILURE() << "a reward without a customer passed";
  } catch (const common::ApiError& e) {
    EXPECT_EQ(e.fields().at(0).field, "cart.customer_id");
  }
  cart.set_customer_id("c1");
  for (int i = 0; i < 20; ++i) {
    auto* d = cart.add_discounts();
    d->set_code("D" + std::to_string(i));
    d->set_amount_minor(1);
  }
  std::string reason;
  EXPECT_EQ(BadFields(cart, &reason), std::vector<std::string>{"cart.discounts"});
  EXPECT_EQ(reason, "TOO_MANY_DISCOUNTS");
}

// The property: over thousands of random carts, the quote's per-line figures equal what the order
// built from it records (orders::PriceOrder), and the points each line earns are equal.
TEST(PriceCart, QuoteEqualsTheOrderOnRandomCarts) {
  const auto seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  std::cout << "property seed: " << seed << "\n";
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int round = 0; round < 5000; ++round) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " round " + std::to_string(round));
    gateway::v1::Cart cart;
    cart.set_customer_id("c");
    const int lines = static_cast<int>(pick(1, 12));
    int64_t subtotal = 0;
    for (int i = 0; i < lines; ++i) {
      auto* l = cart.add_lines();
      l->set_line_id("l" + std::to_string(i));
      l->set_sku("s" + std::to_string(pick(0, 5)));
      l->set_category(pick(0, 1) ? "tea" : "cups");
      l->set_unit_price_minor(pick(0, 1) ? pick(0, 5000) : pick(0, 10'000'000));
      l->set_quantity(static_cast<int32_t>(pick(1, 20)));
      subtotal += l->unit_price_minor() * l->quantity();
    }
    for (int i = 0, n = static_cast<int>(pick(0, 3)); i < n; ++i) {
      auto* d = cart.add_discounts();
      d->set_code("D" + std::to_string(i));
      d->set_amount_minor(pick(0, subtotal / 4));
    }
    cart.set_shipping_fee_minor(pick(0, 1500));
    auto settings = Eur(pick(0, 1) ? pick(1, 200'000) : 0);
    settings.set_redeem_points(pick(1, 500));
    settings.set_redeem_value_minor(pick(0, 700));
    cart.set_points_to_redeem(pick(0, 1) ? pick(0, 100'000) : 0);
    if (!BadFields(cart).empty()) continue;  // random discounts may exceed the lines

    const bool tier_free_shipping = pick(0, 3) == 0;  // a tier that ships free
    // Half the carts redeem a reward of a random kind.
    std::optional<points::v1::Reward> reward;
    if (pick(0, 1)) {
      reward = Reward("r", static_cast<points::v1::RewardKind>(pick(1, 5)), pick(1, 5000));
      auto* d = reward->mutable_definition();
      if (d->kind() == points::v1::REWARD_KIND_AMOUNT_OFF) d->set_amount_off_minor(pick(1, 90'000));
      if (d->kind() == points::v1::REWARD_KIND_PERCENT_OFF) d->set_cap_minor(pick(1, 90'000));
      if (!d->sku().empty()) d->set_sku("s" + std::to_string(pick(0, 5)));
      cart.set_reward_id("r");
      if (!BadFields(cart).empty()) continue;
    }
    const points::v1::Reward* chosen = reward ? &*reward : nullptr;
    // A third of the carts apply a discount code of a random kind.
    std::optional<CodeState> code;
    if (pick(0, 2) == 0) {
      code.emplace();
      code->code = "SAVE-" + std::to_string(round);
      auto& d = code->definition;
      d.set_kind(static_cast<gateway::v1::CodeKind>(pick(1, 3)));
      if (d.kind() == gateway::v1::CODE_KIND_AMOUNT_OFF) d.set_amount_off_minor(pick(1, 90'000));
      if (d.kind() == gateway::v1::CODE_KIND_PERCENT_OFF) {
        d.set_percent_off_bps(static_cast<int32_t>(pick(1, 10'000)));
        d.set_cap_minor(pick(1, 90'000));
      }
      cart.set_discount_code(code->code);
      if (!BadFields(cart).empty()) continue;
    }
    const CodeState* applied = code ? &*code : nullptr;
    const auto quote =
        PriceCart(cart, settings, pick(0, 200'000), tier_free_shipping, chosen, applied);
    // The checkout reserves exactly what the quote used and the reward's cost; the ledger values
    // the points with the same function, so the hold carries the quote's figures.
    points::v1::Hold hold;
    hold.set_hold_id("h");
    hold.set_points(quote.priced.points_paid + quote.reward_points);
    hold.set_value_minor(common::PointsValue(quote.priced.points_paid, settings.redeem_points(),
                                             settings.redeem_value_minor()));
    hold.set_reward_points(quote.reward_points);
    const auto order = OrderRequest("st", "EUR", "o", cart, settings,
                                    hold.points() > 0 ? &hold : nullptr, tier_free_shipping,
                                    chosen, applied);
    common::Validator v;
    orders::CheckOrderContent(v, order, "");
    ASSERT_NO_THROW(v.ThrowIfInvalid());
    const auto recorded = orders::PriceOrder(order);

    points::v1::EarnRules rules;
    rules.set_base_rate(pick(1, 20));
    ASSERT_EQ(recorded.lines.size(), quote.priced.lines.size());
    for (size_t i = 0; i < recorded.lines.size(); ++i) {
      EXPECT_EQ(recorded.lines[i].net, quote.priced.lines[i].net);
      EXPECT_EQ(recorded.lines[i].discount, quote.priced.lines[i].discount);
      EXPECT_EQ(recorded.lines[i].points_paid, quote.priced.lines[i].points_paid);
      EXPECT_EQ(EarnedOn(recorded.lines[i].net, rules, settings, recorded.merchandise),
                EarnedOn(quote.priced.lines[i].net, rules, settings, quote.priced.merchandise));
    }
    EXPECT_EQ(recorded.total, quote.priced.total);
    EXPECT_EQ(recorded.shipping, quote.priced.shipping);
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace loyalty::checkout
