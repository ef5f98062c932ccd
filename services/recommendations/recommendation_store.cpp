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

constexpr const char* kProductColumns =
    "sku, coalesce(name, '') AS name, coalesce(category, '') AS category, "
    "coalesce(price_minor, 0) AS price_minor, orders_count";

ProductRow ToProductRow(const pqxx::row& r, int at = 0) {
  ProductRow p;
  p.sku = r[at].as<std::string>();
  p.name = r[at + 1].as<std::string>();
  p.category = r[at + 2].as<std::string>();
  p.price_minor = r[at + 3].as<int64_t>();
  p.orders = r[at + 4].as<int64_t>();
  return p;
}

std::vector<ProductRow> ToProductRows(const pqxx::result& rows) {
  std::vector<ProductRow> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(ToProductRow(r));
  return out;
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
  // The rebuild hashes millions of rows: memory for it, and hash joins rather than sorts.
  db.Prepare("rec_rebuild_settings",
             "SELECT set_config('work_mem', '256MB', true), "
             "set_config('enable_mergejoin', 'off', true)");
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
  db.Prepare("rec_anchors",
             "SELECT p.sku, p.catalogued, p.orders_count, coalesce(p.category, ''), "
             "coalesce(p.price_minor, 0), p.gift_wrappable, coalesce(p.premium_sku, ''), "
             "coalesce(q.eligible, false), coalesce(q.name, ''), coalesce(q.category, ''), "
             "coalesce(q.price_minor, 0), coalesce(q.orders_count, 0) "
             "FROM recommendations.products p LEFT JOIN recommendations.products q "
             "ON q.store_id = p.store_id AND q.sku = p.premium_sku "
             "WHERE p.store_id = $1 AND p.sku = ANY ($2::text[])");
  // The partners of one anchor (`anchor`: an SQL expression for its SKU) that may be suggested,
  // best first; $1 store, $3 SKUs excluded, $4 how many.
  const auto partners = [](const std::string& anchor, const std::string& extra_columns) {
    return "SELECT p.sku, coalesce(p.name, '') AS name, coalesce(p.category, '') AS category, "
           "coalesce(p.price_minor, 0) AS price_minor, p.orders_count, x.together" +
           extra_columns +
           " FROM recommendations.pairs x JOIN recommendations.products p "
           "ON p.store_id = x.store_id AND p.product_id = x.other_id "
           "WHERE x.store_id = $1 AND x.product_id = (SELECT product_id FROM "
           "recommendations.products WHERE store_id = $1 AND sku = " +
           anchor +
           ") AND p.eligible AND p.sku <> ALL ($3::text[]) "
           "ORDER BY x.together DESC, x.other_id LIMIT $4";
  };
  // Every anchor of a cart in one round trip (a statement per anchor made a 100-line cart ten
  // times slower than a 3-line one: the round trips, not the work).
  db.Prepare("rec_cart_candidates",
             "SELECT a.sku, c.sku, c.name, c.category, c.price_minor, c.orders_count, c.together "
             "FROM unnest($2::text[]) WITH ORDINALITY AS a(sku, n) CROSS JOIN LATERAL (" +
                 partners("a.sku", ", x.other_id") +
                 ") c ORDER BY a.n, c.together DESC, c.other_id");
  // A single anchor: with no array to unnest, the generic plan is as cheap as a custom one, so
  // Postgres stops planning it per call (planning costs more than running it).
  const std::string candidates_sql = partners("$2", "");
  // The product page in one round trip: the product's own row (flagged), then its candidates.
  db.Prepare("rec_product_view",
             "SELECT true, sku, coalesce(name, ''), coalesce(category, ''), "
             "coalesce(price_minor, 0), orders_count, 0::bigint, catalogued "
             "FROM recommendations.products WHERE store_id = $1 AND sku = $2 "
             "UNION ALL (SELECT false, c.*, true FROM (" +
                 candidates_sql + ") c)");
  db.Prepare("rec_popular_store",
             std::string("SELECT ") + kProductColumns +
                 " FROM recommendations.products WHERE store_id = $1 AND eligible "
                 "AND orders_count > 0 AND sku <> ALL ($2::text[]) "
                 "ORDER BY orders_count DESC, sku LIMIT $3");
  // Each category's best, every category in one round trip.
  db.Prepare("rec_popular_categories",
             std::string("SELECT b.* FROM unnest($2::text[]) AS c(category) CROSS JOIN LATERAL "
                         "(SELECT ") +
                 kProductColumns +
                 " FROM recommendations.products WHERE store_id = $1 AND eligible "
                 "AND category = c.category AND orders_count > 0 AND sku <> ALL ($3::text[]) "
                 "ORDER BY orders_count DESC, sku LIMIT $4) b");
  // Each anchor's band (its category, above its price by at most half), all in one round trip.
  // `price_minor + 0` keeps the price out of any index condition: with the band's bounds coming
  // from the outer row, the planner rated the price index (store, price) as cheap as the
  // category one and scanned every category's products in the band (13 ms for a 100-line cart,
  // against 2 ms through the category index).
  db.Prepare("rec_upsell_band",
             std::string("SELECT a.sku, b.* FROM unnest($2::text[], $3::text[], $4::bigint[]) "
                         "WITH ORDINALITY AS a(sku, category, price, n) CROSS JOIN LATERAL "
                         "(SELECT ") +
                 kProductColumns +
                 " FROM recommendations.products WHERE store_id = $1 AND eligible "
                 "AND category = a.category AND price_minor + 0 > a.price "
                 "AND price_minor + 0 <= a.price + a.price / 2 AND sku <> ALL ($5::text[]) "
                 "ORDER BY orders_count DESC, price_minor, sku LIMIT $6) b "
                 "ORDER BY a.n, b.orders_count DESC, b.price_minor, b.sku");
  db.Prepare("rec_cheapest_at_least",
             std::string("SELECT ") + kProductColumns +
                 " FROM recommendations.products WHERE store_id = $1 AND eligible "
                 "AND price_minor >= $2 AND sku <> ALL ($3::text[]) "
                 "ORDER BY price_minor, sku LIMIT $4");
  db.Prepare("rec_gift_wraps",
             std::string("SELECT ") + kProductColumns +
                 " FROM recommendations.products WHERE store_id = $1 AND kind = 'gift_wrap' "
                 "AND catalogued AND in_stock AND NOT hidden AND sku <> ALL ($2::text[]) "
                 "ORDER BY price_minor, sku LIMIT $3");
  db.Prepare("rec_owned",
             "SELECT DISTINCT p.sku FROM recommendations.orders o "
             "JOIN recommendations.order_lines l "
             "ON l.store_id = o.store_id AND l.order_key = o.order_key "
             "JOIN recommendations.products p "
             "ON p.store_id = l.store_id AND p.product_id = l.product_id "
             "WHERE o.store_id = $1 AND o.customer_id = $2 AND NOT o.cancelled "
             "AND l.quantity > l.refunded ORDER BY 1 LIMIT 1000");
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

std::vector<AnchorRow> RecommendationStore::Anchors(pqxx::transaction_base& tx,
                                                    const std::string& store_id,
                                                    const std::vector<std::string>& skus) const {
  std::vector<AnchorRow> out;
  for (const auto& r : tx.exec_prepared("rec_anchors", store_id, common::PgTextArray(skus))) {
    AnchorRow a;
    a.sku = r[0].as<std::string>();
    a.catalogued = r[1].as<bool>();
    a.orders = r[2].as<int64_t>();
    a.category = r[3].as<std::string>();
    a.price_minor = r[4].as<int64_t>();
    a.gift_wrappable = r[5].as<bool>();
    a.premium_sku = r[6].as<std::string>();
    if (r[7].as<bool>()) {
      ProductRow p;
      p.sku = a.premium_sku;
      p.name = r[8].as<std::string>();
      p.category = r[9].as<std::string>();
      p.price_minor = r[10].as<int64_t>();
      p.orders = r[11].as<int64_t>();
      a.premium = std::move(p);
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<CandidateRow> RecommendationStore::Candidates(
    pqxx::transaction_base& tx, const std::string& store_id,
    const std::vector<std::string>& anchors, const std::vector<std::string>& exclude) const {
  std::vector<CandidateRow> out;
  if (anchors.empty()) return out;
  // Up to 10 anchors each bring their `candidates_` best partners, exactly. A larger cart shares
  // a budget of 10 anchors' worth (at least 5 each), so a 100-line cart costs about what a
  // 10-line one does (it was 7x a 3-line cart's suggestions): its merged list is then built
  // from each item's strongest partners only, which can miss a product that is every item's
  // sixth best.
  const int anchor_count = static_cast<int>(anchors.size());
  const int per_anchor = anchor_count <= kExactCartAnchors
                             ? candidates_
                             : std::max(5, candidates_ * kExactCartAnchors / anchor_count);
  const auto rows = tx.exec_prepared("rec_cart_candidates", store_id, common::PgTextArray(anchors),
                                     common::PgTextArray(exclude), per_anchor);
  out.reserve(rows.size());
  for (const auto& r : rows) {
    CandidateRow c;
    c.anchor = r[0].as<std::string>();
    c.product = ToProductRow(r, 1);
    c.together = r[6].as<int64_t>();
    out.push_back(std::move(c));
  }
  return out;
}

ProductView RecommendationStore::ViewProduct(pqxx::transaction_base& tx,
                                             const std::string& store_id, const std::string& sku,
                                             const std::vector<std::string>& exclude) const {
  ProductView view;
  for (const auto& r : tx.exec_prepared("rec_product_view", store_id, sku,
                                        common::PgTextArray(exclude), candidates_)) {
    if (r[0].as<bool>()) {
      AnchorRow a;
      a.sku = r[1].as<std::string>();
      a.category = r[3].as<std::string>();
      a.price_minor = r[4].as<int64_t>();
      a.orders = r[5].as<int64_t>();
      a.catalogued = r[7].as<bool>();
      view.anchor = std::move(a);
    } else {
      CandidateRow c;
      c.anchor = sku;
      c.product = ToProductRow(r, 1);
      c.together = r[6].as<int64_t>();
      view.candidates.push_back(std::move(c));
    }
  }
  return view;
}

std::vector<ProductRow> RecommendationStore::Popular(pqxx::transaction_base& tx,
                                                     const std::string& store_id,
                                                     const std::vector<std::string>& categories,
                                                     const std::vector<std::string>& exclude,
                                                     int limit) const {
  if (limit <= 0) return {};
  const std::string excluded = common::PgTextArray(exclude);
  if (categories.empty()) {
    return ToProductRows(tx.exec_prepared("rec_popular_store", store_id, excluded, limit));
  }
  // The best `limit` of each category, merged.
  auto out = ToProductRows(tx.exec_prepared("rec_popular_categories", store_id,
                                            common::PgTextArray(categories), excluded, limit));
  std::sort(out.begin(), out.end(), [](const ProductRow& a, const ProductRow& b) {
    return a.orders != b.orders ? a.orders > b.orders : a.sku < b.sku;
  });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const ProductRow& a, const ProductRow& b) { return a.sku == b.sku; }),
            out.end());
  if (static_cast<int>(out.size()) > limit) out.resize(static_cast<size_t>(limit));
  return out;
}

std::vector<RecommendationStore::BandRow> RecommendationStore::UpsellBand(
    pqxx::transaction_base& tx, const std::string& store_id, const std::vector<AnchorRow>& anchors,
    const std::vector<std::string>& exclude, int per_anchor) const {
  std::vector<BandRow> out;
  std::vector<std::string> skus, categories;
  std::vector<int64_t> prices;
  for (const auto& a : anchors) {
    if (!a.catalogued) continue;
    skus.push_back(a.sku);
    categories.push_back(a.category);
    prices.push_back(a.price_minor);
  }
  if (skus.empty()) return out;
  for (const auto& r : tx.exec_prepared("rec_upsell_band", store_id, common::PgTextArray(skus),
                                        common::PgTextArray(categories), common::PgIntArray(prices),
                                        common::PgTextArray(exclude), per_anchor)) {
    BandRow b;
    b.anchor = r[0].as<std::string>();
    b.product = ToProductRow(r, 1);
    out.push_back(std::move(b));
  }
  return out;
}

std::vector<ProductRow> RecommendationStore::CheapestAtLeast(
    pqxx::transaction_base& tx, const std::string& store_id, int64_t minimum,
    const std::vector<std::string>& exclude, int limit) const {
  if (limit <= 0) return {};
  return ToProductRows(tx.exec_prepared("rec_cheapest_at_least", store_id, minimum,
                                        common::PgTextArray(exclude), limit));
}

std::vector<ProductRow> RecommendationStore::GiftWraps(pqxx::transaction_base& tx,
                                                       const std::string& store_id,
                                                       const std::vector<std::string>& exclude,
                                                       int limit) const {
  if (limit <= 0) return {};
  return ToProductRows(
      tx.exec_prepared("rec_gift_wraps", store_id, common::PgTextArray(exclude), limit));
}

std::vector<std::string> RecommendationStore::OwnedBy(pqxx::transaction_base& tx,
                                                      const std::string& store_id,
                                                      const std::string& customer_id) const {
  std::vector<std::string> out;
  for (const auto& r : tx.exec_prepared("rec_owned", store_id, customer_id)) {
    out.push_back(r[0].as<std::string>());
  }
  return out;
}

}  // namespace loyalty::recommendations
