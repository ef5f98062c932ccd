// The recommendations schema: every statement this service runs, named and prepared in one place.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "loyalty/common/db.hpp"
#include "loyalty/recommendations/v1/recommendations_service.pb.h"
#include "recommendation_rules.hpp"

namespace loyalty::recommendations {

// What a suggestion shows of a product.
struct ProductRow {
  std::string sku;
  std::string name;
  std::string category;
  int64_t price_minor = 0;
  int64_t orders = 0;
};

// A product the request names (the product viewed or a cart item), whether catalogued or not.
struct AnchorRow {
  std::string sku;
  bool catalogued = false;
  int64_t orders = 0;
  std::string category;
  int64_t price_minor = 0;
  bool gift_wrappable = false;
  std::string premium_sku;
  std::optional<ProductRow> premium;  // set when the premium version may be suggested
};

// A candidate of an anchor, with what a suggestion shows of it.
struct CandidateRow {
  std::string anchor;
  int64_t together = 0;
  ProductRow product;
};

// An order as recorded: its key, time, state and distinct SKUs (with their product ids) in
// position order.
struct RecordedOrder {
  int64_t order_key = 0;
  int64_t placed_micros = 0;
  bool cancelled = false;
  std::vector<RecordedLine> lines;
};

// The product page's data: the product (when the service knows it) and its candidates.
struct ProductView {
  std::optional<AnchorRow> anchor;
  std::vector<CandidateRow> candidates;
};

struct RebuildCounts {
  int64_t orders = 0;
  int64_t products = 0;
  int64_t pairs = 0;  // unordered
};

class RecommendationStore {
 public:
  // `candidates`: how many partners of a product are ranked (LOYALTY_RECOMMENDATIONS_CANDIDATES).
  RecommendationStore(common::Database& db, int candidates);

  // ---- Catalogue ----
  // true: created, false: changed, nullopt: equal to the stored entry (nothing written).
  std::optional<bool> UpsertProduct(pqxx::transaction_base& tx, const std::string& store_id,
                                    const v1::Product& product) const;
  std::optional<v1::Product> GetProduct(pqxx::transaction_base& tx, const std::string& store_id,
                                        const std::string& sku) const;

  // ---- Learning from events (in the inbox's transaction) ----
  // Locks the store's model state FOR SHARE (a rebuild waits for, and blocks, events) and returns
  // its window start in microseconds since the epoch; nullopt: every order counts.
  std::optional<int64_t> LockWindow(pqxx::transaction_base& tx, const std::string& store_id) const;
  // Records an order and its lines; fills each line's product_id (creating uncatalogued product
  // rows for SKUs the store has not seen). false when the order was already recorded.
  bool InsertOrder(pqxx::transaction_base& tx, const std::string& store_id,
                   const std::string& order_id, const std::string& customer_id,
                   int64_t placed_micros, std::vector<RecordedLine>& lines) const;
  // Locks the order's row.
  std::optional<RecordedOrder> LoadOrder(pqxx::transaction_base& tx, const std::string& store_id,
                                         const std::string& order_id) const;
  void SetRefunded(pqxx::transaction_base& tx, const std::string& store_id, int64_t order_key,
                   int64_t product_id, int64_t refunded) const;
  void MarkCancelled(pqxx::transaction_base& tx, const std::string& store_id,
                     const std::string& order_id, int64_t order_key) const;
  // Adds the changes to the counts, rows locked in key order; pairs that reach 0 are deleted.
  // `lines` are the order's, for the product ids of the SKUs the delta names.
  void Apply(pqxx::transaction_base& tx, const std::string& store_id, const ModelDelta& delta,
             const std::vector<RecordedLine>& lines) const;

  // ---- Rebuild ----
  // Stores the window and recomputes every count of the store from the recorded order lines.
  RebuildCounts Rebuild(pqxx::transaction_base& tx, const std::string& store_id,
                        std::optional<int64_t> window_micros) const;

  // ---- Reads ----
  std::vector<AnchorRow> Anchors(pqxx::transaction_base& tx, const std::string& store_id,
                                 const std::vector<std::string>& skus) const;
  // Up to `candidates` partners of each anchor that may be suggested and are not excluded,
  // most often bought together first (ties by product id: first seen first).
  std::vector<CandidateRow> Candidates(pqxx::transaction_base& tx, const std::string& store_id,
                                       const std::vector<std::string>& anchors,
                                       const std::vector<std::string>& exclude) const;
  // The product's own row and its candidates, in one round trip.
  ProductView ViewProduct(pqxx::transaction_base& tx, const std::string& store_id,
                          const std::string& sku, const std::vector<std::string>& exclude) const;
  // The most ordered suggestible products (orders > 0) of the categories (all when empty).
  std::vector<ProductRow> Popular(pqxx::transaction_base& tx, const std::string& store_id,
                                  const std::vector<std::string>& categories,
                                  const std::vector<std::string>& exclude, int limit) const;
  struct BandRow {
    std::string anchor;
    ProductRow product;
  };
  // For each anchor with a category and price: up to `per_anchor` suggestible products of its
  // category in its upsell band, most ordered first, then cheapest, then by SKU.
  std::vector<BandRow> UpsellBand(pqxx::transaction_base& tx, const std::string& store_id,
                                  const std::vector<AnchorRow>& anchors,
                                  const std::vector<std::string>& exclude, int per_anchor) const;
  // The cheapest suggestible products priced at least `minimum`, ties by SKU.
  std::vector<ProductRow> CheapestAtLeast(pqxx::transaction_base& tx, const std::string& store_id,
                                          int64_t minimum, const std::vector<std::string>& exclude,
                                          int limit) const;
  // The store's gift-wrap products in stock and not hidden, cheapest first.
  std::vector<ProductRow> GiftWraps(pqxx::transaction_base& tx, const std::string& store_id,
                                    const std::vector<std::string>& exclude, int limit) const;
  // SKUs the customer bought in orders not cancelled, lines not fully refunded (at most 1,000).
  std::vector<std::string> OwnedBy(pqxx::transaction_base& tx, const std::string& store_id,
                                   const std::string& customer_id) const;

 private:
  int candidates_;
  // Carts with up to this many learnt items get exact cross-sell (see Candidates).
  static constexpr int kExactCartAnchors = 10;
};

}  // namespace loyalty::recommendations
