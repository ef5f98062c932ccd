#include "recommendation_store.hpp"

namespace loyalty::recommendations {
namespace {

// A Postgres integer array literal, for a `$n::bigint[]` / `$n::int[]` parameter.
template <class Int>
std::string IntArray(const std::vector<Int>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(values[i]);
  }
  return out + "}";
}

// Microseconds since the epoch as a timestamptz (NULL stays NULL), and back.
constexpr const char* kMicrosToTime = "timestamptz 'epoch' + %s::bigint * interval '1 microsecond'";
std::string MicrosToTime(const std::string& param) {
  std::string out = kMicrosToTime;
  return out.replace(out.find("%s"), 2, param);
}
std::string TimeToMicros(const std::string& column) {
  return "(extract(epoch FROM " + column + ") * 1000000)::bigint";
}

// An order is in the basket of the model when it is not cancelled and is inside the window ($2).
std::string CountedLines(const std::string& extra) {
  return "FROM recommendations.order_lines l JOIN recommendations.orders o "
         "ON o.store_id = l.store_id AND o.order_id = l.order_id "
         "WHERE l.store_id = $1 AND o.store_id = $1 AND NOT o.cancelled "
         "AND l.quantity > l.refunded "
         "AND ($2::bigint IS NULL OR o.placed_at >= " +
         MicrosToTime("$2") + ") " + extra;
}

constexpr const char* kProductColumns =
    "sku, coalesce(name, ''), coalesce(category, ''), coalesce(price_minor, 0), orders_count";

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
  // Catalogue.
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

  // Events.
  db.Prepare("rec_state_ensure",
             "INSERT INTO recommendations.model_state (store_id) VALUES ($1) "
             "ON CONFLICT DO NOTHING");
  db.Prepare("rec_state_share", "SELECT " + TimeToMicros("window_start") +
                                    " FROM recommendations.model_state WHERE store_id = $1 "
                                    "FOR SHARE");
  db.Prepare("rec_order_insert",
             "INSERT INTO recommendations.orders (store_id, order_id, customer_id, placed_at) "
             "VALUES ($1, $2, $3, " +
                 MicrosToTime("$4") + ") ON CONFLICT DO NOTHING");
  db.Prepare("rec_order_lines_insert",
             "INSERT INTO recommendations.order_lines (store_id, order_id, sku, position, "
             "quantity, refunded) SELECT $1, $2, s, p, q, r "
             "FROM unnest($3::text[], $4::int[], $5::int[], $6::int[]) AS t(s, p, q, r)");
  db.Prepare("rec_order_load", "SELECT " + TimeToMicros("placed_at") +
                                   ", cancelled FROM recommendations.orders "
                                   "WHERE store_id = $1 AND order_id = $2 FOR UPDATE");
  db.Prepare("rec_order_lines_load",
             "SELECT sku, position, quantity, refunded FROM recommendations.order_lines "
             "WHERE store_id = $1 AND order_id = $2 ORDER BY position");
  db.Prepare("rec_order_line_refunded",
             "UPDATE recommendations.order_lines SET refunded = $4 "
             "WHERE store_id = $1 AND order_id = $2 AND sku = $3");
  db.Prepare("rec_order_cancel",
             "UPDATE recommendations.orders SET cancelled = true "
             "WHERE store_id = $1 AND order_id = $2");
  db.Prepare("rec_items_apply",
             "INSERT INTO recommendations.products AS p (store_id, sku, orders_count) "
             "SELECT $1, s, d FROM unnest($2::text[], $3::bigint[]) AS t(s, d) ORDER BY s "
             "ON CONFLICT (store_id, sku) DO UPDATE "
             "SET orders_count = p.orders_count + EXCLUDED.orders_count");
  db.Prepare("rec_pairs_apply",
             "INSERT INTO recommendations.pairs AS x (store_id, sku, other_sku, together) "
             "SELECT $1, a, b, d FROM unnest($2::text[], $3::text[], $4::bigint[]) AS t(a, b, d) "
             "ORDER BY a, b ON CONFLICT (store_id, sku, other_sku) DO UPDATE "
             "SET together = x.together + EXCLUDED.together");
  db.Prepare("rec_pairs_prune",
             "DELETE FROM recommendations.pairs x USING unnest($2::text[], $3::text[]) AS t(a, b) "
             "WHERE x.store_id = $1 AND x.sku = t.a AND x.other_sku = t.b AND x.together = 0");

  // Rebuild.
  db.Prepare("rec_state_set",
             "INSERT INTO recommendations.model_state (store_id, window_start, rebuilt_at) "
             "VALUES ($1, " +
                 MicrosToTime("$2") +
                 ", now()) ON CONFLICT (store_id) DO UPDATE "
                 "SET window_start = EXCLUDED.window_start, rebuilt_at = EXCLUDED.rebuilt_at");
  db.Prepare("rec_rebuild_work_mem", "SELECT set_config('work_mem', '256MB', true)");
  db.Prepare("rec_rebuild_pairs_clear", "DELETE FROM recommendations.pairs WHERE store_id = $1");
  db.Prepare("rec_rebuild_items_clear",
             "UPDATE recommendations.products SET orders_count = 0 "
             "WHERE store_id = $1 AND orders_count <> 0");
  db.Prepare("rec_rebuild_items",
             "INSERT INTO recommendations.products AS p (store_id, sku, orders_count) "
             "SELECT $1, l.sku, count(*) " +
                 CountedLines("GROUP BY l.sku ORDER BY l.sku") +
                 " ON CONFLICT (store_id, sku) DO UPDATE SET orders_count = EXCLUDED.orders_count");
  db.Prepare("rec_rebuild_orders", "SELECT count(DISTINCT l.order_id) " + CountedLines(""));
  db.Prepare("rec_rebuild_pairs",
             "WITH basket AS MATERIALIZED (SELECT l.order_id, l.sku " +
                 CountedLines("AND l.position < " + K) +
                 ") INSERT INTO recommendations.pairs (store_id, sku, other_sku, together) "
                 "SELECT $1, a.sku, b.sku, count(*) FROM basket a JOIN basket b "
                 "ON b.order_id = a.order_id AND b.sku <> a.sku GROUP BY a.sku, b.sku");

  // Reads.
  db.Prepare("rec_anchors",
             "SELECT p.sku, p.catalogued, p.orders_count, coalesce(p.category, ''), "
             "coalesce(p.price_minor, 0), p.gift_wrappable, coalesce(p.premium_sku, ''), "
             "coalesce(q.eligible, false), coalesce(q.name, ''), coalesce(q.category, ''), "
             "coalesce(q.price_minor, 0), coalesce(q.orders_count, 0) "
             "FROM recommendations.products p LEFT JOIN recommendations.products q "
             "ON q.store_id = p.store_id AND q.sku = p.premium_sku "
             "WHERE p.store_id = $1 AND p.sku = ANY ($2::text[])");
  db.Prepare("rec_candidates",
             "SELECT a.sku, c.together, c.other_sku, c.name, c.category, c.price_minor, "
             "c.orders_count FROM unnest($2::text[]) AS a(sku) CROSS JOIN LATERAL ("
             "SELECT x.other_sku, x.together, p.name, p.category, p.price_minor, p.orders_count "
             "FROM recommendations.pairs x JOIN recommendations.products p "
             "ON p.store_id = x.store_id AND p.sku = x.other_sku "
             "WHERE x.store_id = $1 AND x.sku = a.sku AND p.eligible "
             "AND x.other_sku <> ALL ($3::text[]) "
             "ORDER BY x.together DESC, x.other_sku LIMIT $4) c");
  db.Prepare("rec_popular_store",
             std::string("SELECT ") + kProductColumns +
                 " FROM recommendations.products WHERE store_id = $1 AND eligible "
                 "AND orders_count > 0 AND sku <> ALL ($2::text[]) "
                 "ORDER BY orders_count DESC, sku LIMIT $3");
  db.Prepare("rec_popular_categories",
             "SELECT p.sku, p.name, p.category, p.price_minor, p.orders_count "
             "FROM unnest($2::text[]) AS c(category) CROSS JOIN LATERAL ("
             "SELECT sku, name, category, price_minor, orders_count "
             "FROM recommendations.products WHERE store_id = $1 AND eligible "
             "AND category = c.category AND orders_count > 0 AND sku <> ALL ($3::text[]) "
             "ORDER BY orders_count DESC, sku LIMIT $4) p "
             "ORDER BY p.orders_count DESC, p.sku LIMIT $4");
  db.Prepare("rec_upsell_band",
             "SELECT a.sku, u.sku, u.name, u.category, u.price_minor, u.orders_count "
             "FROM unnest($2::text[], $3::text[], $4::bigint[]) AS a(sku, category, price) "
             "CROSS JOIN LATERAL (SELECT sku, name, category, price_minor, orders_count "
             "FROM recommendations.products WHERE store_id = $1 AND eligible "
             "AND category = a.category AND price_minor > a.price "
             "AND price_minor <= a.price + a.price / 2 AND sku <> ALL ($5::text[]) "
             "ORDER BY orders_count DESC, price_minor, sku LIMIT $6) u "
             "ORDER BY a.sku, u.orders_count DESC, u.price_minor, u.sku");
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
             "SELECT DISTINCT l.sku FROM recommendations.orders o "
             "JOIN recommendations.order_lines l "
             "ON l.store_id = o.store_id AND l.order_id = o.order_id "
             "WHERE o.store_id = $1 AND o.customer_id = $2 AND NOT o.cancelled "
             "AND l.quantity > l.refunded ORDER BY 1 LIMIT 1000");
}

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
                                      const std::vector<RecordedLine>& lines) const {
  if (tx.exec_prepared("rec_order_insert", store_id, order_id, customer_id, placed_micros)
          .affected_rows() == 0) {
    return false;
  }
  if (lines.empty()) return true;
  std::vector<std::string> skus;
  std::vector<int64_t> positions, quantities, refunded;
  for (const auto& l : lines) {
    skus.push_back(l.sku);
    positions.push_back(l.position);
    quantities.push_back(l.quantity);
    refunded.push_back(l.refunded);
  }
  tx.exec_prepared("rec_order_lines_insert", store_id, order_id, common::PgTextArray(skus),
                   IntArray(positions), IntArray(quantities), IntArray(refunded));
  return true;
}

std::optional<RecordedOrder> RecommendationStore::LoadOrder(pqxx::transaction_base& tx,
                                                            const std::string& store_id,
                                                            const std::string& order_id) const {
  const auto head = tx.exec_prepared("rec_order_load", store_id, order_id);
  if (head.empty()) return std::nullopt;
  RecordedOrder order;
  order.placed_micros = head[0][0].as<int64_t>();
  order.cancelled = head[0][1].as<bool>();
  for (const auto& r : tx.exec_prepared("rec_order_lines_load", store_id, order_id)) {
    RecordedLine line;
    line.sku = r[0].as<std::string>();
    line.position = r[1].as<int>();
    line.quantity = r[2].as<int64_t>();
    line.refunded = r[3].as<int64_t>();
    order.lines.push_back(std::move(line));
  }
  return order;
}

void RecommendationStore::SetRefunded(pqxx::transaction_base& tx, const std::string& store_id,
                                      const std::string& order_id, const std::string& sku,
                                      int64_t refunded) const {
  tx.exec_prepared("rec_order_line_refunded", store_id, order_id, sku, refunded);
}

void RecommendationStore::MarkCancelled(pqxx::transaction_base& tx, const std::string& store_id,
                                        const std::string& order_id) const {
  tx.exec_prepared("rec_order_cancel", store_id, order_id);
}

void RecommendationStore::Apply(pqxx::transaction_base& tx, const std::string& store_id,
                                const ModelDelta& delta) const {
  if (!delta.items.empty()) {
    std::vector<std::string> skus;
    std::vector<int64_t> changes;
    for (const auto& [sku, change] : delta.items) {
      skus.push_back(sku);
      changes.push_back(change);
    }
    tx.exec_prepared("rec_items_apply", store_id, common::PgTextArray(skus), IntArray(changes));
  }
  if (!delta.pairs.empty()) {
    std::vector<std::string> a, b, falling_a, falling_b;
    std::vector<int64_t> changes;
    for (const auto& [key, change] : delta.pairs) {
      a.push_back(key.first);
      b.push_back(key.second);
      changes.push_back(change);
      if (change < 0) {
        falling_a.push_back(key.first);
        falling_b.push_back(key.second);
      }
    }
    tx.exec_prepared("rec_pairs_apply", store_id, common::PgTextArray(a), common::PgTextArray(b),
                     IntArray(changes));
    if (!falling_a.empty()) {
      tx.exec_prepared("rec_pairs_prune", store_id, common::PgTextArray(falling_a),
                       common::PgTextArray(falling_b));
    }
  }
}

RebuildCounts RecommendationStore::Rebuild(pqxx::transaction_base& tx, const std::string& store_id,
                                           std::optional<int64_t> window_micros) const {
  // First: takes the store's model row exclusively, so events wait until the rebuild commits.
  tx.exec_prepared("rec_state_set", store_id, window_micros);
  tx.exec_prepared("rec_rebuild_work_mem");
  tx.exec_prepared("rec_rebuild_pairs_clear", store_id);
  tx.exec_prepared("rec_rebuild_items_clear", store_id);
  RebuildCounts counts;
  counts.products = static_cast<int64_t>(
      tx.exec_prepared("rec_rebuild_items", store_id, window_micros).affected_rows());
  counts.orders = tx.exec_prepared1("rec_rebuild_orders", store_id, window_micros)[0].as<int64_t>();
  counts.pairs = static_cast<int64_t>(
                     tx.exec_prepared("rec_rebuild_pairs", store_id, window_micros).affected_rows()) /
                 2;
  return counts;
}

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
  const auto rows = tx.exec_prepared("rec_candidates", store_id, common::PgTextArray(anchors),
                                     common::PgTextArray(exclude), candidates_);
  out.reserve(rows.size());
  for (const auto& r : rows) {
    CandidateRow c;
    c.anchor = r[0].as<std::string>();
    c.together = r[1].as<int64_t>();
    c.product = ToProductRow(r, 2);
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<ProductRow> RecommendationStore::Popular(pqxx::transaction_base& tx,
                                                     const std::string& store_id,
                                                     const std::vector<std::string>& categories,
                                                     const std::vector<std::string>& exclude,
                                                     int limit) const {
  if (limit <= 0) return {};
  if (categories.empty()) {
    return ToProductRows(
        tx.exec_prepared("rec_popular_store", store_id, common::PgTextArray(exclude), limit));
  }
  return ToProductRows(tx.exec_prepared("rec_popular_categories", store_id,
                                        common::PgTextArray(categories),
                                        common::PgTextArray(exclude), limit));
}

std::vector<RecommendationStore::BandRow> RecommendationStore::UpsellBand(
    pqxx::transaction_base& tx, const std::string& store_id, const std::vector<AnchorRow>& anchors,
    const std::vector<std::string>& exclude, int per_anchor) const {
  std::vector<std::string> skus, categories;
  std::vector<int64_t> prices;
  for (const auto& a : anchors) {
    if (!a.catalogued) continue;
    skus.push_back(a.sku);
    categories.push_back(a.category);
    prices.push_back(a.price_minor);
  }
  std::vector<BandRow> out;
  if (skus.empty()) return out;
  for (const auto& r : tx.exec_prepared("rec_upsell_band", store_id, common::PgTextArray(skus),
                                        common::PgTextArray(categories), IntArray(prices),
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
