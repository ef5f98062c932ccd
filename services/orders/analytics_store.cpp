#include "analytics_store.hpp"

#include <google/protobuf/util/time_util.h>

#include "loyalty/common/page_token.hpp"

namespace loyalty::orders {
namespace {

using google::protobuf::util::TimeUtil;

// The SQL below is assembled from these constant fragments only; every input is a parameter.
//
// An order, for analytics: placed or fulfilled (cancelled orders and abandoned tombstones are not
// orders). Imported orders are rows like any other.
#define COUNTED "o.status IN ('placed', 'fulfilled')"

// Period statements take $1 store, $2 start date, $3 end date, $4 time zone. The bounds are the
// local midnights of the dates, written inline (not in a CTE) so that the planner sees their
// values when it estimates how many orders a period holds.
#define P_START "(($2::date)::timestamp AT TIME ZONE $4::text)"
#define P_END "(($3::date)::timestamp AT TIME ZONE $4::text)"
#define IN_PERIOD "o.placed_at >= " P_START " AND o.placed_at < " P_END

// Per customer: revenue and orders in the period.
#define PERIOD_CUSTOMERS                                                                \
  "w AS (SELECT o.customer_id, sum(o.revenue_minor) AS revenue, count(*) AS orders "  \
  "FROM orders.orders o WHERE o.store_id = $1 AND " COUNTED " AND " IN_PERIOD          \
  " GROUP BY o.customer_id)"

// A timestamptz as microseconds since the epoch (numeric in PostgreSQL 15: exact).
#define MICROS(x) "(extract(epoch FROM " x ") * 1000000)::bigint"

// $2 microseconds since the epoch as an instant.
#define AS_OF "(timestamptz 'epoch' + $2::bigint * interval '1 microsecond')"

// Ordering of customer ids: byte order, whatever the database's collation.
#define BY_ID(x) x " COLLATE \"C\""

int64_t Int(const pqxx::field& f) { return f.is_null() ? 0 : f.as<int64_t>(); }

google::protobuf::Timestamp Time(const pqxx::field& f) {
  return TimeUtil::MicrosecondsToTimestamp(f.as<int64_t>());
}

}  // namespace

v1::Ratio MakeRatio(int64_t numerator, int64_t denominator) {
  v1::Ratio r;
  r.set_numerator(numerator);
  r.set_denominator(denominator);
  if (denominator != 0) {
    __extension__ typedef __int128 Wide;  // numerator × 10,000 may not fit 64 bits
    const Wide scaled = static_cast<Wide>(numerator) * 10000;
    Wide q = scaled / denominator;
    // Round towards minus infinity (C++ truncates towards zero).
    if ((scaled % denominator != 0) && ((scaled < 0) != (denominator < 0))) --q;
    r.set_basis_points(static_cast<int64_t>(q));
  }
  return r;
}

AnalyticsStore::AnalyticsStore(common::Database& db) {
  db.Prepare("analytics_time_zone_known",
             "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1::text)");
  db.Prepare("analytics_settings",
             "SELECT set_config('jit', 'off', false), set_config('work_mem', '64MB', false), "
             "set_config('random_page_cost', '1.1', false), "
             "set_config('plan_cache_mode', 'force_custom_plan', false)");

  // Retention. $5: activity window in days. "A customer at t" has an order in [t − window, t).
  // Only customers with an order in [start − window, end) can be in S, E or N: one pass over
  // those orders (orders_by_time) gives each one's flags. "Acquired" (first order ever in the
  // period) then needs one index probe for an order before start − window, and only for those in
  // the period but not in S (a LATERAL with LIMIT, so the planner cannot turn it into a hash of
  // the store's whole history). MATERIALIZED: flags computed once, not once per count.
  db.Prepare(
      "analytics_retention",
      "WITH c AS (SELECT o.customer_id, "
      "  bool_or(o.placed_at < " P_START ") AS at_start, "
      "  bool_or(o.placed_at >= (($3::date - $5::int)::timestamp AT TIME ZONE $4::text)) "
      "    AS at_end, "
      "  bool_or(o.placed_at >= " P_START ") AS in_period "
      "  FROM orders.orders o WHERE o.store_id = $1 AND " COUNTED
      "  AND o.placed_at >= (($2::date - $5::int)::timestamp AT TIME ZONE $4::text) "
      "  AND o.placed_at < " P_END " GROUP BY o.customer_id), "
      "f AS MATERIALIZED (SELECT c.at_start, c.at_end, "
      "  (c.in_period AND NOT c.at_start AND prior.found IS NULL) AS acquired "
      "  FROM c LEFT JOIN LATERAL (SELECT true AS found FROM orders.orders o "
      "    WHERE c.in_period AND NOT c.at_start AND o.store_id = $1 "
      "    AND o.customer_id = c.customer_id AND " COUNTED
      "    AND o.placed_at < (($2::date - $5::int)::timestamp AT TIME ZONE $4::text) "
      "    LIMIT 1) prior "
      "  ON true) "
      "SELECT count(*) FILTER (WHERE at_start), "
      "  count(*) FILTER (WHERE at_end), "
      "  count(*) FILTER (WHERE acquired AND at_end), "
      "  count(*) FILTER (WHERE acquired AND NOT at_end), "
      "  count(*) FILTER (WHERE at_start AND at_end), "
      "  count(*) FILTER (WHERE at_end AND NOT at_start AND NOT acquired) "
      "FROM f");

  // Repeat-customer revenue: a customer of the period with 2+ orders in it, or 1 in it and any
  // before it, has 2+ orders placed before the period's end (the probe runs only for 1 order).
  db.Prepare(
      "analytics_repeat_revenue",
      "WITH " PERIOD_CUSTOMERS ", "
      "r AS MATERIALIZED (SELECT w.revenue, (w.orders >= 2 OR prior.found IS NOT NULL) AS repeat "
      "  FROM w LEFT JOIN LATERAL (SELECT true AS found FROM orders.orders o "
      "    WHERE w.orders = 1 AND o.store_id = $1 AND o.customer_id = w.customer_id "
      "    AND " COUNTED " AND o.placed_at < " P_START " LIMIT 1) prior ON true) "
      "SELECT coalesce(sum(revenue), 0)::bigint, "
      "  coalesce(sum(revenue) FILTER (WHERE repeat), 0)::bigint, "
      "  count(*), count(*) FILTER (WHERE repeat) FROM r");

  // Revenue concentration. $5: top percent; the top is ceil($5 × n ÷ 100) customers ranked by
  // revenue descending, customer_id ascending.
  db.Prepare(
      "analytics_concentration",
      "WITH " PERIOD_CUSTOMERS ", "
      "r AS (SELECT w.revenue, row_number() OVER (ORDER BY w.revenue DESC, " BY_ID("w.customer_id")
      ") AS rn FROM w), "
      "k AS (SELECT count(*) AS n, coalesce(sum(w.revenue), 0) AS total, "
      "  (count(*) * $5::int + 99) / 100 AS k FROM w) "
      "SELECT k.n, k.k, k.total::bigint, "
      "  coalesce((SELECT sum(r.revenue) FROM r WHERE r.rn <= k.k), 0)::bigint FROM k");

  // Top customers. $5: top percent (0: use $6), $6: limit, $7: last rank already returned,
  // $8: rows to fetch. The LEFT JOIN keeps one row (with NULL customer) when the page is empty,
  // so the counts always come back.
  db.Prepare(
      "analytics_top_customers",
      "WITH " PERIOD_CUSTOMERS ", "
      "r AS (SELECT w.customer_id, w.revenue, w.orders, row_number() OVER (ORDER BY w.revenue "
      "  DESC, " BY_ID("w.customer_id") ") AS rn FROM w), "
      "k AS (SELECT count(*) AS n, CASE WHEN $5::int > 0 THEN (count(*) * $5::int + 99) / 100 "
      "  ELSE least(count(*), $6::bigint) END AS k FROM w) "
      "SELECT k.n, k.k, r.customer_id, r.revenue::bigint, r.orders, r.rn "
      "FROM k LEFT JOIN r ON r.rn > $7::bigint AND r.rn <= k.k ORDER BY r.rn LIMIT $8::int");

  // Lapsed customers. $2: as_of (µs), $3: days, $4/$5: cursor (last order µs, customer id; $4
  // is INT64_MIN on the first page, below any timestamp), $6: rows to fetch.
  db.Prepare(
      "analytics_lapsed",
      "WITH l AS (SELECT o.customer_id, max(o.placed_at) AS last_at, count(*) AS orders, "
      "  sum(o.revenue_minor) AS revenue FROM orders.orders o "
      "  WHERE o.store_id = $1 AND " COUNTED " AND o.placed_at <= " AS_OF
      "  GROUP BY o.customer_id), "
      "x AS (SELECT l.*, " MICROS("l.last_at") " AS last_micros, "
      "  floor(extract(epoch FROM " AS_OF " - l.last_at) / 86400)::bigint AS days_since "
      "  FROM l WHERE l.last_at < " AS_OF " - $3::int * interval '24 hours'), "
      "t AS (SELECT count(*) AS n FROM x) "
      "SELECT t.n, x.customer_id, x.last_micros, x.days_since, x.orders, x.revenue::bigint "
      "FROM t LEFT JOIN x ON (x.last_micros > $4::bigint "
      "  OR (x.last_micros = $4::bigint AND " BY_ID("x.customer_id") " > $5::text)) "
      "ORDER BY x.last_micros, " BY_ID("x.customer_id") " LIMIT $6::int");

  // Customer value: the period's orders, and the whole history (before the period's end) of the
  // period's customers: their orders in the period plus those before it (index probes).
  db.Prepare(
      "analytics_customer_value",
      "WITH " PERIOD_CUSTOMERS ", "
      "t AS (SELECT coalesce(sum(w.orders), 0) AS orders, coalesce(sum(w.revenue), 0) AS revenue, "
      "  count(*) AS customers FROM w), "
      "h AS (SELECT count(*) AS orders, coalesce(sum(o.revenue_minor), 0) AS revenue "
      "  FROM w JOIN orders.orders o ON o.store_id = $1 AND o.customer_id = w.customer_id "
      "  WHERE " COUNTED " AND o.placed_at < " P_START ") "
      "SELECT t.orders::bigint, t.revenue::bigint, t.customers, (t.revenue + h.revenue)::bigint, "
      "  t.orders + h.orders FROM t, h");

  // Segment. $5 skus, $6 categories (text[]), $7 discount filter (0 any, 1 used, 2 not used),
  // $8 cursor (last customer id), $9 rows to fetch. Each CTE's condition on parameters alone
  // becomes a one-time filter, so only the sets a request needs are computed:
  //   b: customers of the period's orders with a matching, not wholly refunded line (driven by
  //      the lines' sku and category indexes), when there is a product filter;
  //   p: every customer of the period, when there is none;
  //   d: customers of the period's orders that have a discount, when discount use matters.
  db.Prepare(
      "analytics_segment",
      "WITH b AS MATERIALIZED (SELECT DISTINCT o.customer_id FROM orders.order_lines l "
      "  JOIN orders.orders o ON o.store_id = l.store_id AND o.order_id = l.order_id "
      "  WHERE cardinality($5::text[]) + cardinality($6::text[]) > 0 AND l.store_id = $1 "
      "  AND (l.sku = ANY ($5::text[]) OR l.category = ANY ($6::text[])) "
      "  AND l.quantity > l.refunded_quantity AND " COUNTED " AND " IN_PERIOD "), "
      "p AS MATERIALIZED (SELECT DISTINCT o.customer_id FROM orders.orders o "
      "  WHERE cardinality($5::text[]) + cardinality($6::text[]) = 0 AND o.store_id = $1 "
      "  AND " COUNTED " AND " IN_PERIOD "), "
      "d AS MATERIALIZED (SELECT DISTINCT o.customer_id FROM orders.orders o "
      "  WHERE $7::int <> 0 AND o.store_id = $1 AND " COUNTED " AND " IN_PERIOD
      "  AND EXISTS (SELECT 1 FROM orders.order_discounts d WHERE d.store_id = $1 "
      "    AND d.order_id = o.order_id AND d.amount_minor > 0)), "
      "s AS MATERIALIZED (SELECT o.customer_id FROM orders.orders o "
      "  WHERE $10::bigint + $11::bigint > 0 AND o.store_id = $1 AND " COUNTED " AND " IN_PERIOD
      "  GROUP BY o.customer_id HAVING sum(o.revenue_minor) >= $10::bigint "
      "  AND ($11::bigint = 0 OR sum(o.revenue_minor) <= $11::bigint)), "
      "m AS MATERIALIZED (SELECT c.customer_id FROM (SELECT customer_id FROM b "
      "  UNION ALL SELECT customer_id FROM p) c "
      "  WHERE ($7::int = 0 "
      "  OR ($7::int = 1 AND EXISTS (SELECT 1 FROM d WHERE d.customer_id = c.customer_id)) "
      "  OR ($7::int = 2 AND NOT EXISTS (SELECT 1 FROM d WHERE d.customer_id = c.customer_id))) "
      "  AND ($10::bigint + $11::bigint = 0 "
      "  OR EXISTS (SELECT 1 FROM s WHERE s.customer_id = c.customer_id))), "
      "t AS (SELECT count(*) AS n FROM m) "
      "SELECT t.n, m.customer_id FROM t LEFT JOIN m ON " BY_ID("m.customer_id") " > $8::text "
      "ORDER BY " BY_ID("m.customer_id") " LIMIT $9::int");

  // RFM. $2 as_of (µs), $3 segment filter for rows (0: all), $4 cursor (last customer id),
  // $5 rows to fetch (0: none). Kind 0 rows are per-segment counts, kind 1 rows are customers;
  // both come from one snapshot. Segment numbers are the RfmSegment enum's.
  db.Prepare(
      "analytics_rfm",
      "WITH c AS (SELECT o.customer_id, max(o.placed_at) AS last_at, count(*) AS frequency, "
      "  sum(o.revenue_minor)::bigint AS monetary FROM orders.orders o "
      "  WHERE o.store_id = $1 AND " COUNTED " AND o.placed_at <= " AS_OF
      "  GROUP BY o.customer_id), "
      "s AS (SELECT c.*, "
      "  ntile(5) OVER (ORDER BY c.last_at, " BY_ID("c.customer_id") ") AS r, "
      "  ntile(5) OVER (ORDER BY c.frequency, " BY_ID("c.customer_id") ") AS f, "
      "  ntile(5) OVER (ORDER BY c.monetary, " BY_ID("c.customer_id") ") AS m FROM c), "
      "g AS (SELECT s.*, CASE "
      "  WHEN s.r >= 4 AND s.frequency = 1 THEN 4 "                 // NEW
      "  WHEN s.r >= 4 AND s.f >= 4 AND s.m >= 4 THEN 1 "           // CHAMPIONS
      "  WHEN s.r >= 3 AND s.f >= 4 THEN 2 "                        // LOYAL
      "  WHEN s.r >= 3 THEN 3 "                                     // POTENTIAL
      "  WHEN s.f >= 3 AND s.frequency >= 2 THEN 5 "                // AT_RISK (r <= 2)
      "  WHEN s.r = 2 THEN 6 "                                      // HIBERNATING
      "  ELSE 7 END AS segment FROM s) "                            // LOST (r = 1)
      "SELECT u.* FROM ("
      "SELECT 0 AS kind, g.segment, count(*) AS customers, sum(g.monetary)::bigint AS revenue, "
      "  NULL::text AS customer_id, NULL::bigint AS recency_days, NULL::bigint AS frequency, "
      "  NULL::bigint AS monetary, NULL::int AS r, NULL::int AS f, NULL::int AS m, "
      "  NULL::bigint AS last_micros FROM g GROUP BY g.segment "
      "UNION ALL "
      "(SELECT 1, g.segment, NULL, NULL, g.customer_id, "
      "  floor(extract(epoch FROM " AS_OF " - g.last_at) / 86400)::bigint, g.frequency, "
      "  g.monetary, g.r, g.f, g.m, " MICROS("g.last_at") " FROM g "
      "  WHERE ($3::int = 0 OR g.segment = $3::int) AND " BY_ID("g.customer_id") " > $4::text "
      "  ORDER BY " BY_ID("g.customer_id") " LIMIT $5::int)"
      ") u ORDER BY u.kind, " BY_ID("u.customer_id") ", u.segment");
}

ReportSettings::ReportSettings(pqxx::transaction_base& tx) : tx_(tx) {
  tx_.exec_prepared("analytics_settings");
}

ReportSettings::~ReportSettings() {
  try {
    tx_.exec("RESET jit; RESET work_mem; RESET random_page_cost; RESET plan_cache_mode");
  } catch (...) {
    // A broken connection is discarded by Database::Read; nothing to restore then.
  }
}

bool AnalyticsStore::TimeZoneKnown(pqxx::transaction_base& tx, const std::string& time_zone) const {
  {
    std::lock_guard lock(zones_mutex_);
    if (known_zones_.contains(time_zone)) return true;
  }
  const bool known = tx.exec_prepared1("analytics_time_zone_known", time_zone)[0].as<bool>();
  if (known) {
    std::lock_guard lock(zones_mutex_);
    known_zones_.insert(time_zone);
  }
  return known;
}

v1::RetentionReportResponse AnalyticsStore::Retention(pqxx::transaction_base& tx,
                                                      const std::string& store_id,
                                                      const LocalPeriod& p, int window_days) const {
  const auto row = tx.exec_prepared1("analytics_retention", store_id, p.start_date, p.end_date,
                                     p.time_zone, window_days);
  v1::RetentionReportResponse out;
  const int64_t s = Int(row[0]), e = Int(row[1]), n = Int(row[2]);
  const int64_t retained = Int(row[4]);
  out.set_customers_at_start(s);
  out.set_customers_at_end(e);
  out.set_new_customers(n);
  out.set_acquired_and_lost(Int(row[3]));
  out.set_retained_customers(retained);
  out.set_reactivated_customers(Int(row[5]));
  out.set_lost_customers(s - retained);
  *out.mutable_retention_rate() = MakeRatio(e - n, s);
  *out.mutable_cohort_retention_rate() = MakeRatio(retained, s);
  return out;
}

v1::RepeatCustomerRevenueResponse AnalyticsStore::RepeatRevenue(pqxx::transaction_base& tx,
                                                                const std::string& store_id,
                                                                const LocalPeriod& p) const {
  const auto row = tx.exec_prepared1("analytics_repeat_revenue", store_id, p.start_date,
                                     p.end_date, p.time_zone);
  v1::RepeatCustomerRevenueResponse out;
  out.set_total_revenue_minor(Int(row[0]));
  out.set_repeat_revenue_minor(Int(row[1]));
  out.set_customers(Int(row[2]));
  out.set_repeat_customers(Int(row[3]));
  *out.mutable_repeat_revenue_share() = MakeRatio(Int(row[1]), Int(row[0]));
  return out;
}

v1::RevenueConcentrationResponse AnalyticsStore::Concentration(pqxx::transaction_base& tx,
                                                               const std::string& store_id,
                                                               const LocalPeriod& p,
                                                               int top_percent) const {
  const auto row = tx.exec_prepared1("analytics_concentration", store_id, p.start_date,
                                     p.end_date, p.time_zone, top_percent);
  v1::RevenueConcentrationResponse out;
  out.set_customers(Int(row[0]));
  out.set_top_customers(Int(row[1]));
  out.set_total_revenue_minor(Int(row[2]));
  out.set_top_revenue_minor(Int(row[3]));
  *out.mutable_top_revenue_share() = MakeRatio(Int(row[3]), Int(row[2]));
  return out;
}

v1::TopCustomersResponse AnalyticsStore::Top(pqxx::transaction_base& tx,
                                             const std::string& store_id, const LocalPeriod& p,
                                             int top_percent, int64_t limit, int64_t after_rank,
                                             int page_size) const {
  const auto rows = tx.exec_prepared("analytics_top_customers", store_id, p.start_date,
                                     p.end_date, p.time_zone, top_percent, limit, after_rank,
                                     page_size + 1);
  v1::TopCustomersResponse out;
  for (const auto& row : rows) {
    out.set_period_customers(Int(row[0]));
    out.set_selected_customers(Int(row[1]));
    if (row[2].is_null()) continue;
    if (out.customers_size() == page_size) {
      out.set_next_page_token(std::to_string(out.customers(page_size - 1).rank()));
      break;
    }
    auto* c = out.add_customers();
    c->set_customer_id(row[2].as<std::string>());
    c->set_revenue_minor(Int(row[3]));
    c->set_orders(Int(row[4]));
    c->set_rank(Int(row[5]));
  }
  return out;
}

v1::LapsedCustomersResponse AnalyticsStore::Lapsed(pqxx::transaction_base& tx,
                                                   const std::string& store_id,
                                                   int64_t as_of_micros, int days,
                                                   int64_t after_micros,
                                                   const std::string& after_customer_id,
                                                   int page_size) const {
  const auto rows = tx.exec_prepared("analytics_lapsed", store_id, as_of_micros, days, after_micros,
                                     after_customer_id, page_size + 1);
  v1::LapsedCustomersResponse out;
  int64_t last_micros = 0;
  for (const auto& row : rows) {
    out.set_total_size(Int(row[0]));
    if (row[1].is_null()) continue;
    if (out.customers_size() == page_size) {
      const auto& last = out.customers(page_size - 1);
      out.set_next_page_token(
          common::page_token::FormatTimeId({last_micros, last.customer_id()}, ' '));
      break;
    }
    auto* c = out.add_customers();
    c->set_customer_id(row[1].as<std::string>());
    last_micros = row[2].as<int64_t>();
    *c->mutable_last_order_at() = Time(row[2]);
    c->set_days_since_last_order(Int(row[3]));
    c->set_orders(Int(row[4]));
    c->set_revenue_minor(Int(row[5]));
  }
  return out;
}

v1::CustomerValueResponse AnalyticsStore::Value(pqxx::transaction_base& tx,
                                                const std::string& store_id,
                                                const LocalPeriod& p) const {
  const auto row = tx.exec_prepared1("analytics_customer_value", store_id, p.start_date,
                                     p.end_date, p.time_zone);
  v1::CustomerValueResponse out;
  const int64_t orders = Int(row[0]), revenue = Int(row[1]), customers = Int(row[2]);
  const int64_t life_revenue = Int(row[3]), life_orders = Int(row[4]);
  out.set_orders(orders);
  out.set_revenue_minor(revenue);
  out.set_average_order_value_minor(orders == 0 ? 0 : revenue / orders);
  out.set_customers(customers);
  out.set_lifetime_revenue_minor(life_revenue);
  out.set_lifetime_orders(life_orders);
  out.set_customer_lifetime_value_minor(customers == 0 ? 0 : life_revenue / customers);
  out.set_average_lifetime_orders_centi(customers == 0 ? 0 : life_orders * 100 / customers);
  return out;
}

v1::SegmentCustomersResponse AnalyticsStore::Segment(pqxx::transaction_base& tx,
                                                     const std::string& store_id,
                                                     const LocalPeriod& p,
                                                     const std::vector<std::string>& skus,
                                                     const std::vector<std::string>& categories,
                                                     int discount_use,
                                                     const SpendBand& spend,
                                                     const std::string& after_customer_id,
                                                     int page_size) const {
  const auto rows = tx.exec_prepared("analytics_segment", store_id, p.start_date, p.end_date,
                                     p.time_zone, common::PgTextArray(skus),
                                     common::PgTextArray(categories), discount_use,
                                     after_customer_id, page_size + 1, spend.min_minor,
                                     spend.max_minor);
  v1::SegmentCustomersResponse out;
  for (const auto& row : rows) {
    out.set_total_size(Int(row[0]));
    if (row[1].is_null()) continue;
    if (out.customer_ids_size() == page_size) {
      out.set_next_page_token(out.customer_ids(page_size - 1));
      break;
    }
    out.add_customer_ids(row[1].as<std::string>());
  }
  return out;
}

v1::RfmReportResponse AnalyticsStore::Rfm(pqxx::transaction_base& tx, const std::string& store_id,
                                          int64_t as_of_micros, int segment,
                                          const std::string& after_customer_id,
                                          int page_size) const {
  const auto rows = tx.exec_prepared("analytics_rfm", store_id, as_of_micros, segment,
                                     after_customer_id, page_size == 0 ? 0 : page_size + 1);
  v1::RfmReportResponse out;
  int64_t counts[8] = {0}, revenue[8] = {0};
  for (const auto& row : rows) {
    const int seg = row[1].as<int>();
    if (row[0].as<int>() == 0) {
      if (seg >= 1 && seg <= 7) {
        counts[seg] = Int(row[2]);
        revenue[seg] = Int(row[3]);
      }
      continue;
    }
    if (out.rows_size() == page_size) {
      out.set_next_page_token(out.rows(page_size - 1).customer_id());
      continue;
    }
    auto* c = out.add_rows();
    c->set_customer_id(row[4].as<std::string>());
    c->set_recency_days(Int(row[5]));
    c->set_frequency(Int(row[6]));
    c->set_monetary_minor(Int(row[7]));
    c->set_recency_score(row[8].as<int>());
    c->set_frequency_score(row[9].as<int>());
    c->set_monetary_score(row[10].as<int>());
    c->set_segment(static_cast<v1::RfmSegment>(seg));
    *c->mutable_last_order_at() = Time(row[11]);
  }
  int64_t total = 0;
  for (int seg = 1; seg <= 7; ++seg) {
    auto* s = out.add_segments();
    s->set_segment(static_cast<v1::RfmSegment>(seg));
    s->set_customers(counts[seg]);
    s->set_revenue_minor(revenue[seg]);
    total += counts[seg];
  }
  out.set_customers(total);
  return out;
}

#undef COUNTED
#undef P_START
#undef P_END
#undef IN_PERIOD
#undef PERIOD_CUSTOMERS
#undef MICROS
#undef AS_OF
#undef BY_ID

}  // namespace loyalty::orders
