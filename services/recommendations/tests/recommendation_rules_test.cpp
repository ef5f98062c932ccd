#include "recommendation_rules.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace loyalty::recommendations {
namespace {

std::vector<RecordedLine> Lines(const std::vector<std::string>& skus) {
  std::vector<EventLine> lines;
  for (const auto& s : skus) lines.push_back({s, 1});
  return DistinctSkus(lines);
}

std::vector<std::string> Skus(const std::vector<Ranked>& ranked) {
  std::vector<std::string> out;
  for (const auto& r : ranked) out.push_back(r.sku);
  return out;
}

TEST(DistinctSkus, SumsLinesOfOneSkuAndKeepsFirstAppearanceOrder) {
  const auto lines = DistinctSkus({{"b", 2}, {"a", 1}, {"b", 3}, {"c", 1}});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].sku, "b");
  EXPECT_EQ(lines[0].quantity, 5);
  EXPECT_EQ(lines[0].position, 0);
  EXPECT_EQ(lines[1].sku, "a");
  EXPECT_EQ(lines[1].position, 1);
  EXPECT_EQ(lines[2].sku, "c");
  EXPECT_EQ(lines[2].position, 2);
}

TEST(Contribution, CountsItemsAndBothDirectionsOfEachPair) {
  ModelDelta d;
  AddContribution(Lines({"a", "b", "c"}), true, +1, d);
  EXPECT_EQ(d.items.size(), 3u);
  EXPECT_EQ(d.items.at("a"), 1);
  EXPECT_EQ(d.pairs.size(), 6u);
  EXPECT_EQ(d.pairs.at({"a", "b"}), 1);
  EXPECT_EQ(d.pairs.at({"b", "a"}), 1);
}

TEST(Contribution, AnOrderOutsideTheWindowOrCancelledCountsNothing) {
  ModelDelta d;
  AddContribution(Lines({"a", "b"}), false, +1, d);
  EXPECT_TRUE(d.empty());
  EXPECT_TRUE(InWindow(std::nullopt, 5));
  EXPECT_TRUE(InWindow(5, 5));
  EXPECT_FALSE(InWindow(6, 5));
}

TEST(Contribution, OnlyTheFirstKDistinctSkusFormPairs) {
  std::vector<std::string> skus;
  for (int i = 0; i < kPairSkusPerOrder + 5; ++i) skus.push_back("s" + std::to_string(100 + i));
  ModelDelta d;
  AddContribution(Lines(skus), true, +1, d);
  EXPECT_EQ(d.items.size(), skus.size()) << "every SKU counts as an item";
  EXPECT_EQ(d.pairs.size(), static_cast<size_t>(kPairSkusPerOrder * (kPairSkusPerOrder - 1)));
  EXPECT_FALSE(d.pairs.contains({skus[0], skus[kPairSkusPerOrder]}));
}

TEST(Change, AFullyRefundedSkuLeavesTheBasketAndItsPairs) {
  auto before = Lines({"a", "b", "c"});
  auto after = before;
  after[1].refunded = after[1].quantity;
  const auto d = Change(before, true, after, true);
  EXPECT_EQ(d.items.size(), 1u);
  EXPECT_EQ(d.items.at("b"), -1);
  EXPECT_EQ(d.pairs.size(), 4u);
  EXPECT_EQ(d.pairs.at({"a", "b"}), -1);
  EXPECT_EQ(d.pairs.at({"c", "b"}), -1);
}

TEST(Change, APartialRefundChangesNothing) {
  auto before = DistinctSkus({{"a", 3}, {"b", 1}});
  auto after = before;
  after[0].refunded = 2;
  EXPECT_TRUE(Change(before, true, after, true).empty());
}

TEST(Change, ARefundedSkuDoesNotPromoteTheSkuBeyondTheBound) {
  std::vector<std::string> skus;
  for (int i = 0; i <= kPairSkusPerOrder; ++i) skus.push_back("s" + std::to_string(100 + i));
  auto before = Lines(skus);
  auto after = before;
  after[0].refunded = 1;
  const auto d = Change(before, true, after, true);
  EXPECT_FALSE(d.pairs.contains({skus[1], skus[kPairSkusPerOrder]}));
}

TEST(Change, CancellationTakesTheWholeContributionBack) {
  const auto lines = Lines({"a", "b"});
  const auto d = Change(lines, true, lines, false);
  EXPECT_EQ(d.items.at("a"), -1);
  EXPECT_EQ(d.items.at("b"), -1);
  EXPECT_EQ(d.pairs.at({"a", "b"}), -1);
  EXPECT_EQ(d.pairs.at({"b", "a"}), -1);
}

TEST(Cosine, IsTogetherOverTheGeometricMeanOfTheCounts) {
  EXPECT_DOUBLE_EQ(Cosine(2, 4, 9), 2.0 / 6.0);
  EXPECT_EQ(Cosine(0, 4, 9), 0);
  EXPECT_EQ(Cosine(1, 0, 9), 0);
}

TEST(RankForProduct, NormalisesSoABestSellerDoesNotWinOnRawCount) {
  // "best" is bought with the anchor 10 times but is in 1,000 orders; "niche" 4 times in 5.
  const auto ranked =
      RankForProduct("anchor", 20, {{"best", 10, 1000}, {"niche", 4, 5}, {"anchor", 20, 20}});
  EXPECT_EQ(Skus(ranked), (std::vector<std::string>{"niche", "best"}));
  EXPECT_NEAR(ranked[0].score, 4 / std::sqrt(100.0), 1e-12);
  EXPECT_EQ(ranked[0].related, std::vector<std::string>{"anchor"});
}

TEST(RankForProduct, EqualAffinitiesAreOrderedBySkuExactly) {
  // 1/sqrt(2) and 2/sqrt(8) are equal; floating point might say otherwise, integers do not.
  const auto ranked = RankForProduct("x", 1, {{"b", 1, 2}, {"a", 2, 8}, {"c", 1, 3}});
  EXPECT_EQ(Skus(ranked), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(MergeForCart, SumsAffinityAcrossCartItemsAndNamesTheStrongestFirst) {
  Anchor a{"a", 4, {{"x", 2, 4}, {"y", 3, 9}}};
  Anchor b{"b", 9, {{"x", 3, 4}, {"a", 4, 4}}};
  const auto merged = MergeForCart({b, a});
  ASSERT_EQ(Skus(merged), (std::vector<std::string>{"x", "y"})) << "cart items never come back";
  EXPECT_NEAR(merged[0].score, 2 / std::sqrt(16.0) + 3 / std::sqrt(36.0), 1e-12);
  EXPECT_EQ(merged[0].related, (std::vector<std::string>{"a", "b"}));
  // The order of the cart does not matter.
  const auto again = MergeForCart({a, b});
  EXPECT_EQ(again[0].score, merged[0].score);
}

TEST(Upsell, BandIsDearerByAtMostHalf) {
  EXPECT_FALSE(InUpsellBand(1000, 1000));
  EXPECT_TRUE(InUpsellBand(1000, 1001));
  EXPECT_TRUE(InUpsellBand(1000, 1500));
  EXPECT_FALSE(InUpsellBand(1000, 1501));
  EXPECT_TRUE(InUpsellBand(999, 1498));
  EXPECT_FALSE(InUpsellBand(999, 1499));
  EXPECT_FALSE(InUpsellBand(0, 1));
  EXPECT_TRUE(InUpsellBand(kMaxMoneyMinor, kMaxMoneyMinor + kMaxMoneyMinor / 2));
}

TEST(MergeForCart, TiesAreOrderedBySkuAndEachCandidateCountsOncePerItem) {
  Anchor a{"a", 1, {{"y", 1, 1}, {"x", 1, 1}, {"x", 1, 1}}};
  const auto merged = MergeForCart({a});
  ASSERT_EQ(Skus(merged), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(merged[0].score, 1.0) << "a candidate listed twice for one item counts once";
}

TEST(PickPopular, MostOrderedFirstTiesBySkuSkippingWhatIsTaken) {
  const std::vector<PopularOption> options = {
      {"b", 5}, {"a", 5}, {"c", 9}, {"d", 1}, {"a", 5}, {"taken", 50}};
  EXPECT_EQ(PickPopular(options, {"taken"}, 10), (std::vector<std::string>{"c", "a", "b", "d"}));
  EXPECT_EQ(PickPopular(options, {"taken", "c"}, 2), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(PickPopular(options, {}, 0).empty());
}

TEST(PickUpsells, PremiumFirstElseTheFirstOfTheBandInCartOrder) {
  UpsellItem a{"a", 1000, "", true, {{"in-cart", 1100}, {"a-up", 1200}, {"a-up-2", 1300}}};
  UpsellItem b{"b", 1000, "b-premium", false, {}};
  UpsellItem c{"c", 1000, "", true, {{"a-up", 1200}, {"too-dear", 1501}, {"c-up", 1400}}};
  const auto upsells = PickUpsells({a, b, c}, {"a", "b", "c", "in-cart"}, 5);
  ASSERT_EQ(upsells.picks.size(), 3u);
  EXPECT_EQ(upsells.picks[0].sku, "a-up");
  EXPECT_EQ(upsells.picks[0].item, "a");
  EXPECT_FALSE(upsells.picks[0].premium);
  EXPECT_EQ(upsells.picks[1].sku, "b-premium");
  EXPECT_TRUE(upsells.picks[1].premium);
  EXPECT_EQ(upsells.picks[2].sku, "c-up") << "a-up taken, too-dear outside the band";
  EXPECT_FALSE(upsells.needs_bands);
  EXPECT_EQ(PickUpsells({a, b, c}, {}, 1).picks.size(), 1u);
}

TEST(PickUpsells, AnItemWhosePremiumIsTakenGetsNothing) {
  UpsellItem a{"a", 1000, "shared-premium", false, {}};
  UpsellItem b{"b", 1000, "shared-premium", false, {}};
  const auto upsells = PickUpsells({a, b}, {"a", "b"}, 5);
  ASSERT_EQ(upsells.picks.size(), 1u);
  EXPECT_EQ(upsells.picks[0].item, "a");
}

TEST(PickUpsells, AsksForTheBandsItReachesBeforeTheListIsFull) {
  UpsellItem read{"a", 1000, "", true, {}};
  UpsellItem unread{"b", 1000, "", false, {}};
  EXPECT_TRUE(PickUpsells({read, unread}, {}, 5).needs_bands);
  UpsellItem full{"c", 1000, "c-premium", false, {}};
  EXPECT_FALSE(PickUpsells({full, unread}, {}, 1).needs_bands) << "the list was full first";
}

TEST(GapClosers, BoughtTogetherFirstThenSmallestOvershootToTheCent) {
  const auto closers = RankGapClosers(
      1999,
      {{"cheap-enough", 1999, false, 0},
       {"too-cheap", 1998, true, 0.9},
       {"paired-far", 5000, true, 0.1},
       {"paired-near", 2000, true, 0.2},
       {"paired-near-strong", 2000, true, 0.7},
       {"unpaired-far", 2500, false, 0}},
      10);
  ASSERT_EQ(closers.size(), 5u);
  EXPECT_EQ(closers[0].sku, "paired-near-strong");
  EXPECT_EQ(closers[0].overshoot_minor, 1);
  EXPECT_EQ(closers[1].sku, "paired-near");
  EXPECT_EQ(closers[2].sku, "paired-far");
  EXPECT_EQ(closers[2].overshoot_minor, 3001);
  EXPECT_EQ(closers[3].sku, "cheap-enough");
  EXPECT_EQ(closers[3].overshoot_minor, 0);
  EXPECT_EQ(closers[4].sku, "unpaired-far");
  EXPECT_EQ(RankGapClosers(1999, {{"a", 2000, false, 0}, {"b", 2001, false, 0}}, 1).size(), 1u);
}

TEST(Validation, NamesEveryBadField) {
  v1::UpsertProductsRequest r;
  r.set_store_id("s");
  auto* p = r.add_products();
  p->set_sku("has space");
  p->set_category("");
  p->set_name("n");
  p->set_price_minor(-1);
  p->set_premium_sku("x");
  auto* q = r.add_products();
  q->set_sku("dup");
  q->set_name("n");
  q->set_category("c");
  q->set_premium_sku("dup");
  *r.add_products() = *q;
  r.mutable_products(2)->set_premium_sku("");
  common::Validator v;
  CheckUpsertProducts(v, r);
  try {
    v.ThrowIfInvalid();
    FAIL() << "expected INVALID_ARGUMENT";
  } catch (const common::ApiError& e) {
    std::vector<std::string> fields;
    for (const auto& f : e.fields()) fields.push_back(f.field);
    EXPECT_EQ(fields, (std::vector<std::string>{"request_id", "products[0].sku",
                                                "products[0].category", "products[0].price_minor",
                                                "products[1].premium_sku", "products[2].sku"}));
  }
}

TEST(Validation, CartLimitsAndMoney) {
  v1::RecommendForCartRequest r;
  r.set_store_id("s");
  r.add_lines()->set_sku("a");
  r.set_free_shipping_missing_minor(-1);
  r.set_limit(51);
  common::Validator v;
  CheckRecommendForCart(v, r);
  try {
    v.ThrowIfInvalid();
    FAIL() << "expected INVALID_ARGUMENT";
  } catch (const common::ApiError& e) {
    std::vector<std::string> fields;
    for (const auto& f : e.fields()) fields.push_back(f.field);
    EXPECT_EQ(fields, (std::vector<std::string>{"lines[0].quantity", "free_shipping_missing_minor",
                                                "limit"}));
  }
}

TEST(CartSkus, DistinctInFirstAppearanceOrder) {
  v1::RecommendForCartRequest r;
  for (const char* s : {"b", "a", "b"}) r.add_lines()->set_sku(s);
  EXPECT_EQ(CartSkus(r), (std::vector<std::string>{"b", "a"}));
}

}  // namespace
}  // namespace loyalty::recommendations
