// Redeeming rewards at checkout on all six services and a real Postgres (docs/rewards.md): the
// quote lists what a shopper may redeem and what each takes off; a chosen reward prices the quote
// and the order alike; the order's hold spends its points and one unit of stock; refusals name
// cart.reward_id and keep the order id free; 50 racers for 5 units get exactly 5; a voided or
// expired hold gives its unit back.
#include <atomic>
#include <thread>

#include "gateway_fixture.hpp"

namespace loyalty::gateway {
namespace {

class RewardCheckoutIT : public GatewayIT {
 protected:
  static points::v1::RewardDefinition AmountOff(int64_t cost, int64_t off) {
    points::v1::RewardDefinition d;
    d.set_name(std::to_string(off) + " off");
    d.set_kind(points::v1::REWARD_KIND_AMOUNT_OFF);
    d.set_points_cost(cost);
    d.set_amount_off_minor(off);
    return d;
  }

  void Create(const TestStore& s, const std::string& reward_id,
              const points::v1::RewardDefinition& d) {
    v1::CreateRewardRequest req;
    req.set_request_id("create-" + reward_id);
    req.set_reward_id(reward_id);
    *req.mutable_definition() = d;
    req.set_reason("launch");
    v1::CreateRewardResponse resp;
    const auto status = admin_->CreateReward(Ctx(s.owner).get(), req, &resp);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  int64_t Redeemed(const TestStore& s, const std::string& reward_id) {
    v1::ListRewardsRequest req;
    req.set_reward_id(reward_id);
    v1::ListRewardsResponse resp;
    const auto status = admin_->ListRewards(Ctx(s.owner).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp.rewards_size() == 1 ? resp.rewards(0).redeemed() : -1;
  }

  grpc::Status Quote(const TestStore& s, const v1::Cart& cart, v1::QuoteCartResponse* resp) {
    v1::QuoteCartRequest req;
    *req.mutable_cart() = cart;
    return storefront_->QuoteCart(Ctx(s.storefront).get(), req, resp);
  }

  static v1::Cart WithReward(v1::Cart cart, const std::string& reward_id) {
    cart.set_reward_id(reward_id);
    return cart;
  }

  static void ExpectRefused(const grpc::Status& status, grpc::StatusCode code,
                            const std::string& reason) {
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_EQ(common::ErrorReason(status), reason);
    EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"cart.reward_id"});
  }
};

TEST_F(RewardCheckoutIT, TheQuoteOffersAndPricesARewardAndTheOrderRedeemsItAsQuoted) {
  const auto s = CreateStore("redeem");
  SetUpProgram(s);  // free shipping from 60.00; 100 points = 1.00
  const auto ada = Register(s, "ada@example.com");
  Adjust(s, ada, 1200);
  Create(s, "five-off", AmountOff(500, 500));
  auto ship = AmountOff(300, 0);
  ship.set_name("free shipping");
  ship.set_kind(points::v1::REWARD_KIND_FREE_SHIPPING);
  ship.clear_amount_off_minor();
  Create(s, "ship", ship);
  Create(s, "dear", AmountOff(5000, 2000));  // more than Ada has
  auto gold = AmountOff(100, 100);
  gold.add_tier_ids("gold");  // the store has no tiers: nobody is gold
  Create(s, "gold", gold);

  // The offers: what Ada may redeem and afford, cheapest first, with what each takes off.
  const auto cart = TwoLineCart(ada, 0);  // 30.00 + 20.00, shipping 4.99
  v1::QuoteCartResponse plain;
  ASSERT_TRUE(Quote(s, cart, &plain).ok());
  ASSERT_EQ(plain.rewards_size(), 2);
  EXPECT_EQ(plain.rewards(0).reward_id(), "ship");
  EXPECT_EQ(plain.rewards(0).shipping_off_minor(), 499);
  EXPECT_EQ(plain.rewards(1).reward_id(), "five-off");
  EXPECT_EQ(plain.rewards(1).merchandise_off_minor(), 500);
  EXPECT_EQ(plain.totals().total_minor(), 5499);

  // Chosen: one more discount, and the points it earns on the lower nets.
  v1::QuoteCartResponse quoted;
  ASSERT_TRUE(Quote(s, WithReward(cart, "five-off"), &quoted).ok());
  EXPECT_EQ(quoted.reward().reward_id(), "five-off");
  EXPECT_EQ(quoted.reward().points_cost(), 500);
  EXPECT_EQ(quoted.totals().discount_minor(), 500);
  EXPECT_EQ(quoted.totals().total_minor(), 4999);
  EXPECT_EQ(quoted.points_to_earn(), 45);  // 1 point per unit on 45.00

  // Refusals name cart.reward_id, at the quote and at the order, and change nothing.
  v1::QuoteCartResponse refused;
  ExpectRefused(Quote(s, WithReward(cart, "dear"), &refused),
                grpc::StatusCode::FAILED_PRECONDITION, "INSUFFICIENT_POINTS");
  ExpectRefused(Quote(s, WithReward(cart, "gold"), &refused),
                grpc::StatusCode::FAILED_PRECONDITION, "REWARD_TIER_REQUIRED");
  ExpectRefused(Quote(s, WithReward(cart, "nope"), &refused), grpc::StatusCode::NOT_FOUND,
                "REWARD_NOT_FOUND");
  // A customer the store does not have is that, not a shopper short of points.
  const auto stranger = Quote(s, WithReward(TwoLineCart("nobody", 0), "five-off"), &refused);
  EXPECT_EQ(stranger.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(common::ErrorReason(stranger), "CUSTOMER_NOT_FOUND");
  v1::PlaceOrderResponse order;
  ExpectRefused(Place(s, "o-1", WithReward(cart, "dear"), &order),
                grpc::StatusCode::FAILED_PRECONDITION, "INSUFFICIENT_POINTS");
  ExpectRefused(Place(s, "o-1", WithReward(cart, "gold"), &order),
                grpc::StatusCode::FAILED_PRECONDITION, "REWARD_TIER_REQUIRED");
  EXPECT_EQ(Redeemed(s, "dear"), 0);

  // The order (the same id: the refusals kept it free) is what the quote said.
  const auto placed = Place(s, "o-1", WithReward(cart, "five-off"), &order);
  ASSERT_TRUE(placed.ok()) << placed.error_message();
  EXPECT_EQ(order.order().total_minor(), quoted.totals().total_minor());
  EXPECT_EQ(order.hold().reward_id(), "five-off");
  EXPECT_EQ(order.hold().reward_points(), 500);
  EXPECT_EQ(order.hold().points(), 500);
  EXPECT_EQ(Redeemed(s, "five-off"), 1);
  // The order's event commits the hold: 500 spent, 45 pending from the order.
  EXPECT_TRUE(Eventually([&] {
    const auto b = Status(s, ada).balance();
    return b.held() == 0 && b.available() == 700 && b.pending() == 45;
  })) << Status(s, ada).balance().ShortDebugString();
  ExpectLedgerClean(s);
}

TEST_F(RewardCheckoutIT, FiftyRacersForFiveUnitsGetExactlyFive) {
  const auto s = CreateStore("race");
  SetUpProgram(s);
  auto limited = AmountOff(100, 300);
  limited.set_stock_limit(5);
  Create(s, "limited", limited);
  std::vector<std::string> customers;
  for (int i = 0; i < 10; ++i) {
    customers.push_back(Register(s, "racer" + std::to_string(i) + "@example.com"));
    Adjust(s, customers.back(), 1000);
  }

  std::atomic<int> placed{0}, out_of_stock{0}, other{0};
  std::vector<std::thread> racers;
  for (int i = 0; i < 50; ++i) {
    racers.emplace_back([&, i] {
      v1::PlaceOrderResponse resp;
      const auto status = Place(s, "race-" + std::to_string(i),
                                WithReward(TwoLineCart(customers[i % 10], 0), "limited"), &resp);
      if (status.ok()) {
        ++placed;
      } else if (common::ErrorReason(status) == "REWARD_OUT_OF_STOCK") {
        ++out_of_stock;
      } else {
        ++other;
        ADD_FAILURE() << status.error_code() << " " << status.error_message();
      }
    });
  }
  for (auto& t : racers) t.join();
  EXPECT_EQ(placed.load(), 5);
  EXPECT_EQ(out_of_stock.load(), 45);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(Redeemed(s, "limited"), 5);
  // Exactly five rewards' points left the customers' balances.
  EXPECT_TRUE(Eventually([&] {
    int64_t available = 0, held = 0;
    for (const auto& c : customers) {
      const auto b = Status(s, c).balance();
      available += b.available();
      held += b.held();
    }
    return held == 0 && available == 10 * 1000 - 5 * 100;
  }));
  ExpectLedgerClean(s);
}

TEST_F(RewardCheckoutIT, AVoidedOrExpiredHoldGivesItsUnitAndPointsBack) {
  const auto s = CreateStore("unit-back");
  SetUpProgram(s);  // holds last 60 s
  const auto ada = Register(s, "ada@example.com");
  Adjust(s, ada, 1000);
  auto one = AmountOff(400, 100);
  one.set_stock_limit(1);
  Create(s, "one", one);

  auto reserve = [&](const std::string& order_id, points::v1::ReserveRedemptionResponse* resp) {
    points::v1::ReserveRedemptionRequest req;
    req.set_store_id(s.store_id);
    req.set_request_id("reserve-" + order_id);
    req.set_customer_id(ada);
    req.set_order_id(order_id);
    req.set_reward_id("one");  // no points pay: the hold only redeems the reward
    return points_stub_->ReserveRedemption(testing::InternalContext().get(), req, resp);
  };
  points::v1::ReserveRedemptionResponse first;
  ASSERT_TRUE(reserve("never-1", &first).ok());
  EXPECT_EQ(first.hold().points(), 400);
  EXPECT_EQ(first.hold().reward_points(), 400);
  EXPECT_EQ(first.hold().value_minor(), 0);
  EXPECT_EQ(Redeemed(s, "one"), 1);
  points::v1::ReserveRedemptionResponse second;
  const auto gone = reserve("never-2", &second);
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(common::ErrorReason(gone), "REWARD_OUT_OF_STOCK");
  EXPECT_EQ(common::ErrorFields(gone), std::vector<std::string>{"reward_id"});

  // Voided (its order never existed): the unit and the points come back.
  points::v1::VoidRedemptionRequest void_req;
  void_req.set_store_id(s.store_id);
  void_req.set_hold_id(first.hold().hold_id());
  points::v1::VoidRedemptionResponse voided;
  ASSERT_TRUE(points_stub_->VoidRedemption(testing::InternalContext().get(), void_req, &voided)
                  .ok());
  EXPECT_EQ(Redeemed(s, "one"), 0);
  EXPECT_EQ(Status(s, ada).balance().available(), 1000);

  // Expired by the hold job: likewise, once.
  points::v1::ReserveRedemptionResponse third;
  ASSERT_TRUE(reserve("never-3", &third).ok());
  EXPECT_EQ(Redeemed(s, "one"), 1);
  RunJob("expiry", s.store_id, 1);
  RunJob("expiry", s.store_id, 2);
  EXPECT_EQ(Redeemed(s, "one"), 0);
  EXPECT_EQ(Status(s, ada).balance().available(), 1000);
  EXPECT_EQ(Status(s, ada).balance().held(), 0);
  ExpectLedgerClean(s);
}

// A reward's dry run (docs/dry-run.md): a draft replayed over the period's redemptions of the
// reward, made by orders through checkout; a voided hold is no redemption; nothing is written.
TEST_F(RewardCheckoutIT, ADraftIsReplayedOverThePeriodsRedemptionsAndWritesNothing) {
  const auto s = CreateStore("reward-dry-run");
  SetUpProgram(s);
  Create(s, "five-off", AmountOff(500, 500));
  const std::vector<std::string> customers = {Register(s, "ada@example.com"),
                                              Register(s, "bob@example.com"),
                                              Register(s, "cy@example.com")};
  for (const auto& c : customers) Adjust(s, c, 2000);
  // Four redemptions (Ada twice), oldest first; and one hold voided, which redeems nothing.
  for (int i = 0; i < 4; ++i) {
    v1::PlaceOrderResponse order;
    const auto status = Place(s, "o-" + std::to_string(i),
                              WithReward(TwoLineCart(customers[i % 3], 0), "five-off"), &order);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  points::v1::ReserveRedemptionRequest reserve;
  reserve.set_store_id(s.store_id);
  reserve.set_request_id("reserve-never");
  reserve.set_customer_id(customers[2]);
  reserve.set_order_id("never");
  reserve.set_reward_id("five-off");
  points::v1::ReserveRedemptionResponse held;
  ASSERT_TRUE(points_stub_->ReserveRedemption(testing::InternalContext().get(), reserve, &held)
                  .ok());
  points::v1::VoidRedemptionRequest void_req;
  void_req.set_store_id(s.store_id);
  void_req.set_hold_id(held.hold().hold_id());
  points::v1::VoidRedemptionResponse voided;
  ASSERT_TRUE(
      points_stub_->VoidRedemption(testing::InternalContext().get(), void_req, &voided).ok());
  // The orders' events commit their holds.
  ASSERT_TRUE(Eventually([&] {
    int64_t held_points = 0;
    for (const auto& c : customers) held_points += Status(s, c).balance().held();
    return held_points == 0;
  }));
  const auto available = [&] {
    int64_t sum = 0;
    for (const auto& c : customers) sum += Status(s, c).balance().available();
    return sum;
  };
  const int64_t available_before = available();
  EXPECT_EQ(available_before, 3 * 2000 - 4 * 500);

  // Cheaper, but three units: the fourth redemption is refused.
  auto draft = AmountOff(400, 500);
  draft.set_stock_limit(3);
  v1::DryRunRewardRequest req;
  req.set_reward_id("five-off");
  *req.mutable_draft() = draft;
  *req.mutable_from() = InDays(-1);
  *req.mutable_to() = InDays(1);
  v1::DryRunRewardResponse resp;
  auto status = admin_->DryRunReward(Ctx(s.owner).get(), req, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const auto& r = resp.report();
  EXPECT_EQ(r.redemptions(), 4);
  EXPECT_EQ(r.points_in_force(), 2000);
  EXPECT_EQ(r.redemptions_draft(), 3);
  EXPECT_EQ(r.points_draft(), 1200);
  EXPECT_EQ(r.refused_stock(), 1);
  EXPECT_EQ(r.customers(), 3);

  // A window that ended before them refuses all four; a period before them finds none.
  *draft.mutable_active_until() = InDays(-1);
  *req.mutable_draft() = draft;
  ASSERT_TRUE(admin_->DryRunReward(Ctx(s.owner).get(), req, &resp).ok());
  EXPECT_EQ(resp.report().refused_window(), 4);
  EXPECT_EQ(resp.report().points_draft(), 0);
  *req.mutable_from() = InDays(-3);
  *req.mutable_to() = InDays(-2);
  ASSERT_TRUE(admin_->DryRunReward(Ctx(s.owner).get(), req, &resp).ok());
  EXPECT_EQ(resp.report().redemptions(), 0);

  // Nothing was written: the stock used and the balances are as they were.
  EXPECT_EQ(Redeemed(s, "five-off"), 4);
  EXPECT_EQ(available(), available_before);

  // An unknown reward, a bad draft and a period backwards are refused naming the field.
  req.set_reward_id("nope");
  status = admin_->DryRunReward(Ctx(s.owner).get(), req, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"reward_id"});
  req.set_reward_id("five-off");
  req.mutable_draft()->set_points_cost(0);
  status = admin_->DryRunReward(Ctx(s.owner).get(), req, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"draft.points_cost"});
  *req.mutable_draft() = draft;
  *req.mutable_to() = InDays(-4);
  status = admin_->DryRunReward(Ctx(s.owner).get(), req, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"to"});
  ExpectLedgerClean(s);
}

}  // namespace
}  // namespace loyalty::gateway
