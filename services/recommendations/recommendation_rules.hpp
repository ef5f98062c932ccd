// The recommendation rules, without I/O: what an order contributes to the co-purchase model,
// how candidates are ranked (cosine affinity), merged across a cart, and how upsells and
// free-shipping gap closers are chosen. Unit-tested; the SQL is in recommendation_store.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "loyalty/common/errors.hpp"
#include "loyalty/recommendations/v1/recommendations_service.pb.h"

namespace loyalty::recommendations {

// Only the first 20 distinct SKUs of an order (in line order) form pairs: at most 190 pairs
// (380 directed rows) per order. A wholesale order of 500 SKUs would otherwise add 124,750 pairs
// in one event, dominate the counts of everything it holds and make its event's transaction
// long. Baskets of more than 20 distinct SKUs are rare in retail and are stock-ups rather than
// things bought to go together, so little signal is lost. Every SKU still counts as an item.
inline constexpr int kPairSkusPerOrder = 20;
// A product's candidates: its partners (that may be suggested) bought together most often.
// Cosine ranks them. The default of LOYALTY_RECOMMENDATIONS_CANDIDATES.
inline constexpr int kDefaultCandidates = 50;
// A cart of up to this many learnt items gets each item's `candidates` partners; a larger cart
// shares this many items' worth among its items, at least kMinCandidatesPerItem each, so that
// a 100-line cart costs about what a 10-line one does (see README, "Cart").
inline constexpr int kExactCartItems = 10;
inline constexpr int kMinCandidatesPerItem = 5;
// Upsell band candidates read per cart item, so that two items of one category can get two
// upsells.
inline constexpr int kBandPerItem = 3;
// Upper bound for money fields, so that band arithmetic (3 x price) cannot overflow.
inline constexpr int64_t kMaxMoneyMinor = 1'000'000'000'000'000;
inline constexpr int kMaxLimit = 50;
inline constexpr int kMaxProductsPerUpsert = 1000;
inline constexpr int kMaxCartLines = 100;
inline constexpr int kMaxExcluded = 100;

// ---- The model's counts ----

// A line of an order event.
struct EventLine {
  std::string sku;
  int64_t quantity = 0;
};

// One distinct SKU of a recorded order: lines of the same SKU summed; `position` is the SKU's
// rank among the order's distinct SKUs by first appearance, fixed when the order is placed.
struct RecordedLine {
  std::string sku;
  int position = 0;
  int64_t quantity = 0;
  int64_t refunded = 0;
  int64_t product_id = 0;  // the store's key for the SKU; the rules do not use it
};

std::vector<RecordedLine> DistinctSkus(const std::vector<EventLine>& lines);

// What an order contributes: +1 per SKU in its basket (net quantity > 0, order not cancelled,
// order counted), +1 per directed pair of basket SKUs whose positions are both below
// kPairSkusPerOrder. Changes are differences of two contributions.
struct ModelDelta {
  std::map<std::string, int64_t> items;
  std::map<std::pair<std::string, std::string>, int64_t> pairs;  // (sku, other_sku), both ways
  bool empty() const { return items.empty() && pairs.empty(); }
};

// `sign` * the contribution of an order with these lines, added to `delta` (zeros removed).
void AddContribution(const std::vector<RecordedLine>& lines, bool counted, int sign,
                     ModelDelta& delta);
// Whether an order placed at `placed_micros` counts under the model's window (nullopt: all do).
bool InWindow(std::optional<int64_t> window_start_micros, int64_t placed_micros);
// The change from one state of an order to another.
ModelDelta Change(const std::vector<RecordedLine>& before, bool counted_before,
                  const std::vector<RecordedLine>& after, bool counted_after);

// ---- Ranking ----

// cosine(a, b) = together / sqrt(orders(a) * orders(b)); 0 when either count is 0.
double Cosine(int64_t together, int64_t orders_a, int64_t orders_b);

// A partner of an anchor product (the product viewed, or a cart item).
struct Candidate {
  std::string sku;
  int64_t together = 0;  // counted orders holding both
  int64_t orders = 0;    // counted orders holding the candidate
};

struct Ranked {
  std::string sku;
  double score = 0;
  std::vector<std::string> related;  // anchors it is bought with, strongest first
};

// A product's candidates by cosine, highest first, ties by SKU. The order is decided in exact
// integer arithmetic (together^2 / orders compared by cross-multiplication), so it never depends
// on floating-point rounding.
std::vector<Ranked> RankForProduct(const std::string& anchor, int64_t anchor_orders,
                                   const std::vector<Candidate>& candidates);

// A cart item and its candidates.
struct Anchor {
  std::string sku;
  int64_t orders = 0;
  std::vector<Candidate> candidates;
};

// Merges the cart items' candidates: a candidate's score is the sum of its cosine with each cart
// item it is a candidate of, summed over the cart items in SKU order (so the result is the same
// whatever order the cart lists them in). Highest first, ties by SKU.
std::vector<Ranked> MergeForCart(std::vector<Anchor> anchors);

// ---- Popular fill ----

struct PopularOption {
  std::string sku;
  int64_t orders = 0;
};

// The `need` most ordered options not in `taken`, ties by SKU, each SKU once.
std::vector<std::string> PickPopular(std::vector<PopularOption> options,
                                     const std::set<std::string>& taken, int need);

// ---- Upsell ----

// The band for an upsell in the same category: dearer than the item by at most half,
// base < price <= 1.5 x base (integer arithmetic: 2 x price <= 3 x base).
bool InUpsellBand(int64_t base_price, int64_t price);

// A catalogued cart item, as the upsell sees it.
struct UpsellItem {
  std::string sku;
  int64_t price_minor = 0;
  // Its premium version when it may be suggested and is not in the cart; "" otherwise.
  std::string premium;
  // Its category's band (sku, price), best first; read only for items without a premium.
  bool band_read = false;
  std::vector<std::pair<std::string, int64_t>> band;
};

struct UpsellPick {
  std::string sku;
  std::string item;  // the cart item it upgrades
  bool premium = false;
};

struct Upsells {
  std::vector<UpsellPick> picks;
  // The picks stopped short at an item whose band was not read: read it and pick again.
  bool needs_bands = false;
};

// Per cart item in cart order, until `limit` picks: its premium version unless already picked;
// an item with no premium gets the first product of its band that is in the band, not in the
// cart and not already picked. An item whose premium was already picked gets nothing.
Upsells PickUpsells(const std::vector<UpsellItem>& items, const std::set<std::string>& in_cart,
                    int limit);

// ---- Free-shipping gap closers ----

struct GapOption {
  std::string sku;
  int64_t price_minor = 0;
  bool bought_together = false;  // a cross-sell candidate of the cart
  double affinity = 0;           // its merged cross-sell score with the cart
};

struct GapCloser {
  std::string sku;
  int64_t overshoot_minor = 0;  // price - missing
  bool bought_together = false;
  double affinity = 0;
};

// The options whose price alone is at least `missing`: bought-together ones first, each group by
// smallest overshoot, then higher affinity, then SKU; at most `limit`. Duplicates are dropped.
std::vector<GapCloser> RankGapClosers(int64_t missing, const std::vector<GapOption>& options,
                                      int limit);

// ---- Requests ----

int EffectiveLimit(int requested, int fallback);
// Fields are named with `prefix` (e.g. "products[3].").
void CheckProduct(common::Validator& v, const v1::Product& product, const std::string& prefix);
void CheckUpsertProducts(common::Validator& v, const v1::UpsertProductsRequest& request);
void CheckRecommendForProduct(common::Validator& v, const v1::RecommendForProductRequest& request);
void CheckRecommendForCart(common::Validator& v, const v1::RecommendForCartRequest& request);
void CheckRebuildModel(common::Validator& v, const v1::RebuildModelRequest& request);

// The cart's distinct SKUs in first-appearance order.
std::vector<std::string> CartSkus(const v1::RecommendForCartRequest& request);

// "merchandise" / "gift_wrap" for the database, and back.
std::string KindName(v1::ProductKind kind);
v1::ProductKind KindFromName(const std::string& name);

}  // namespace loyalty::recommendations
