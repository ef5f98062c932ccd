// What a reward takes off a cart (pricing::RewardOff): each kind, and the bound by what is payable.
#include <gtest/gtest.h>

#include "loyalty/common/pricing.hpp"

namespace loyalty::common::pricing {
namespace {

Cart TeaCart() {
  Cart cart;
  cart.lines = {{"1", "sencha", "tea", 1290, 2}, {"2", "wrap", "gift", 300, 3},
                {"3", "sencha", "tea", 990, 1}};
  cart.discounts = {{"WELCOME", 500}};
  cart.shipping_fee_minor = 499;
  return cart;  // payable: 2580 + 900 + 990 - 500 = 3970
}

RewardTerms Terms(RewardKind kind) {
  RewardTerms t;
  t.kind = kind;
  return t;
}

TEST(RewardOffTest, AmountOffIsTheAmountBoundedByWhatIsPayable) {
  auto t = Terms(RewardKind::kAmountOff);
  t.amount_off_minor = 500;
  EXPECT_EQ(RewardOff(TeaCart(), t).merchandise_off, 500);
  EXPECT_FALSE(RewardOff(TeaCart(), t).free_shipping);
  t.amount_off_minor = 10'000;
  EXPECT_EQ(RewardOff(TeaCart(), t).merchandise_off, 3970);
}

TEST(RewardOffTest, PercentOffRoundsDownAfterDiscountsUpToTheCap) {
  auto t = Terms(RewardKind::kPercentOff);
  t.percent_off_bps = 1'000;  // 10 % of 3970 = 397
  t.cap_minor = 1'000;
  EXPECT_EQ(RewardOff(TeaCart(), t).merchandise_off, 397);
  t.percent_off_bps = 333;  // 3.33 % of 3970 = 132.201
  EXPECT_EQ(RewardOff(TeaCart(), t).merchandise_off, 132);
  t.percent_off_bps = 5'000;
  t.cap_minor = 1'500;
  EXPECT_EQ(RewardOff(TeaCart(), t).merchandise_off, 1'500);
  t.percent_off_bps = 10'000;
  t.cap_minor = kMaxAmount;
  EXPECT_EQ(RewardOff(TeaCart(), t).merchandise_off, 3970);
}

TEST(RewardOffTest, FreeShippingTakesNothingOffTheMerchandise) {
  const auto effect = RewardOff(TeaCart(), Terms(RewardKind::kFreeShipping));
  EXPECT_TRUE(effect.free_shipping);
  EXPECT_EQ(effect.merchandise_off, 0);
}

TEST(RewardOffTest, FreeProductIsOneUnitAtTheLowestPriceAndNothingWithoutIt) {
  auto t = Terms(RewardKind::kFreeProduct);
  t.sku = "sencha";
  EXPECT_EQ(RewardOff(TeaCart(), t).merchandise_off, 990);
  t.sku = "matcha";
  EXPECT_EQ(RewardOff(TeaCart(), t).merchandise_off, 0);
}

TEST(RewardOffTest, GiftWrapIsEveryUnitOfTheWrap) {
  auto t = Terms(RewardKind::kGiftWrap);
  t.sku = "wrap";
  EXPECT_EQ(RewardOff(TeaCart(), t).merchandise_off, 900);
}

TEST(RewardOffTest, NeverMoreThanTheDiscountsLeave) {
  auto cart = TeaCart();
  cart.discounts = {{"BIG", 4'000}};  // payable 470
  auto t = Terms(RewardKind::kFreeProduct);
  t.sku = "sencha";
  EXPECT_EQ(RewardOff(cart, t).merchandise_off, 470);
  cart.discounts = {{"ALL", 4'470}};  // payable 0
  EXPECT_EQ(RewardOff(cart, t).merchandise_off, 0);
}

}  // namespace
}  // namespace loyalty::common::pricing
