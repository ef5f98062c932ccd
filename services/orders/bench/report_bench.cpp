// loyalty-orders-report-bench: times every analytics report's SQL (through AnalyticsStore, as the
// RPCs run it) on a synthetic store of 1,000,000 orders from 100,000 customers. Not a test.
//
//   loyalty-orders-report-bench --url postgresql://loyalty@127.0.0.1:PORT/loyalty
//       [--orders 1000000] [--customers 100000] [--runs 5] [--reload] [--explain]
//
// The URL's database is migrated with the orders migrations (a no-op when it already is), then
// the store "bench-store" is filled with generate_series SQL unless it already holds --orders
// rows (--reload deletes and refills it). Each report runs --runs times; the first run, the
// median and the fastest are printed (on a shared machine the fastest is the least disturbed).
// --explain prints EXPLAIN (ANALYZE, BUFFERS) of each statement.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "analytics_store.hpp"
#include "loyalty/common/db.hpp"
#include "loyalty/common/migrations.hpp"

namespace loyalty::orders {
const common::MigrationSet& Migrations();  // generated from migrations/
}

namespace {

using namespace loyalty;
using Ms = std::chrono::duration<double, std::milli>;

constexpr const char* kStore = "bench-store";

struct Options {
  std::string url;
  long orders = 1000000;
  long customers = 100000;
  int runs = 5;
  bool reload = false;
  bool explain = false;
};

Options Parse(int argc, char** argv) {
  Options o;
  if (const char* env = std::getenv("LOYALTY_DATABASE_URL")) o.url = env;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << arg << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--url") {
      o.url = next();
    } else if (arg == "--orders") {
      o.orders = std::stol(next());
    } else if (arg == "--customers") {
      o.customers = std::stol(next());
    } else if (arg == "--runs") {
      o.runs = std::max(1, std::stoi(next()));
    } else if (arg == "--reload") {
      o.reload = true;
    } else if (arg == "--explain") {
      o.explain = true;
    } else {
      std::cerr << "usage: loyalty-orders-report-bench --url URL [--orders N] [--customers N] "
                   "[--runs N] [--reload] [--explain]\n";
      std::exit(2);
    }
  }
  if (o.url.empty()) {
    std::cerr << "--url (or LOYALTY_DATABASE_URL) is required\n";
    std::exit(2);
  }
  return o;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Synthetic history, 2023-01-01 to 2025-01-01 (UTC), deterministic (setseed):
// - order i belongs to customer floor(customers × u^1.5) (u uniform): a long tail where the first
//   customers order hundreds of times and the last ones a handful;
// - 1 % abandoned tombstones, 3 % cancelled (revenue 0), 6 % placed, 90 % fulfilled;
// - 1 to 3 lines of 1,000 SKUs in 50 categories, 5 % of lines partly refunded;
// - 20 % of orders with a discount row;
// - rows stored in placed_at order (order ids are not), as a live store's mostly are.
// Order revenue is drawn on its own (not summed from the lines): the reports only read it.
void Load(pqxx::connection& conn, const Options& o) {
  const auto started = std::chrono::steady_clock::now();
  pqxx::work tx(conn);
  tx.exec("SET LOCAL synchronous_commit = off");
  tx.exec("SET LOCAL maintenance_work_mem = '256MB'");
  tx.exec("SELECT setseed(0.42)");
  tx.exec_params(
      "INSERT INTO orders.orders (store_id, order_id, status, customer_id, currency_code, "
      "  subtotal_minor, discount_minor, points_amount_minor, points_paid, shipping_minor, "
      "  total_minor, revenue_minor, imported, earns_points, placed_at, fulfilled_at, "
      "  cancelled_at, abandoned_at) "
      "SELECT $1, 'o' || lpad(i::text, 8, '0'), st, "
      "  CASE WHEN st = 'abandoned' THEN NULL "
      "  ELSE 'c' || lpad(floor($3::bigint * power(u, 1.5))::bigint::text, 7, '0') END, "
      "  'EUR', gross, disc, 0, 0, 499, gross - disc + 499, "
      "  CASE WHEN st IN ('placed', 'fulfilled') THEN gross - disc ELSE 0 END, i % 10 = 0, true, "
      "  CASE WHEN st = 'abandoned' THEN NULL ELSE at END, "
      "  CASE WHEN st = 'fulfilled' THEN at + interval '2 days' END, "
      "  CASE WHEN st = 'cancelled' THEN at + interval '1 hour' END, "
      "  CASE WHEN st = 'abandoned' THEN at END "
      "FROM (SELECT i, u, gross, CASE WHEN d < 0.2 THEN gross / 10 ELSE 0 END AS disc, at, "
      "  CASE WHEN s < 0.01 THEN 'abandoned' WHEN s < 0.04 THEN 'cancelled' "
      "  WHEN s < 0.10 THEN 'placed' ELSE 'fulfilled' END AS st "
      "  FROM (SELECT i, random() AS u, random() AS s, random() AS d, "
      "    500 + floor(random() * 20000)::bigint AS gross, "
      "    timestamptz '2023-01-01 00:00:00+00' + random() * interval '731 days' AS at "
      "    FROM generate_series(1, $2::bigint) AS i) r) g "
      // Rows in time order, as a store's orders mostly are (imports excepted).
      "ORDER BY at",
      kStore, o.orders, o.customers);
  std::cout << "  orders loaded in " << Seconds(started) << " s\n";
  tx.exec_params(
      "INSERT INTO orders.order_lines (store_id, order_id, line_id, position, sku, category, "
      "  unit_price_minor, quantity, gift_wrappable, gross_minor, discount_minor, "
      "  points_amount_minor, points_paid, net_minor, refunded_quantity, refunded_minor) "
      "SELECT store_id, order_id, 'l' || k, k, 'sku-' || lpad(p::text, 4, '0'), "
      "  'cat-' || lpad((p % 50)::text, 2, '0'), price, qty, false, price * qty, 0, 0, 0, "
      "  price * qty, CASE WHEN refund THEN 1 ELSE 0 END, CASE WHEN refund THEN price ELSE 0 END "
      "FROM (SELECT o.store_id, o.order_id, k, floor(random() * 1000)::int AS p, "
      "  100 + floor(random() * 5000)::bigint AS price, 1 + floor(random() * 3)::int AS qty, "
      "  random() < 0.05 AS refund "
      "  FROM orders.orders o CROSS JOIN LATERAL generate_series(1, 1 + (hashtext(o.order_id) & 3) "
      "    % 3) AS k WHERE o.store_id = $1 AND o.status <> 'abandoned') l",
      kStore);
  std::cout << "  lines loaded in " << Seconds(started) << " s\n";
  tx.exec_params(
      "INSERT INTO orders.order_discounts (store_id, order_id, position, code, amount_minor) "
      "SELECT store_id, order_id, 0, 'SPRING10', discount_minor FROM orders.orders "
      "WHERE store_id = $1 AND discount_minor > 0",
      kStore);
  tx.commit();
  std::cout << "  discounts loaded in " << Seconds(started) << " s\n";
  pqxx::nontransaction vacuum(conn);
  vacuum.exec("VACUUM (FREEZE, ANALYZE) orders.orders, orders.order_lines, orders.order_discounts");
  std::cout << "  loaded and vacuumed in " << Seconds(started) << " s\n";
}

struct Report {
  std::string name;
  std::function<std::string(pqxx::transaction_base&)> run;  // returns a one-line summary
  std::string explain;                                      // EXECUTE statement for --explain
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  {
    auto conn = common::Connect(o.url);
    const int applied =
        common::ApplyMigrations(*conn, common::WithCommonTables(orders::Migrations()));
    std::cout << "migrations applied: " << applied << "\n";
    long have = 0;
    {
      pqxx::nontransaction tx(*conn);
      have = tx.exec_params1("SELECT count(*) FROM orders.orders WHERE store_id = $1", kStore)[0]
                 .as<long>();
    }
    if (o.reload || have != o.orders) {
      if (have > 0) {
        pqxx::work tx(*conn);
        for (const char* table : {"order_discounts", "order_lines", "orders"}) {
          tx.exec_params(std::string("DELETE FROM orders.") + table + " WHERE store_id = $1",
                         kStore);
        }
        tx.commit();
      }
      std::cout << "loading " << o.orders << " orders of " << o.customers << " customers\n";
      Load(*conn, o);
    } else {
      std::cout << "store " << kStore << " already holds " << have << " orders\n";
    }
  }

  common::Database db(o.url, 1);
  db.SetAvailable(true);
  orders::AnalyticsStore store(db);
  const orders::LocalPeriod year{"2024-01-01", "2025-01-01", "Europe/Paris"};
  const orders::LocalPeriod quarter{"2024-01-01", "2024-04-01", "Europe/Paris"};
  const int64_t as_of = 1735689600LL * 1000000;  // 2025-01-01T00:00:00Z
  const std::string s = std::string("'") + kStore + "'";
  const std::string y = "'2024-01-01', '2025-01-01', 'Europe/Paris'";
  const std::string q = "'2024-01-01', '2024-04-01', 'Europe/Paris'";

  std::vector<Report> reports = {
      {"RetentionReport (Q1 2024, window 90 d)",
       [&](pqxx::transaction_base& tx) {
         auto r = store.Retention(tx, kStore, quarter, 90);
         return "S=" + std::to_string(r.customers_at_start()) +
                " E=" + std::to_string(r.customers_at_end()) +
                " N=" + std::to_string(r.new_customers()) +
                " bp=" + std::to_string(r.retention_rate().basis_points());
       },
       "analytics_retention(" + s + ", " + q + ", 90)"},
      {"RepeatCustomerRevenue (2024)",
       [&](pqxx::transaction_base& tx) {
         auto r = store.RepeatRevenue(tx, kStore, year);
         return "repeat share bp=" + std::to_string(r.repeat_revenue_share().basis_points()) +
                " customers=" + std::to_string(r.customers());
       },
       "analytics_repeat_revenue(" + s + ", " + y + ")"},
      {"RevenueConcentration (2024, top 20 %)",
       [&](pqxx::transaction_base& tx) {
         auto r = store.Concentration(tx, kStore, year, 20);
         return "top=" + std::to_string(r.top_customers()) +
                " share bp=" + std::to_string(r.top_revenue_share().basis_points());
       },
       "analytics_concentration(" + s + ", " + y + ", 20)"},
      {"TopCustomers (2024, top 1 %, page of 100)",
       [&](pqxx::transaction_base& tx) {
         auto r = store.Top(tx, kStore, year, 1, 0, 0, 100);
         return "selected=" + std::to_string(r.selected_customers()) +
                " first=" + (r.customers().empty() ? "-" : r.customers(0).customer_id());
       },
       "analytics_top_customers(" + s + ", " + y + ", 1, 0, 0, 101)"},
      {"LapsedCustomers (90 d, page of 100)",
       [&](pqxx::transaction_base& tx) {
         auto r = store.Lapsed(tx, kStore, as_of, 90, INT64_MIN, "", 100);
         return "lapsed=" + std::to_string(r.total_size());
       },
       "analytics_lapsed(" + s + ", " + std::to_string(as_of) +
           ", 90, -9223372036854775808, '', 101)"},
      {"CustomerValue (2024)",
       [&](pqxx::transaction_base& tx) {
         auto r = store.Value(tx, kStore, year);
         return "AOV=" + std::to_string(r.average_order_value_minor()) +
                " CLV=" + std::to_string(r.customer_lifetime_value_minor());
       },
       "analytics_customer_value(" + s + ", " + y + ")"},
      {"SegmentCustomers (2024, 3 SKUs + 1 category, discount used)",
       [&](pqxx::transaction_base& tx) {
         auto r = store.Segment(tx, kStore, year, {"sku-0001", "sku-0002", "sku-0003"}, {"cat-07"},
                                1, {}, "", 100);
         return "matching=" + std::to_string(r.total_size());
       },
       "analytics_segment(" + s + ", " + y +
           ", '{sku-0001,sku-0002,sku-0003}', '{cat-07}', 1, '', 101, 0, 0)"},
      {"SegmentCustomers (2024, no discount)",
       [&](pqxx::transaction_base& tx) {
         auto r = store.Segment(tx, kStore, year, {}, {}, 2, {}, "", 100);
         return "matching=" + std::to_string(r.total_size());
       },
       "analytics_segment(" + s + ", " + y + ", '{}', '{}', 2, '', 101, 0, 0)"},
      {"SegmentCustomers (2024, spent 50.00 to 200.00)",
       [&](pqxx::transaction_base& tx) {
         auto r = store.Segment(tx, kStore, year, {}, {}, 0, {5000, 20000}, "", 100);
         return "matching=" + std::to_string(r.total_size());
       },
       "analytics_segment(" + s + ", " + y + ", '{}', '{}', 0, '', 101, 5000, 20000)"},
      {"RfmReport (counts + page of 100)",
       [&](pqxx::transaction_base& tx) {
         auto r = store.Rfm(tx, kStore, as_of, 0, "", 100);
         return "customers=" + std::to_string(r.customers()) +
                " champions=" + std::to_string(r.segments(0).customers());
       },
       "analytics_rfm(" + s + ", " + std::to_string(as_of) + ", 0, '', 101)"},
  };

  const auto deadline = [] { return common::Clock::now() + std::chrono::minutes(5); };
  std::cout << "\nreport                                                   first ms  median ms    "
               "min ms  result\n";
  for (const auto& report : reports) {
    std::vector<double> times;
    std::string summary;
    for (int i = 0; i < o.runs; ++i) {
      const auto started = std::chrono::steady_clock::now();
      summary = db.Read(deadline(), [&](pqxx::transaction_base& tx) {
        orders::ReportSettings settings(tx);
        return report.run(tx);
      });
      times.push_back(Ms(std::chrono::steady_clock::now() - started).count());
    }
    const double first = times.front();
    std::sort(times.begin(), times.end());
    const double median = times[times.size() / 2];
    std::printf("%-56s %9.1f %10.1f %9.1f  %s\n", report.name.c_str(), first, median, times.front(),
                summary.c_str());
    std::fflush(stdout);
    if (o.explain) {
      db.Read(deadline(), [&](pqxx::transaction_base& tx) {
        orders::ReportSettings settings(tx);
        for (const auto& row : tx.exec("EXPLAIN (ANALYZE, BUFFERS) EXECUTE " + report.explain)) {
          std::cout << "    " << row[0].c_str() << "\n";
        }
      });
    }
  }
  return 0;
}
