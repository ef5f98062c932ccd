// The recommendations schema: every statement this service runs, named and prepared in one place.
#pragma once

#include <map>
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

// A product a request names (the product viewed or a cart item) that the store knows, whether
// catalogued or not.
struct ItemRow {
  std::string sku;
  int position = 0;  // in the cart, from 1
  bool catalogued = false;
  bool gift_wrappable = false;
  std::string category;
  int64_t price_minor = 0;
  int64_t orders = 0;
};

// A candidate of an anchor (the product viewed, or the cart item at `item`), with what a
// suggestion shows of it.
struct CandidateRow {
  int item = 0;  // the cart item's position (RecommendForCart)
  int64_t together = 0;
  ProductRow product;
};

// What RecommendForCart is built from, read in one statement.
struct CartView {
  std::vector<ItemRow> items;                            // the cart items the store knows, in order
  std::map<std::string, ProductRow> premiums;            // by item: premium version, suggestible
                                                         // and not in the cart
  std::map<std::string, std::vector<ProductRow>> bands;  // by item: its upsell band, best first,
                                                         // for the items it was read for
  std::vector<CandidateRow> candidates;
  // Only when the candidates do not fill the answer: the best of each cart category and of the
  // store, none excluded nor a candidate.
  std::vector<ProductRow> popular_in_categories;
  std::vector<ProductRow> popular_in_store;
  std::vector<ProductRow> cheapest;    // priced at least the gap, not candidates; cheapest first
  std::vector<ProductRow> gift_wraps;  // cheapest first; only when an item is gift-wrappable
};

// What RecommendForProduct is built from, read in one statement.
struct ProductView {
  std::optional<ItemRow> product;  // when the store knows it
  std::vector<CandidateRow> candidates;
  // Only when the candidates do not fill the answer, as in CartView.
  std::vector<ProductRow> popular_in_category;
  std::vector<ProductRow> popular_in_store;
};

// An order as recorded: its key, time, state and distinct SKUs (with their product ids) in
// position order.
struct RecordedOrder {
  int64_t order_key = 0;
  int64_t placed_micros = 0;
  bool cancelled = false;
  std::vector<RecordedLine> lines;
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
  // A cart's answer (the cart's distinct SKUs in order; customer_id "" for none): its items,
  // their premium versions, the upsell bands of the first `band_items` items that need one, the
  // items' candidates (up to `candidates` each; a cart of more than kExactCartItems learnt items
  // shares kExactCartItems items' worth), and what the answer may need to fill `limit`
  // suggestions: popular products, gap closers (`missing` > 0), gift wraps.
  CartView ViewCart(pqxx::transaction_base& tx, const std::string& store_id,
                    const std::vector<std::string>& cart, const std::string& customer_id,
                    int limit, int64_t missing, int band_items) const;
  // The upsell bands of `items` (catalogued cart items), by item, best first; none in `cart`.
  std::map<std::string, std::vector<ProductRow>> Bands(pqxx::transaction_base& tx,
                                                       const std::string& store_id,
                                                       const std::vector<ItemRow>& items,
                                                       const std::vector<std::string>& cart) const;
  // A product page's answer: the product and its candidates (none in `exclude`), one statement;
  // when they do not fill `limit` suggestions, popular products, a second one.
  ProductView ViewProduct(pqxx::transaction_base& tx, const std::string& store_id,
                          const std::string& sku, const std::vector<std::string>& exclude,
                          int limit) const;

 private:
  int candidates_;
};

}  // namespace loyalty::recommendations
