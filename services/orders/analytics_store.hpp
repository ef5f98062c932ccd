// The analytics SQL of the orders schema: every report statement, named and prepared in one place.
// Definitions of every figure: protos/loyalty/orders/v1/analytics.proto. All arithmetic on
// customers and money happens in SQL (CTEs and window functions); only the final ratios and
// averages are divided here.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "loyalty/common/db.hpp"
#include "loyalty/orders/v1/analytics.pb.h"

namespace loyalty::orders {

// A validated period: local dates "YYYY-MM-DD", [start_date, end_date), read in time_zone.
struct LocalPeriod {
  std::string start_date;
  std::string end_date;
  std::string time_zone;
};

// A customer's revenue in a period: at least min_minor and, unless max_minor is 0, at most
// max_minor. Both 0: no band.
struct SpendBand {
  int64_t min_minor = 0;
  int64_t max_minor = 0;
};

// floor(numerator × 10,000 ÷ denominator) basis points; 0 when the denominator is 0.
v1::Ratio MakeRatio(int64_t numerator, int64_t denominator);

// While alive, the connection runs reports with settings measured on 1,000,000 orders of 100,000
// customers (services/orders/bench):
// - plan_cache_mode force_custom_plan: every execution is planned with its parameters (a period
//   of a day and one of a year need different plans). Without it PostgreSQL switches a prepared
//   statement to a generic plan after 5 executions, and SegmentCustomers took 5 s instead of
//   1.2 s (the generic plan cannot see which of its CTEs the parameters switch off);
// - jit off: compiling these statements cost ~0.5 s of a 2 s report and saved less;
// - work_mem 64 MB: the per-customer hashes and sorts stay in memory instead of spilling;
// - random_page_cost 1.1: a store's indexes are expected cached or on SSD; at the default 4 the
//   planner prefers a sequential scan and a hash over reading orders_counted_by_customer in
//   customer order (1.0 s instead of 0.23 s for the RFM aggregate).
// All are reset when it goes, since the connection returns to the service's shared pool.
// Construct it inside Database::Read, before the report's statement.
class ReportSettings {
 public:
  explicit ReportSettings(pqxx::transaction_base& tx);
  ~ReportSettings();
  ReportSettings(const ReportSettings&) = delete;
  ReportSettings& operator=(const ReportSettings&) = delete;

 private:
  pqxx::transaction_base& tx_;
};

class AnalyticsStore {
 public:
  // Registers the statements (and "analytics_settings", used by ReportSettings).
  explicit AnalyticsStore(common::Database& db);

  // Whether PostgreSQL knows the IANA zone (pg_timezone_names). Known names are cached.
  bool TimeZoneKnown(pqxx::transaction_base& tx, const std::string& time_zone) const;

  v1::RetentionReportResponse Retention(pqxx::transaction_base& tx, const std::string& store_id,
                                        const LocalPeriod& period, int window_days) const;
  v1::RepeatCustomerRevenueResponse RepeatRevenue(pqxx::transaction_base& tx,
                                                  const std::string& store_id,
                                                  const LocalPeriod& period) const;
  v1::RevenueConcentrationResponse Concentration(pqxx::transaction_base& tx,
                                                 const std::string& store_id,
                                                 const LocalPeriod& period, int top_percent) const;
  // Ranks after `after_rank`, up to `page_size` of them; exactly one of top_percent and limit is
  // positive.
  v1::TopCustomersResponse Top(pqxx::transaction_base& tx, const std::string& store_id,
                               const LocalPeriod& period, int top_percent, int64_t limit,
                               int64_t after_rank, int page_size) const;
  // Lapsed customers after the cursor (last order time, customer id) in that order; the cursor
  // time is -infinity (INT64_MIN) for the first page. Does not set next_page_token or as_of.
  v1::LapsedCustomersResponse Lapsed(pqxx::transaction_base& tx, const std::string& store_id,
                                     int64_t as_of_micros, int days, int64_t after_micros,
                                     const std::string& after_customer_id, int page_size) const;
  v1::CustomerValueResponse Value(pqxx::transaction_base& tx, const std::string& store_id,
                                  const LocalPeriod& period) const;
  // discount_use: 0 any, 1 used, 2 not used (the enum's numbers). Ids after `after_customer_id`.
  v1::SegmentCustomersResponse Segment(pqxx::transaction_base& tx, const std::string& store_id,
                                       const LocalPeriod& period,
                                       const std::vector<std::string>& skus,
                                       const std::vector<std::string>& categories,
                                       int discount_use, const SpendBand& spend,
                                       const std::string& after_customer_id,
                                       int page_size) const;
  // Counts of every segment, and up to `page_size` rows (0: none) of `segment` (0: all) after
  // `after_customer_id`. Does not set next_page_token or as_of.
  v1::RfmReportResponse Rfm(pqxx::transaction_base& tx, const std::string& store_id,
                            int64_t as_of_micros, int segment, const std::string& after_customer_id,
                            int page_size) const;

 private:
  mutable std::mutex zones_mutex_;
  mutable std::set<std::string> known_zones_;
};

}  // namespace loyalty::orders
