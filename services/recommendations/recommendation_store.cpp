#include "recommendation_store.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace loyalty::recommendations {
namespace {

// Microseconds since the epoch as a timestamptz (NULL stays NULL), and back.
std::string MicrosToTime(const std::string& param) {
  return "timestamptz 'epoch' + " + param + "::bigint * interval '1 microsecond'";
}
std::string TimeToMicros(const std::string& column) {
  return "(extract(epoch FROM " + column + ") * 1000000)::bigint";
}

ProductRow ToProductRow(const pqxx::row& r, int at = 0) {
  ProductRow p;
  p.sku = r[at].as<std::string>();
  p.name = r[at + 1].as<std::string>();
  p.category = r[at + 2].as<std::string>();
  p.price_minor = r[at + 3].as<int64_t>();
  p.orders = r[at + 4].as<int64_t>();
  return p;
}

// A band's order: most ordered first, then cheapest, then by SKU (as BandSql reads it).
void SortBand(std::vector<ProductRow>& band) {
  std::sort(band.begin(), band.end(), [](const ProductRow& a, const ProductRow& b) {
    if (a.orders != b.orders) return a.orders > b.orders;
    if (a.price_minor != b.price_minor) return a.price_minor < b.price_minor;
    return a.sku < b.sku;
  });
}

// Cheapest first, then by SKU.
void SortByPrice(std::vector<ProductRow>& rows) {
  std::sort(rows.begin(), rows.end(), [](const ProductRow& a, const ProductRow& b) {
    return a.price_minor != b.price_minor ? a.price_minor < b.price_minor : a.sku < b.sku;
  });
}

// The rows of RecommendationStore's cart statement (see CartSql), each list in its own order.
CartView ToCartView(const pqxx::result& rows) {
  CartView view;
  // Rows name their cart item by position: the items' rows (kind a) say which SKU that is.
  std::map<int, std::string> item_at;
  for (const auto& r : rows) {
    if (r[0].c_str()[0] == 'a') item_at.emplace(r[1].as<int>(), r[2].as<std::string>());
  }
  for (const auto& r : rows) {
    // Columns: kind, position, the product shown (5), together, catalogued, gift-wrappable.
    const char kind = r[0].c_str()[0];
    if (kind == 'a') {
      ItemRow item;
      item.position = r[1].as<int>();
      item.sku = item_at.at(item.position);
      item.category = r[4].as<std::string>();
      item.price_minor = r[5].as<int64_t>();
      item.orders = r[6].as<int64_t>();
      item.catalogued = r[8].as<bool>();
      item.gift_wrappable = item.catalogued && r[9].as<bool>();
      view.items.push_back(std::move(item));
    } else if (kind == 'c') {
      view.candidates.push_back({r[1].as<int>(), r[7].as<int64_t>(), ToProductRow(r, 2)});
    } else if (kind == 'p') {
      view.premiums.emplace(item_at.at(r[1].as<int>()), ToProductRow(r, 2));
    } else if (kind == 'b') {
      view.bands[item_at.at(r[1].as<int>())].push_back(ToProductRow(r, 2));
    } else {
      auto& list = kind == 'k'   ? view.popular_in_categories
                   : kind == 's' ? view.popular_in_store
                   : kind == 'g' ? view.cheapest
                                 : view.gift_wraps;
      list.push_back(ToProductRow(r, 2));
    }
  }
  // Rows of one kind come in no promised order: put each list back in its own.
  std::sort(view.items.begin(), view.items.end(),
            [](const ItemRow& a, const ItemRow& b) { return a.position < b.position; });
  for (auto& [item, band] : view.bands) SortBand(band);
  SortByPrice(view.cheapest);
  SortByPrice(view.gift_wraps);
  return view;
}

// ---- Read statements ----
//
// A cart is answered by one statement whatever its size: every part of the answer is a CTE over
// the same cart items, returned as rows tagged by kind. Each part is bounded (a LIMIT per cart
// item or per answer); the cart's exclusions are hashed once per statement (`NOT IN (SELECT
// product_id FROM excluded)`: a `<> ALL (array)` compared every row with every SKU of the cart);
// the parts an answer may not need (popular fill, gap closers, gift wrap) are guarded by a
// condition Postgres tests once, so they read nothing when not needed. A product page is one
// statement too, and a second one only for a product little or never bought together. The
// service runs every statement with a generic plan (see main.cpp): none is planned per call.

// What a suggestion shows of product `p`, in ToProductRow's order and names.
std::string Shown(const std::string& p) {
  return p + ".sku, coalesce(" + p + ".name, '') AS name, coalesce(" + p +
         ".category, '') AS category, coalesce(" + p + ".price_minor, 0) AS price_minor, " + p +
         ".orders_count";
}

// The upsell band of anchor `a` (columns category and price_minor): up to 3 suggestible products
// of its category priced above it by at most half, most ordered first, then cheapest, then by
// SKU, none of them in `not_in` (an SQL set of product ids). One range of
// products_category_price. (With custom plans and no statistics on store_id, the planner once
// preferred the store-wide price index here; the generic plan, with average-store estimates,
// takes the category's range.)
std::string BandSql(const std::string& not_in) {
  return "SELECT " + Shown("p") +
         " FROM recommendations.products p WHERE p.store_id = $1 AND p.eligible "
         "AND p.category = a.category AND p.price_minor > a.price_minor "
         "AND p.price_minor <= a.price_minor + a.price_minor / 2 AND p.product_id NOT IN (" +
         not_in + ") ORDER BY p.orders_count DESC, p.price_minor, p.sku LIMIT " +
         std::to_string(kBandPerItem);
}

// Up to `limit` partners of the product `anchor_id` that may be suggested and are not excluded,
// bought together most often first (ties: the product the store saw first). One range of
// pairs_rank, and a key lookup per partner for its stock and count.
std::string PartnersSql(const std::string& anchor_id, const std::string& limit) {
  return "SELECT " + Shown("q") +
         ", x.together, q.product_id FROM recommendations.pairs x "
         "JOIN recommendations.products q ON q.store_id = x.store_id AND q.product_id = x.other_id "
         "WHERE x.store_id = $1 AND x.product_id = " + anchor_id + " AND q.eligible "
         "AND x.other_id NOT IN (SELECT product_id FROM excluded) "
         "ORDER BY x.together DESC, x.other_id LIMIT " +
         limit;
}

// The most ordered suggestible products (orders > 0), `where` narrowing them (a category) and
// `not_excluded` removing what may not be suggested, at most `limit`.
std::string PopularSql(const std::string& where, const std::string& not_excluded,
                       const std::string& limit) {
  return "SELECT " + Shown("p") +
         " FROM recommendations.products p WHERE p.store_id = $1 AND p.eligible " + where +
         " AND p.orders_count > 0 AND " + not_excluded +
         " ORDER BY p.orders_count DESC, p.sku LIMIT " + limit;
}

// In RecommendForCart's statement: neither excluded nor a candidate.
constexpr const char* kNotExcludedNorCandidate =
    "p.product_id NOT IN (SELECT product_id FROM excluded) "
    "AND p.product_id NOT IN (SELECT product_id FROM cands)";

// RecommendForCart's statement. $1 store, $2 the cart's distinct SKUs in cart order, $3 the
// customer ('' for none), $4 candidates per item (LOYALTY_RECOMMENDATIONS_CANDIDATES), $5 the
// answer's limit, $6 the free-shipping gap (0: none), $7 how many items' upsell bands to read.
// Rows (kind, position of the cart item a row belongs to, the product shown, together,
// catalogued, gift_wrappable):
//   a  a cart item the store knows (position in the cart, its category, price and count)
//   p  the item's premium version, when it may be suggested and is not in the cart
//   b  the item's upsell band, for the first $7 catalogued items without such a premium
//   c  a co-purchase candidate of an item (together: orders holding both)
//   k  popular in the cart's categories (best $5 of each), s popular in the store (best 2 x $5):
//      only when the candidates number fewer than $5, i.e. when cross-sell needs filling
//   g  the cheapest $5 products priced at least $6 that are not candidates (gap closers)
//   w  the store's gift wraps, cheapest $5, when a cart item is gift-wrappable
std::string CartSql() {
  const std::string exact = std::to_string(kExactCartItems);
  const std::string at_least = std::to_string(kMinCandidatesPerItem);
  return
      "WITH cart AS MATERIALIZED ("
      "  SELECT sku, n FROM unnest($2::text[]) WITH ORDINALITY AS c(sku, n)), "
      // Key lookups, one per item (LIMIT 1 keeps each a lookup: as a join, the planner may
      // prefer hashing the store's whole catalogue).
      "anchors AS MATERIALIZED ("
      "  SELECT c.n, p.* FROM cart c CROSS JOIN LATERAL ("
      "    SELECT p.product_id, p.sku, p.catalogued, p.orders_count, "
      "    coalesce(p.category, '') AS category, coalesce(p.price_minor, 0) AS price_minor, "
      "    p.gift_wrappable, p.premium_sku FROM recommendations.products p "
      "    WHERE p.store_id = $1 AND p.sku = c.sku LIMIT 1) p), "
      "premiums AS MATERIALIZED ("
      "  SELECT a.n, q.* FROM anchors a CROSS JOIN LATERAL ("
      "    SELECT " + Shown("q") + " FROM recommendations.products q "
      "    WHERE q.store_id = $1 AND q.sku = a.premium_sku AND q.eligible LIMIT 1) q "
      "  WHERE a.catalogued AND a.premium_sku IS NOT NULL "
      "  AND q.sku NOT IN (SELECT sku FROM cart)), "
      // What the customer bought (orders not cancelled, lines not fully refunded), 1,000 at most.
      "owned AS MATERIALIZED ("
      "  SELECT p.product_id FROM recommendations.products p "
      "  WHERE p.store_id = $1 AND p.product_id IN ("
      "    SELECT l.product_id FROM recommendations.orders o "
      "    JOIN recommendations.order_lines l ON l.store_id = o.store_id "
      "    AND l.order_key = o.order_key WHERE $3 <> '' AND o.store_id = $1 "
      "    AND o.customer_id = $3 AND NOT o.cancelled AND l.quantity > l.refunded) "
      "  ORDER BY p.sku LIMIT 1000), "
      "excluded AS MATERIALIZED ("
      "  SELECT product_id FROM anchors UNION SELECT product_id FROM owned), "
      "learnt AS MATERIALIZED ("
      "  SELECT n, sku, product_id FROM anchors WHERE orders_count > 0), "
      // Up to 10 learnt items bring $4 candidates each; a larger cart shares 10 items' worth
      // (at least 5 each), so that a 100-line cart costs about what a 10-line one does.
      "budget AS MATERIALIZED ("
      "  SELECT CASE WHEN count(*) <= " + exact + " THEN $4::bigint "
      "  ELSE greatest(" + at_least + ", $4::bigint * " + exact + " / count(*)) END AS per_anchor "
      "  FROM learnt), "
      "cands AS MATERIALIZED ("
      "  SELECT a.n, x.* FROM learnt a CROSS JOIN LATERAL (" +
      PartnersSql("a.product_id", "(SELECT per_anchor FROM budget)") + ") x), "
      "fill AS MATERIALIZED ("
      "  SELECT count(*) < $5::bigint AS needed FROM (SELECT DISTINCT product_id FROM cands) d), "
      "band_anchors AS ("
      "  SELECT a.n, a.sku, a.category, a.price_minor FROM anchors a WHERE a.catalogued "
      "  AND NOT EXISTS (SELECT 1 FROM premiums p WHERE p.n = a.n) ORDER BY a.n LIMIT $7::bigint) "
      "SELECT 'a', n, sku, '', category, price_minor, orders_count, 0::bigint, catalogued, "
      "  gift_wrappable FROM anchors "
      "UNION ALL SELECT 'p', n, sku, name, category, price_minor, orders_count, 0, true, false "
      "  FROM premiums "
      "UNION ALL SELECT 'b', a.n, b.*, 0, true, false FROM band_anchors a "
      "  CROSS JOIN LATERAL (" + BandSql("SELECT product_id FROM anchors") + ") b "
      "UNION ALL SELECT 'c', n, sku, name, category, price_minor, orders_count, together, true, "
      "  false FROM cands "
      "UNION ALL SELECT 'k', 0, b.*, 0, true, false "
      "  FROM (SELECT DISTINCT category FROM anchors WHERE catalogued) c CROSS JOIN LATERAL (" +
      PopularSql("AND p.category = c.category", kNotExcludedNorCandidate, "$5::bigint") + ") b "
      "  WHERE (SELECT needed FROM fill) "
      "UNION ALL SELECT 's', 0, b.*, 0, true, false FROM (" +
      PopularSql("", kNotExcludedNorCandidate, "2 * $5::bigint") +
      ") b WHERE (SELECT needed FROM fill) "
      "UNION ALL (SELECT 'g', 0, " + Shown("p") + ", 0, true, false "
      "  FROM recommendations.products p WHERE $6::bigint > 0 AND p.store_id = $1 AND p.eligible "
      "  AND p.price_minor >= $6::bigint AND p.product_id NOT IN (SELECT product_id FROM excluded) "
      "  AND p.product_id NOT IN (SELECT product_id FROM cands) "
      "  ORDER BY p.price_minor, p.sku LIMIT $5::bigint) "
      "UNION ALL (SELECT 'w', 0, " + Shown("p") + ", 0, true, false "
      "  FROM recommendations.products p "
      "  WHERE EXISTS (SELECT 1 FROM anchors WHERE catalogued AND gift_wrappable) "
      "  AND p.store_id = $1 AND p.kind = 'gift_wrap' AND p.catalogued AND p.in_stock "
      "  AND NOT p.hidden AND p.product_id NOT IN (SELECT product_id FROM anchors) "
      "  ORDER BY p.price_minor, p.sku LIMIT $5::bigint)";
}

// The upsell bands of the cart items RecommendForCart's statement did not read them for, when
// its answer needs them. $1 store, $2, $3, $4 the items' SKUs, categories and prices, $5 the
// cart's SKUs.
std::string CartBandsSql() {
  return "SELECT a.sku, b.* FROM unnest($2::text[], $3::text[], $4::bigint[]) "
         "AS a(sku, category, price_minor) CROSS JOIN LATERAL (" +
         BandSql("SELECT product_id FROM recommendations.products "
                 "WHERE store_id = $1 AND sku = ANY ($5::text[])") +
         ") b";
}

// RecommendForProduct's statement. $1 store, $2 the product's SKU, $3 SKUs excluded (the product
// included; a request names at most 100, so comparing each partner with them costs less than
// hashing them), $4 candidates (LOYALTY_RECOMMENDATIONS_CANDIDATES). Rows (kind, the product
// shown, together, catalogued):
//   a  the product itself, when the store knows it (its category and count)
//   c  its candidates
std::string ProductPageSql() {
  return "SELECT 'a', sku, '', coalesce(category, ''), 0::bigint, orders_count, 0::bigint, "
         "catalogued FROM recommendations.products WHERE store_id = $1 AND sku = $2 "
         "UNION ALL SELECT 'c', sku, name, category, price_minor, orders_count, together, true "
         "FROM (SELECT " + Shown("q") + ", x.together FROM recommendations.pairs x "
         "  JOIN recommendations.products q "
         "  ON q.store_id = x.store_id AND q.product_id = x.other_id "
         "  WHERE x.store_id = $1 AND x.product_id = (SELECT product_id "
         "    FROM recommendations.products WHERE store_id = $1 AND sku = $2) "
         "  AND q.eligible AND q.sku <> ALL ($3::text[]) "
         "  ORDER BY x.together DESC, x.other_id LIMIT $4::bigint) c";
}

// A product page's popular fill, read only when its candidates do not fill the answer (a product
// little or never bought together). $1 store, $2 the product's category ('' for none), $3 SKUs
// excluded (the request's, the product and its candidates), $4 the answer's limit. Rows: kind
// (k: best $4 of the category, s: best 2 x $4 of the store), the product shown.
std::string PopularFillSql() {
  const std::string not_excluded = "p.sku <> ALL ($3::text[])";
  return "SELECT 'k', b.* FROM (" +
         PopularSql("AND p.category = $2", not_excluded, "$4::bigint") +
         ") b WHERE $2 <> '' "
         "UNION ALL SELECT 's', b.* FROM (" + PopularSql("", not_excluded, "2 * $4::bigint") +
         ") b";
}

}  // namespace

RecommendationStore::RecommendationStore(common::Database& db, int candidates)
    : candidates_(candidates) {
  const std::string K = std::to_string(kPairSkusPerOrder);

  // ---- Catalogue ----
  db.Prepare("rec_product_upsert",
             "INSERT INTO recommendations.products AS p (store_id, sku, catalogued, name, "
             "category, price_minor, in_stock, hidden, gift_wrappable, premium_sku, tags, kind) "
             "VALUES ($1, $2, true, $3, $4, $5, $6, $7, $8, nullif($9, ''), $10::text[], $11) "
             "ON CONFLICT (store_id, sku) DO UPDATE SET catalogued = true, name = EXCLUDED.name, "
             "category = EXCLUDED.category, price_minor = EXCLUDED.price_minor, "
             "in_stock = EXCLUDED.in_stock, hidden = EXCLUDED.hidden, "
             "gift_wrappable = EXCLUDED.gift_wrappable, premium_sku = EXCLUDED.premium_sku, "
             "tags = EXCLUDED.tags, kind = EXCLUDED.kind, updated_at = now() "
             "WHERE (p.catalogued, p.name, p.category, p.price_minor, p.in_stock, p.hidden, "
             "p.gift_wrappable, p.premium_sku, p.tags, p.kind) IS DISTINCT FROM (true, "
             "EXCLUDED.name, EXCLUDED.category, EXCLUDED.price_minor, EXCLUDED.in_stock, "
             "EXCLUDED.hidden, EXCLUDED.gift_wrappable, EXCLUDED.premium_sku, EXCLUDED.tags, "
             "EXCLUDED.kind) "
             "RETURNING (xmax = 0)");
  db.Prepare("rec_product_get",
             "SELECT sku, name, category, price_minor, in_stock, hidden, gift_wrappable, "
             "coalesce(premium_sku, ''), tags, kind, orders_count FROM recommendations.products "
             "WHERE store_id = $1 AND sku = $2 AND catalogued");

  // ---- Events ----
  db.Prepare("rec_state_ensure",
             "INSERT INTO recommendations.model_state (store_id) VALUES ($1) "
             "ON CONFLICT DO NOTHING");
  db.Prepare("rec_state_share", "SELECT " + TimeToMicros("window_start") +
                                    " FROM recommendations.model_state WHERE store_id = $1 "
                                    "FOR SHARE");
  // The ids of SKUs, creating (uncatalogued) rows for new ones. Rows a concurrent transaction
  // committed after this statement's snapshot are missing from the answer: the caller asks again.
  db.Prepare("rec_product_ids",
             "WITH created AS (INSERT INTO recommendations.products (store_id, sku) "
             "  SELECT $1, s FROM unnest($2::text[]) AS t(s) ORDER BY s "
             "  ON CONFLICT DO NOTHING RETURNING sku, product_id) "
             "SELECT sku, product_id FROM created UNION ALL "
             "SELECT sku, product_id FROM recommendations.products "
             "WHERE store_id = $1 AND sku = ANY ($2::text[])");
  db.Prepare("rec_order_insert",
             "INSERT INTO recommendations.orders (store_id, order_id, customer_id, placed_at) "
             "VALUES ($1, $2, $3, " +
                 MicrosToTime("$4") + ") ON CONFLICT DO NOTHING RETURNING order_key");
  db.Prepare("rec_order_lines_insert",
             "INSERT INTO recommendations.order_lines (store_id, order_key, product_id, position, "
             "quantity, refunded, placed_at) SELECT $1, $2, i, p, q, r, " +
                 MicrosToTime("$7") +
                 " FROM unnest($3::bigint[], $4::int[], $5::int[], $6::int[]) AS t(i, p, q, r)");
  db.Prepare("rec_order_load", "SELECT order_key, " + TimeToMicros("placed_at") +
                                   ", cancelled FROM recommendations.orders "
                                   "WHERE store_id = $1 AND order_id = $2 FOR UPDATE");
  db.Prepare("rec_order_lines_load",
             "SELECT p.sku, l.product_id, l.position, l.quantity, l.refunded "
             "FROM recommendations.order_lines l JOIN recommendations.products p "
             "ON p.store_id = l.store_id AND p.product_id = l.product_id "
             "WHERE l.store_id = $1 AND l.order_key = $2 ORDER BY l.position");
  db.Prepare("rec_order_line_refunded",
             "UPDATE recommendations.order_lines SET refunded = $4 "
             "WHERE store_id = $1 AND order_key = $2 AND product_id = $3");
  db.Prepare("rec_order_cancel",
             "WITH lines AS (UPDATE recommendations.order_lines SET cancelled = true "
             "  WHERE store_id = $1 AND order_key = $3) "
             "UPDATE recommendations.orders SET cancelled = true "
             "WHERE store_id = $1 AND order_id = $2");
  // Increments insert or add, in key order. Decrements only ever meet existing rows (a CHECK
  // would refuse the negative row an INSERT ... ON CONFLICT proposes before it sees the conflict).
  db.Prepare("rec_items_add",
             "INSERT INTO recommendations.products AS p (store_id, sku, orders_count) "
             "SELECT $1, s, d FROM unnest($2::text[], $3::bigint[]) AS t(s, d) ORDER BY s "
             "ON CONFLICT (store_id, sku) DO UPDATE "
             "SET orders_count = p.orders_count + EXCLUDED.orders_count");
  db.Prepare("rec_items_subtract",
             "UPDATE recommendations.products p SET orders_count = p.orders_count - t.d "
             "FROM unnest($2::text[], $3::bigint[]) AS t(s, d) "
             "WHERE p.store_id = $1 AND p.sku = t.s");
  db.Prepare("rec_pairs_add",
             "INSERT INTO recommendations.pairs AS x (store_id, product_id, other_id, together) "
             "SELECT $1, a, b, d FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) "
             "AS t(a, b, d) ORDER BY a, b ON CONFLICT (store_id, product_id, other_id) DO UPDATE "
             "SET together = x.together + EXCLUDED.together");
  db.Prepare("rec_pairs_subtract",
             "UPDATE recommendations.pairs x SET together = x.together - t.d "
             "FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) AS t(a, b, d) "
             "WHERE x.store_id = $1 AND x.product_id = t.a AND x.other_id = t.b");
  db.Prepare("rec_pairs_prune",
             "DELETE FROM recommendations.pairs x "
             "USING unnest($2::bigint[], $3::bigint[]) AS t(a, b) "
             "WHERE x.store_id = $1 AND x.product_id = t.a AND x.other_id = t.b "
             "AND x.together = 0");

  // ---- Rebuild ----
  db.Prepare("rec_state_set",
             "INSERT INTO recommendations.model_state (store_id, window_start, rebuilt_at) "
             "VALUES ($1, " +
                 MicrosToTime("$2") +
                 ", now()) ON CONFLICT (store_id) DO UPDATE "
                 "SET window_start = EXCLUDED.window_start, rebuilt_at = EXCLUDED.rebuilt_at");
  // The rebuild hashes millions of rows: memory for it, and hash joins rather than sorts or
  // nested loops (a store imported since the last ANALYZE is estimated at a few rows, and a
  // nested loop over its lines would be quadratic). It runs once per call, so it is planned for
  // its own window (the service's connections use generic plans otherwise, see main.cpp).
  db.Prepare("rec_rebuild_settings",
             "SELECT set_config('work_mem', '256MB', true), "
             "set_config('enable_mergejoin', 'off', true), "
             "set_config('enable_nestloop', 'off', true), "
             "set_config('plan_cache_mode', 'force_custom_plan', true)");
  // The whole recount in one statement over one scan of the recorded lines. It writes only what
  // differs (a rebuild after the incremental path writes nothing); new pairs go in with a plain
  // insert in key order (nearly half the cost of INSERT ... ON CONFLICT; nothing else writes the
  // store's pairs while its model row is locked).
  db.Prepare("rec_rebuild",
             "WITH lines AS MATERIALIZED (SELECT order_key, product_id, position "
             "  FROM recommendations.order_lines WHERE store_id = $1 AND NOT cancelled "
             "  AND quantity > refunded AND ($2::bigint IS NULL OR placed_at >= " +
                 MicrosToTime("$2") +
                 ")), "
                 "counts AS MATERIALIZED (SELECT product_id, count(*) AS n FROM lines "
                 "  GROUP BY product_id), "
                 "zeroed AS (UPDATE recommendations.products p SET orders_count = 0 "
                 "  WHERE p.store_id = $1 AND p.orders_count <> 0 "
                 "  AND NOT EXISTS (SELECT 1 FROM counts c WHERE c.product_id = p.product_id)), "
                 "items AS (UPDATE recommendations.products p SET orders_count = c.n FROM counts c "
                 "  WHERE p.store_id = $1 AND p.product_id = c.product_id "
                 "  AND p.orders_count <> c.n), "
                 "paired AS MATERIALIZED (SELECT order_key, product_id FROM lines WHERE position < " +
                 K +
                 "), fresh AS MATERIALIZED (SELECT a.product_id, b.product_id AS other_id, "
                 "  count(*) AS together FROM paired a JOIN paired b "
                 "  ON b.order_key = a.order_key AND b.product_id <> a.product_id "
                 "  GROUP BY a.product_id, b.product_id), "
                 "gone AS (DELETE FROM recommendations.pairs x WHERE x.store_id = $1 "
                 "  AND NOT EXISTS (SELECT 1 FROM fresh f "
                 "    WHERE f.product_id = x.product_id AND f.other_id = x.other_id)), "
                 "changed AS (UPDATE recommendations.pairs x SET together = f.together FROM fresh f "
                 "  WHERE x.store_id = $1 AND x.product_id = f.product_id "
                 "  AND x.other_id = f.other_id AND x.together <> f.together), "
                 "added AS (INSERT INTO recommendations.pairs (store_id, product_id, other_id, "
                 "  together) SELECT $1, f.product_id, f.other_id, f.together FROM fresh f "
                 "  WHERE NOT EXISTS (SELECT 1 FROM recommendations.pairs x "
                 "    WHERE x.store_id = $1 AND x.product_id = f.product_id "
                 "    AND x.other_id = f.other_id) "
                 "  ORDER BY f.product_id, f.other_id) "
                 "SELECT (SELECT count(*) FROM counts), "
                 "(SELECT count(*) FROM (SELECT order_key FROM lines GROUP BY order_key) o), "
                 "(SELECT count(*) FROM fresh)");

  // ---- Reads ----
  db.Prepare("rec_cart", CartSql());
  db.Prepare("rec_cart_bands", CartBandsSql());
  db.Prepare("rec_product_page", ProductPageSql());
  db.Prepare("rec_popular_fill", PopularFillSql());
}

// ---- Catalogue ----

std::optional<bool> RecommendationStore::UpsertProduct(pqxx::transaction_base& tx,
                                                       const std::string& store_id,
                                                       const v1::Product& p) const {
  const auto rows = tx.exec_prepared(
      "rec_product_upsert", store_id, p.sku(), p.name(), p.category(), p.price_minor(),
      p.in_stock(), p.hidden(), p.gift_wrappable(), p.premium_sku(),
      common::PgTextArray({p.tags().begin(), p.tags().end()}), KindName(p.kind()));
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<bool>();
}

std::optional<v1::Product> RecommendationStore::GetProduct(pqxx::transaction_base& tx,
                                                           const std::string& store_id,
                                                           const std::string& sku) const {
  const auto rows = tx.exec_prepared("rec_product_get", store_id, sku);
  if (rows.empty()) return std::nullopt;
  const auto& r = rows[0];
  v1::Product p;
  p.set_sku(r[0].as<std::string>());
  p.set_name(r[1].as<std::string>());
  p.set_category(r[2].as<std::string>());
  p.set_price_minor(r[3].as<int64_t>());
  p.set_in_stock(r[4].as<bool>());
  p.set_hidden(r[5].as<bool>());
  p.set_gift_wrappable(r[6].as<bool>());
  p.set_premium_sku(r[7].as<std::string>());
  for (auto& tag : common::ParsePgTextArray(r[8])) p.add_tags(tag);
  p.set_kind(KindFromName(r[9].as<std::string>()));
  p.set_orders_count(r[10].as<int64_t>());
  return p;
}

// ---- Events ----

std::optional<int64_t> RecommendationStore::LockWindow(pqxx::transaction_base& tx,
                                                       const std::string& store_id) const {
  tx.exec_prepared("rec_state_ensure", store_id);
  const auto row = tx.exec_prepared1("rec_state_share", store_id);
  if (row[0].is_null()) return std::nullopt;
  return row[0].as<int64_t>();
}

bool RecommendationStore::InsertOrder(pqxx::transaction_base& tx, const std::string& store_id,
                                      const std::string& order_id, const std::string& customer_id,
                                      int64_t placed_micros,
                                      std::vector<RecordedLine>& lines) const {
  const auto inserted =
      tx.exec_prepared("rec_order_insert", store_id, order_id, customer_id, placed_micros);
  if (inserted.empty()) return false;
  const int64_t order_key = inserted[0][0].as<int64_t>();
  if (lines.empty()) return true;
  std::vector<std::string> skus;
  for (const auto& l : lines) skus.push_back(l.sku);
  std::map<std::string, int64_t> ids;
  for (int attempt = 0; attempt < 2 && ids.size() < skus.size(); ++attempt) {
    for (const auto& r : tx.exec_prepared("rec_product_ids", store_id, common::PgTextArray(skus))) {
      ids[r[0].as<std::string>()] = r[1].as<int64_t>();
    }
  }
  if (ids.size() < skus.size()) throw std::runtime_error("could not resolve product ids");
  std::vector<int64_t> product_ids, positions, quantities, refunded;
  for (auto& l : lines) {
    l.product_id = ids.at(l.sku);
    product_ids.push_back(l.product_id);
    positions.push_back(l.position);
    quantities.push_back(l.quantity);
    refunded.push_back(l.refunded);
  }
  tx.exec_prepared("rec_order_lines_insert", store_id, order_key,
                   common::PgIntArray(product_ids), common::PgIntArray(positions),
                   common::PgIntArray(quantities), common::PgIntArray(refunded), placed_micros);
  return true;
}

std::optional<RecordedOrder> RecommendationStore::LoadOrder(pqxx::transaction_base& tx,
                                                            const std::string& store_id,
                                                            const std::string& order_id) const {
  const auto head = tx.exec_prepared("rec_order_load", store_id, order_id);
  if (head.empty()) return std::nullopt;
  RecordedOrder order;
  order.order_key = head[0][0].as<int64_t>();
  order.placed_micros = head[0][1].as<int64_t>();
  order.cancelled = head[0][2].as<bool>();
  for (const auto& r : tx.exec_prepared("rec_order_lines_load", store_id, order.order_key)) {
    RecordedLine line;
    line.sku = r[0].as<std::string>();
    line.product_id = r[1].as<int64_t>();
    line.position = r[2].as<int>();
    line.quantity = r[3].as<int64_t>();
    line.refunded = r[4].as<int64_t>();
    order.lines.push_back(std::move(line));
  }
  return order;
}

void RecommendationStore::SetRefunded(pqxx::transaction_base& tx, const std::string& store_id,
                                      int64_t order_key, int64_t product_id,
                                      int64_t refunded) const {
  tx.exec_prepared("rec_order_line_refunded", store_id, order_key, product_id, refunded);
}

void RecommendationStore::MarkCancelled(pqxx::transaction_base& tx, const std::string& store_id,
                                        const std::string& order_id, int64_t order_key) const {
  tx.exec_prepared("rec_order_cancel", store_id, order_id, order_key);
}

void RecommendationStore::Apply(pqxx::transaction_base& tx, const std::string& store_id,
                                const ModelDelta& delta,
                                const std::vector<RecordedLine>& lines) const {
  // A decrement of a row that is not there means the counts and the recorded orders disagree:
  // refuse the event (its transaction rolls back; the relay retries) rather than drift. A
  // RebuildModel puts the counts right, and the retry then applies.
  auto expect_rows = [](const pqxx::result& result, size_t rows, const char* what) {
    if (result.affected_rows() != rows) {
      throw std::logic_error(std::string("co-purchase model out of step: ") + what +
                             " to decrement are missing");
    }
  };
  std::vector<std::string> add_skus, sub_skus;
  std::vector<int64_t> add_by, sub_by;
  for (const auto& [sku, change] : delta.items) {
    if (change > 0) {
      add_skus.push_back(sku);
      add_by.push_back(change);
    } else {
      sub_skus.push_back(sku);
      sub_by.push_back(-change);
    }
  }
  if (!add_skus.empty()) {
    tx.exec_prepared("rec_items_add", store_id, common::PgTextArray(add_skus), common::PgIntArray(add_by));
  }
  if (!sub_skus.empty()) {
    expect_rows(tx.exec_prepared("rec_items_subtract", store_id, common::PgTextArray(sub_skus),
                                 common::PgIntArray(sub_by)),
                sub_skus.size(), "products");
  }
  if (delta.pairs.empty()) return;
  std::map<std::string, int64_t> ids;
  for (const auto& l : lines) ids[l.sku] = l.product_id;
  // Key order of the ids, so that concurrent events lock pair rows in the same order.
  std::map<std::pair<int64_t, int64_t>, int64_t> by_id;
  for (const auto& [key, change] : delta.pairs) {
    by_id[{ids.at(key.first), ids.at(key.second)}] = change;
  }
  std::vector<int64_t> add_a, add_b, add_n, sub_a, sub_b, sub_n;
  for (const auto& [key, change] : by_id) {
    if (change > 0) {
      add_a.push_back(key.first);
      add_b.push_back(key.second);
      add_n.push_back(change);
    } else {
      sub_a.push_back(key.first);
      sub_b.push_back(key.second);
      sub_n.push_back(-change);
    }
  }
  if (!add_a.empty()) {
    tx.exec_prepared("rec_pairs_add", store_id, common::PgIntArray(add_a), common::PgIntArray(add_b), common::PgIntArray(add_n));
  }
  if (!sub_a.empty()) {
    const auto a = common::PgIntArray(sub_a);
    const auto b = common::PgIntArray(sub_b);
    expect_rows(tx.exec_prepared("rec_pairs_subtract", store_id, a, b, common::PgIntArray(sub_n)),
                sub_a.size(), "pairs");
    tx.exec_prepared("rec_pairs_prune", store_id, a, b);
  }
}

// ---- Rebuild ----

RebuildCounts RecommendationStore::Rebuild(pqxx::transaction_base& tx, const std::string& store_id,
                                           std::optional<int64_t> window_micros) const {
  // First: takes the store's model row exclusively, so events wait until the rebuild commits.
  tx.exec_prepared("rec_state_set", store_id, window_micros);
  tx.exec_prepared("rec_rebuild_settings");
  const auto row = tx.exec_prepared1("rec_rebuild", store_id, window_micros);
  RebuildCounts counts;
  counts.products = row[0].as<int64_t>();
  counts.orders = row[1].as<int64_t>();
  counts.pairs = row[2].as<int64_t>() / 2;
  return counts;
}

// ---- Reads ----

CartView RecommendationStore::ViewCart(pqxx::transaction_base& tx, const std::string& store_id,
                                       const std::vector<std::string>& cart,
                                       const std::string& customer_id, int limit, int64_t missing,
                                       int band_items) const {
  auto view = ToCartView(tx.exec_prepared("rec_cart", store_id, common::PgTextArray(cart),
                                          customer_id, candidates_, limit, missing, band_items));
  // Every item of the first `band_items` that needs a band was read, even when it came back empty.
  int read = 0;
  for (const auto& item : view.items) {
    if (read >= band_items) break;
    if (!item.catalogued || view.premiums.contains(item.sku)) continue;
    view.bands.try_emplace(item.sku);
    ++read;
  }
  return view;
}

std::map<std::string, std::vector<ProductRow>> RecommendationStore::Bands(
    pqxx::transaction_base& tx, const std::string& store_id, const std::vector<ItemRow>& items,
    const std::vector<std::string>& cart) const {
  std::map<std::string, std::vector<ProductRow>> bands;
  std::vector<std::string> skus, categories;
  std::vector<int64_t> prices;
  for (const auto& item : items) {
    bands.try_emplace(item.sku);
    skus.push_back(item.sku);
    categories.push_back(item.category);
    prices.push_back(item.price_minor);
  }
  if (skus.empty()) return bands;
  for (const auto& r : tx.exec_prepared("rec_cart_bands", store_id, common::PgTextArray(skus),
                                        common::PgTextArray(categories),
                                        common::PgIntArray(prices), common::PgTextArray(cart))) {
    bands[r[0].as<std::string>()].push_back(ToProductRow(r, 1));
  }
  for (auto& [item, band] : bands) SortBand(band);
  return bands;
}

ProductView RecommendationStore::ViewProduct(pqxx::transaction_base& tx,
                                             const std::string& store_id, const std::string& sku,
                                             const std::vector<std::string>& exclude,
                                             int limit) const {
  ProductView view;
  for (const auto& r : tx.exec_prepared("rec_product_page", store_id, sku,
                                        common::PgTextArray(exclude), candidates_)) {
    // Columns: kind, the product shown (5), together, catalogued.
    if (r[0].c_str()[0] == 'a') {
      ItemRow item;
      item.sku = r[1].as<std::string>();
      item.category = r[3].as<std::string>();
      item.orders = r[5].as<int64_t>();
      item.catalogued = r[7].as<bool>();
      view.product = std::move(item);
    } else {
      view.candidates.push_back({0, r[6].as<int64_t>(), ToProductRow(r, 1)});
    }
  }
  if (static_cast<int>(view.candidates.size()) >= limit) return view;
  // Cold start: the answer needs popular products too, none excluded nor a candidate.
  auto taken = exclude;
  for (const auto& c : view.candidates) taken.push_back(c.product.sku);
  const std::string category =
      view.product && view.product->catalogued ? view.product->category : "";
  for (const auto& r : tx.exec_prepared("rec_popular_fill", store_id, category,
                                        common::PgTextArray(taken), limit)) {
    (r[0].c_str()[0] == 'k' ? view.popular_in_category : view.popular_in_store)
        .push_back(ToProductRow(r, 1));
  }
  return view;
}

}  // namespace loyalty::recommendations
