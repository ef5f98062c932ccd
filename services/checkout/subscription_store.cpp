#include "subscription_store.hpp"

#include <google/protobuf/util/time_util.h>

#include "loyalty/common/sql_time.hpp"

namespace loyalty::checkout {

using gateway::v1::SubscriptionStatus;
using google::protobuf::util::TimeUtil;

namespace {

#define ROW_COLUMNS                                                                         \
  "store_id, subscription_id, customer_id, lines, interval_days, notice_hours, status, " \
  MICROS("next_renewal_at") ", renewals, last_order_id, " MICROS("started_at") ", "       \
  "COALESCE(" MICROS("cancelled_at") ", 0), event_sequence"

const char* StatusText(SubscriptionStatus status) {
  switch (status) {
    case gateway::v1::SUBSCRIPTION_STATUS_PAUSED:
      return "paused";
    case gateway::v1::SUBSCRIPTION_STATUS_CANCELLED:
      return "cancelled";
    default:
      return "active";
  }
}

SubscriptionStatus StatusOf(const std::string& text) {
  if (text == "paused") return gateway::v1::SUBSCRIPTION_STATUS_PAUSED;
  if (text == "cancelled") return gateway::v1::SUBSCRIPTION_STATUS_CANCELLED;
  return gateway::v1::SUBSCRIPTION_STATUS_ACTIVE;
}

SubscriptionRow RowOf(const pqxx::row& r) {
  SubscriptionRow row;
  row.store_id = r[0].as<std::string>();
  row.subscription_id = r[1].as<std::string>();
  row.terms.customer_id = r[2].as<std::string>();
  row.lines.ParseFromString(pqxx::binarystring(r[3]).str());
  row.terms.interval_days = r[4].as<int32_t>();
  row.terms.notice_hours = r[5].as<int32_t>();
  row.terms.status = StatusOf(r[6].as<std::string>());
  row.terms.next_renewal_us = r[7].as<int64_t>();
  row.renewals = r[8].as<int64_t>();
  row.last_order_id = r[9].as<std::string>();
  row.started_us = r[10].as<int64_t>();
  row.cancelled_us = r[11].as<int64_t>();
  row.event_sequence = r[12].as<int64_t>();
  return row;
}

}  // namespace

gateway::v1::Subscription ToApi(const SubscriptionRow& row) {
  gateway::v1::Subscription s = row.lines;
  s.set_subscription_id(row.subscription_id);
  s.set_customer_id(row.terms.customer_id);
  s.set_interval_days(row.terms.interval_days);
  s.set_notice_hours(row.terms.notice_hours);
  s.set_status(row.terms.status);
  *s.mutable_next_renewal_at() = TimeUtil::MicrosecondsToTimestamp(row.terms.next_renewal_us);
  s.set_renewals(row.renewals);
  *s.mutable_started_at() = TimeUtil::MicrosecondsToTimestamp(row.started_us);
  if (row.cancelled_us != 0) {
    *s.mutable_cancelled_at() = TimeUtil::MicrosecondsToTimestamp(row.cancelled_us);
  }
  s.set_last_order_id(row.last_order_id);
  return s;
}

SubscriptionStore::SubscriptionStore(common::Database& db) {
  db.Prepare("subscription_insert",
             "INSERT INTO checkout.subscriptions (store_id, subscription_id, customer_id, lines, "
             "  interval_days, notice_hours, status, next_renewal_at, announce_at, started_at) "
             "VALUES ($1, $2, $3, $4, $5, $6, 'active', " FROM_MICROS("$7") ", "
             FROM_MICROS("$8") ", " FROM_MICROS("$9") ") ON CONFLICT DO NOTHING");
  db.Prepare("subscription_find",
             "SELECT " ROW_COLUMNS " FROM checkout.subscriptions "
             "WHERE store_id = $1 AND subscription_id = $2");
  db.Prepare("subscription_find_lock",
             "SELECT " ROW_COLUMNS " FROM checkout.subscriptions "
             "WHERE store_id = $1 AND subscription_id = $2 FOR UPDATE");
  // A renewal moved by the change is announced again when its notice begins.
  db.Prepare("subscription_save_terms",
             "UPDATE checkout.subscriptions SET status = $3, "
             "  announced = announced AND next_renewal_at = " FROM_MICROS("$4") ", "
             "  next_renewal_at = " FROM_MICROS("$4") ", announce_at = " FROM_MICROS("$5") ", "
             "  cancelled_at = CASE WHEN $3 = 'cancelled' "
             "    THEN COALESCE(cancelled_at, " FROM_MICROS("$6") ") END "
             "WHERE store_id = $1 AND subscription_id = $2");
  db.Prepare("subscription_renewal_in_progress",
             "SELECT EXISTS (SELECT 1 FROM checkout.checkouts WHERE store_id = $1 "
             "  AND subscription_id = $2 AND renewal_at = " FROM_MICROS("$3") " "
             "  AND state = 'started')");
  db.Prepare("subscription_of_customer",
             "SELECT " ROW_COLUMNS " FROM checkout.subscriptions "
             "WHERE store_id = $1 AND customer_id = $2 ORDER BY started_at, subscription_id "
             "LIMIT $3");
  db.Prepare("subscription_insert_renewal",
             "INSERT INTO checkout.subscription_renewals "
             "  (store_id, order_id, subscription_id, renewal_at, bonus_points) "
             "VALUES ($1, $2, $3, " FROM_MICROS("$4") ", $5) ON CONFLICT DO NOTHING");
  db.Prepare("subscription_save_renewed",
             "UPDATE checkout.subscriptions SET next_renewal_at = " FROM_MICROS("$3") ", "
             "  announce_at = " FROM_MICROS("$4") ", announced = false, "
             "  renewals = renewals + 1, last_order_id = $5 "
             "WHERE store_id = $1 AND subscription_id = $2");
  db.Prepare("subscription_claim_announcements",
             "UPDATE checkout.subscriptions s SET announced = true, "
             "  event_sequence = s.event_sequence + 1 "
             "FROM (SELECT store_id, subscription_id FROM checkout.subscriptions "
             "      WHERE status = 'active' AND NOT announced "
             "      AND announce_at <= " FROM_MICROS("$2") " AND ($1 = '' OR store_id = $1) "
             "      ORDER BY announce_at LIMIT $3 FOR UPDATE SKIP LOCKED) due "
             "WHERE s.store_id = due.store_id AND s.subscription_id = due.subscription_id "
             "RETURNING s.store_id, s.subscription_id, s.customer_id, s.lines, s.interval_days, "
             "  s.notice_hours, s.status, " MICROS("s.next_renewal_at") ", s.renewals, "
             "  s.last_order_id, " MICROS("s.started_at") ", 0, s.event_sequence");
  db.Prepare("subscription_report",
             "SELECT "
             " (SELECT count(*) FROM checkout.subscriptions WHERE store_id = $1 "
             "   AND started_at >= " FROM_MICROS("$2") " AND started_at < " FROM_MICROS("$3") "), "
             " (SELECT count(*) FROM checkout.subscriptions WHERE store_id = $1 "
             "   AND cancelled_at >= " FROM_MICROS("$2") " AND cancelled_at < " FROM_MICROS("$3") "), "
             " r.renewals, r.bonus, "
             " (SELECT count(*) FILTER (WHERE status = 'active') FROM checkout.subscriptions "
             "   WHERE store_id = $1), "
             " (SELECT count(*) FILTER (WHERE status = 'paused') FROM checkout.subscriptions "
             "   WHERE store_id = $1) "
             "FROM (SELECT count(*) AS renewals, COALESCE(sum(bonus_points), 0) AS bonus "
             "      FROM checkout.subscription_renewals WHERE store_id = $1 "
             "      AND placed_at >= " FROM_MICROS("$2") " AND placed_at < " FROM_MICROS("$3") ") r");
}

bool SubscriptionStore::Insert(pqxx::transaction_base& tx, const SubscriptionRow& row) const {
  const std::string lines = row.lines.SerializeAsString();
  return tx.exec_prepared("subscription_insert", row.store_id, row.subscription_id,
                          row.terms.customer_id, pqxx::binarystring(lines),
                          row.terms.interval_days, row.terms.notice_hours,
                          row.terms.next_renewal_us, NoticeStart(row.terms), row.started_us)
             .affected_rows() == 1;
}

std::optional<SubscriptionRow> SubscriptionStore::Find(pqxx::transaction_base& tx,
                                                       const std::string& store_id,
                                                       const std::string& subscription_id,
                                                       bool lock) const {
  const auto r = tx.exec_prepared(lock ? "subscription_find_lock" : "subscription_find", store_id,
                                  subscription_id);
  if (r.empty()) return std::nullopt;
  return RowOf(r[0]);
}

void SubscriptionStore::SaveTerms(pqxx::transaction_base& tx, const SubscriptionRow& row) const {
  tx.exec_prepared("subscription_save_terms", row.store_id, row.subscription_id,
                   StatusText(row.terms.status), row.terms.next_renewal_us,
                   NoticeStart(row.terms), row.cancelled_us);
}

bool SubscriptionStore::RenewalInProgress(pqxx::transaction_base& tx,
                                          const std::string& store_id,
                                          const std::string& subscription_id,
                                          int64_t renewal_us) const {
  return tx.exec_prepared1("subscription_renewal_in_progress", store_id, subscription_id,
                           renewal_us)[0]
      .as<bool>();
}

std::vector<SubscriptionRow> SubscriptionStore::OfCustomer(pqxx::transaction_base& tx,
                                                           const std::string& store_id,
                                                           const std::string& customer_id,
                                                           int limit) const {
  std::vector<SubscriptionRow> rows;
  for (const auto& r : tx.exec_prepared("subscription_of_customer", store_id, customer_id, limit)) {
    rows.push_back(RowOf(r));
  }
  return rows;
}

bool SubscriptionStore::InsertRenewal(pqxx::transaction_base& tx, const std::string& store_id,
                                      const std::string& subscription_id,
                                      const std::string& order_id, int64_t renewal_us,
                                      int64_t bonus_points) const {
  return tx.exec_prepared("subscription_insert_renewal", store_id, order_id, subscription_id,
                          renewal_us, bonus_points)
             .affected_rows() == 1;
}

void SubscriptionStore::SaveRenewed(pqxx::transaction_base& tx, const SubscriptionRow& row,
                                    const std::string& order_id) const {
  tx.exec_prepared("subscription_save_renewed", row.store_id, row.subscription_id,
                   row.terms.next_renewal_us, NoticeStart(row.terms), order_id);
}

std::vector<SubscriptionRow> SubscriptionStore::ClaimDueAnnouncements(pqxx::transaction_base& tx,
                                                                      const std::string& store_id,
                                                                      int64_t as_of_us,
                                                                      int limit) const {
  std::vector<SubscriptionRow> rows;
  for (const auto& r :
       tx.exec_prepared("subscription_claim_announcements", store_id, as_of_us, limit)) {
    rows.push_back(RowOf(r));
  }
  return rows;
}

gateway::v1::SubscriptionReportResponse SubscriptionStore::Report(pqxx::transaction_base& tx,
                                                                  const std::string& store_id,
                                                                  int64_t from_us,
                                                                  int64_t to_us) const {
  const auto r = tx.exec_prepared1("subscription_report", store_id, from_us, to_us);
  gateway::v1::SubscriptionReportResponse report;
  report.set_started(r[0].as<int64_t>());
  report.set_cancelled(r[1].as<int64_t>());
  report.set_renewals(r[2].as<int64_t>());
  report.set_renewal_bonus_points(r[3].as<int64_t>());
  report.set_active(r[4].as<int64_t>());
  report.set_paused(r[5].as<int64_t>());
  return report;
}

}  // namespace loyalty::checkout
