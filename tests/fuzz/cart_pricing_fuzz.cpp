// Cart validation and pricing: a cart that checkout's CheckCart accepts must price without
// overflow into figures that add up, pay with no more points than allowed, and become an orders
// request that the orders service accepts and prices to the same lines (the quote = order promise),
// with or without a reward of the catalogue redeemed.
//
// Input: a serialized loyalty.gateway.v1.Cart, followed by the program's figures and optionally a
// reward, read from the end with FuzzedDataProvider; trailing zero bytes give the demo store's
// (100 points = 100 minor, free shipping from 6000, 100,000 points available, no reward). A seed is made with
//   protoc -I protos --encode=loyalty.gateway.v1.Cart loyalty/gateway/v1/gateway_service.proto
// on a text cart, followed by 32 zero bytes.
#include <fuzzer/FuzzedDataProvider.h>
#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "checkout_rules.hpp"
#include "earn_rules.hpp"
#include "invariant.hpp"
#include "loyalty/common/money.hpp"
#include "order_rules.hpp"
#include "program/reward_rules.hpp"

namespace {

using namespace loyalty;
namespace pricing = common::pricing;

points::v1::Settings SettingsFrom(FuzzedDataProvider& in) {
  auto settings = points::DefaultSettings("EUR", "Europe/Paris");
  settings.set_free_shipping_threshold_minor(6000);
  if (in.ConsumeBool()) {
    settings.set_redeem_points(in.ConsumeIntegralInRange<int64_t>(1, 1'000'000));
    settings.set_redeem_value_minor(in.ConsumeIntegralInRange<int64_t>(0, 1'000'000'000));
  }
  if (in.ConsumeBool()) {
    settings.set_free_shipping_threshold_minor(
        in.ConsumeIntegralInRange<int64_t>(0, std::numeric_limits<int64_t>::max()));
  }
  return settings;
}

// A reward definition the catalogue accepts, or nullopt; its sku (free product, gift wrap) is one
// of the cart's when `sku_index` falls on a line.
std::optional<points::v1::Reward> RewardFrom(FuzzedDataProvider& in) {
  if (!in.ConsumeBool()) return std::nullopt;
  points::v1::Reward reward;
  reward.set_reward_id("r1");
  auto* d = reward.mutable_definition();
  d->set_name("reward");
  d->set_kind(static_cast<points::v1::RewardKind>(in.ConsumeIntegralInRange<int>(1, 5)));
  d->set_points_cost(in.ConsumeIntegralInRange<int64_t>(1, 1'000'000));
  const int64_t amount = in.ConsumeIntegralInRange<int64_t>(0, pricing::kMaxAmount);
  switch (d->kind()) {
    case points::v1::REWARD_KIND_AMOUNT_OFF:
      d->set_amount_off_minor(std::max<int64_t>(amount, 1));
      break;
    case points::v1::REWARD_KIND_PERCENT_OFF:
      d->set_percent_off_bps(in.ConsumeIntegralInRange<int32_t>(1, pricing::kMaxPercentBps));
      d->set_cap_minor(std::max<int64_t>(amount, 1));
      break;
    case points::v1::REWARD_KIND_FREE_PRODUCT:
    case points::v1::REWARD_KIND_GIFT_WRAP:
      d->set_sku("sku-" + std::to_string(in.ConsumeIntegralInRange<int>(0, 3)));
      break;
    default:
      break;
  }
  return reward;
}

void CheckQuote(const gateway::v1::Cart& cart, const points::v1::Settings& settings,
                bool tier_free_shipping, int64_t available, const checkout::Quote& quote) {
  const auto& p = quote.priced;
  REQUIRE(p.lines.size() == static_cast<size_t>(cart.lines_size()));
  int64_t gross = 0, discount = 0, points_amount = 0, points_paid = 0, net = 0;
  for (size_t i = 0; i < p.lines.size(); ++i) {
    const auto& line = p.lines[i];
    const auto& in = cart.lines(static_cast<int>(i));
    REQUIRE(line.gross == in.unit_price_minor() * in.quantity());
    REQUIRE(line.discount >= 0 && line.discount <= line.gross);
    REQUIRE(line.points_amount >= 0 && line.points_amount <= line.gross - line.discount);
    REQUIRE(line.points_paid >= 0);
    REQUIRE(line.net == line.gross - line.discount - line.points_amount && line.net >= 0);
    gross += line.gross;
    discount += line.discount;
    points_amount += line.points_amount;
    points_paid += line.points_paid;
    net += line.net;
  }
  REQUIRE(gross == p.subtotal && discount == p.discount && points_amount == p.points_amount &&
          points_paid == p.points_paid && net == p.merchandise);
  // The reward: one more discount, never more than the merchandise after the cart's discounts.
  const auto priceable = pricing::CartOf(cart);
  int64_t cart_discounts = 0;
  for (const auto& d : priceable.discounts) cart_discounts += d.amount_minor;
  REQUIRE(quote.reward.merchandise_off >= 0 &&
          quote.reward.merchandise_off <= pricing::PayableByPoints(priceable));
  REQUIRE(p.discount == cart_discounts + quote.reward.merchandise_off);
  REQUIRE(p.merchandise == p.subtotal - p.discount - p.points_amount && p.merchandise >= 0);
  // Points: never more than asked, held, or what the merchandise allows, and worth what they pay.
  REQUIRE(p.points_paid <= cart.points_to_redeem() && p.points_paid <= quote.max_points);
  REQUIRE(quote.max_points <=
          (available > quote.reward_points ? available - quote.reward_points : 0));
  REQUIRE(p.points_amount == common::PointsValue(p.points_paid, settings.redeem_points(),
                                                 settings.redeem_value_minor()));
  REQUIRE(quote.max_points_amount <= pricing::PayableByPoints(pricing::CartOf(cart)));
  // Shipping: the fee, or free by tier or from the threshold; the gap is what is missing.
  const int64_t threshold = settings.free_shipping_threshold_minor();
  const bool free = tier_free_shipping || quote.reward.free_shipping ||
                    (threshold > 0 && p.merchandise >= threshold);
  REQUIRE(p.shipping == (free ? 0 : cart.shipping_fee_minor()));
  REQUIRE(p.total == p.merchandise + p.shipping && p.total >= 0);
  REQUIRE(p.free_shipping_gap == (threshold > 0 && !free ? threshold - p.merchandise : 0));
}

// The orders request of the checkout accepts and prices to the quote, line by line.
void CheckOrder(const gateway::v1::Cart& cart, const points::v1::Settings& settings,
                bool tier_free_shipping, const points::v1::Reward* reward,
                const checkout::Quote& quote) {
  // The hold as the ledger makes it: the points paid plus the reward's cost.
  points::v1::Hold hold;
  hold.set_hold_id("h1");
  hold.set_points(quote.priced.points_paid + quote.reward_points);
  hold.set_value_minor(quote.priced.points_amount);
  if (reward != nullptr) {
    hold.set_reward_id(reward->reward_id());
    hold.set_reward_points(quote.reward_points);
  }
  const auto order = checkout::OrderRequest("s1", "EUR", "o1", cart, settings,
                                            hold.points() > 0 ? &hold : nullptr,
                                            tier_free_shipping, reward);
  REQUIRE(Passes([&](auto& v) { orders::CheckOrderContent(v, order, ""); }));
  const auto priced = orders::PriceOrder(order);
  const auto& q = quote.priced;
  REQUIRE(priced.lines.size() == q.lines.size());
  for (size_t i = 0; i < q.lines.size(); ++i) {
    REQUIRE(priced.lines[i].net == q.lines[i].net &&
            priced.lines[i].discount == q.lines[i].discount &&
            priced.lines[i].points_amount == q.lines[i].points_amount &&
            priced.lines[i].points_paid == q.lines[i].points_paid);
  }
  REQUIRE(priced.total == q.total && priced.shipping == q.shipping);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const auto settings = SettingsFrom(in);
  const int64_t available = in.ConsumeBool() ? in.ConsumeIntegral<int64_t>() : 100'000;
  const bool tier_free_shipping = in.ConsumeBool();
  const auto reward = RewardFrom(in);
  const auto bytes = in.ConsumeRemainingBytes<uint8_t>();
  gateway::v1::Cart cart;
  const google::protobuf::LogSilencer quiet;  // protobuf logs each string that is not UTF-8
  if (!cart.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return 0;
  // SettingsFrom makes only settings a store can have.
  REQUIRE(Passes([&](auto& v) { points::CheckSettings(v, settings, ""); }));
  if (reward) {
    REQUIRE(Passes([&](auto& v) {
      points::CheckRewardDefinition(v, reward->definition(), "definition.");
    }));
    cart.set_reward_id(reward->reward_id());
  }
  if (!Passes([&](auto& v) { checkout::CheckCart(v, cart, "EUR", /*need_customer=*/true); })) {
    return 0;
  }
  const points::v1::Reward* chosen = reward ? &*reward : nullptr;
  const auto quote = checkout::PriceCart(cart, settings, available, tier_free_shipping, chosen);
  CheckQuote(cart, settings, tier_free_shipping, available, quote);
  CheckOrder(cart, settings, tier_free_shipping, chosen, quote);
  return 0;
}
