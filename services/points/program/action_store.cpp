#include "program/action_store.hpp"

#include "loyalty/common/sql_time.hpp"

namespace loyalty::points {

// A local date's midnight in a time zone, as a timestamptz.
#define LOCAL_MIDNIGHT(date, tz) "((" date ")::date::timestamp AT TIME ZONE " tz "::text)"

ActionStore::ActionStore(common::Database& db) {
  db.Prepare("actions_record",
             "INSERT INTO points.actions (store_id, lot_id, customer_id, action, points, "
             "occurred_at) VALUES ($1, $2, $3, $4, $5, " FROM_MICROS("$6") ") "
             "ON CONFLICT DO NOTHING RETURNING 1");
  db.Prepare("actions_rewarded",
             "SELECT 1 FROM points.actions WHERE store_id = $1 AND lot_id = $2");
  db.Prepare("actions_count",
             "SELECT count(*) FROM points.actions WHERE store_id = $1 AND customer_id = $2 "
             "AND action = $3 AND occurred_at >= " LOCAL_MIDNIGHT("$4", "$6") " "
             "AND occurred_at < " LOCAL_MIDNIGHT("$5", "$6"));
  db.Prepare("actions_first_order",
             "INSERT INTO points.first_orders (store_id, customer_id, order_id, window_ends_at, "
             "state) VALUES ($1, $2, $3, " FROM_MICROS("$4") ", $5) ON CONFLICT DO NOTHING");
  db.Prepare("actions_first_order_window",
             "UPDATE points.first_orders SET window_ends_at = " FROM_MICROS("$3") " "
             "WHERE store_id = $1 AND order_id = $2 AND state = 'waiting' "
             "AND window_ends_at IS NULL");
  db.Prepare("actions_first_order_void",
             "UPDATE points.first_orders SET state = 'void' "
             "WHERE store_id = $1 AND order_id = $2 AND state = 'waiting'");
  db.Prepare("actions_first_order_state",
             "SELECT state FROM points.first_orders WHERE store_id = $1 AND customer_id = $2");
  db.Prepare("actions_first_orders_due",
             "SELECT store_id, customer_id, order_id FROM points.first_orders "
             "WHERE state = 'waiting' AND window_ends_at <= " FROM_MICROS("$2") " "
             "AND ($1 = '' OR store_id = $1) "
             "ORDER BY window_ends_at, store_id, customer_id LIMIT $3");
  db.Prepare("actions_lock_first_order",
             "SELECT order_id FROM points.first_orders WHERE store_id = $1 AND customer_id = $2 "
             "AND state = 'waiting' AND window_ends_at <= " FROM_MICROS("$3") " FOR UPDATE");
  db.Prepare("actions_first_order_rewarded",
             "UPDATE points.first_orders SET state = 'rewarded' "
             "WHERE store_id = $1 AND customer_id = $2");
  db.Prepare("actions_insert_referral",
             "INSERT INTO points.referrals (store_id, referee_id, referrer_id) VALUES ($1, $2, $3) "
             "ON CONFLICT DO NOTHING RETURNING 1");
  db.Prepare("actions_referrer_of",
             "SELECT referrer_id FROM points.referrals WHERE store_id = $1 AND referee_id = $2");
  db.Prepare("actions_referrals_rewarded",
             "SELECT count(*) FROM points.referrals WHERE store_id = $1 AND referrer_id = $2 "
             "AND rewarded_at >= " LOCAL_MIDNIGHT("$3", "$5") " "
             "AND rewarded_at < " LOCAL_MIDNIGHT("$4", "$5"));
  db.Prepare("actions_referral_rewarded",
             "UPDATE points.referrals SET rewarded_at = " FROM_MICROS("$3") " "
             "WHERE store_id = $1 AND referee_id = $2");
}

bool ActionStore::Record(pqxx::transaction_base& tx, const std::string& store,
                         const std::string& lot_id, const std::string& customer,
                         const std::string& action, int64_t points, int64_t occurred_us) const {
  return !tx.exec_prepared("actions_record", store, lot_id, customer, action, points, occurred_us)
              .empty();
}

bool ActionStore::Rewarded(pqxx::transaction_base& tx, const std::string& store,
                           const std::string& lot_id) const {
  return !tx.exec_prepared("actions_rewarded", store, lot_id).empty();
}

int64_t ActionStore::CountInPeriod(pqxx::transaction_base& tx, const std::string& store,
                                   const std::string& customer, const std::string& action,
                                   const LocalPeriod& period, const std::string& time_zone) const {
  return tx
      .exec_prepared1("actions_count", store, customer, action, FormatLocalDate(period.start),
                      FormatLocalDate(period.end), time_zone)[0]
      .as<int64_t>();
}

void ActionStore::RecordFirstOrder(pqxx::transaction_base& tx, const std::string& store,
                                   const std::string& customer, const std::string& order_id,
                                   std::optional<int64_t> window_ends_us, bool earns) const {
  tx.exec_prepared("actions_first_order", store, customer, order_id, window_ends_us,
                   earns ? "waiting" : "void");
}

void ActionStore::StartFirstOrderWindow(pqxx::transaction_base& tx, const std::string& store,
                                        const std::string& order_id, int64_t window_ends_us) const {
  tx.exec_prepared("actions_first_order_window", store, order_id, window_ends_us);
}

void ActionStore::VoidFirstOrder(pqxx::transaction_base& tx, const std::string& store,
                                 const std::string& order_id) const {
  tx.exec_prepared("actions_first_order_void", store, order_id);
}

std::optional<std::string> ActionStore::FirstOrderState(pqxx::transaction_base& tx,
                                                        const std::string& store,
                                                        const std::string& customer) const {
  const auto rows = tx.exec_prepared("actions_first_order_state", store, customer);
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<std::string>();
}

std::vector<DueFirstOrder> ActionStore::FirstOrdersDue(pqxx::transaction_base& tx,
                                                       const std::string& store, int64_t as_of_us,
                                                       int limit) const {
  std::vector<DueFirstOrder> due;
  for (const auto& r : tx.exec_prepared("actions_first_orders_due", store, as_of_us, limit)) {
    due.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>()});
  }
  return due;
}

std::optional<std::string> ActionStore::LockDueFirstOrder(pqxx::transaction_base& tx,
                                                          const std::string& store,
                                                          const std::string& customer,
                                                          int64_t as_of_us) const {
  const auto rows = tx.exec_prepared("actions_lock_first_order", store, customer, as_of_us);
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<std::string>();
}

void ActionStore::MarkFirstOrderRewarded(pqxx::transaction_base& tx, const std::string& store,
                                         const std::string& customer) const {
  tx.exec_prepared("actions_first_order_rewarded", store, customer);
}

bool ActionStore::InsertReferral(pqxx::transaction_base& tx, const std::string& store,
                                 const std::string& referee, const std::string& referrer) const {
  return !tx.exec_prepared("actions_insert_referral", store, referee, referrer).empty();
}

std::optional<std::string> ActionStore::ReferrerOf(pqxx::transaction_base& tx,
                                                   const std::string& store,
                                                   const std::string& referee) const {
  const auto rows = tx.exec_prepared("actions_referrer_of", store, referee);
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<std::string>();
}

int64_t ActionStore::ReferralsRewarded(pqxx::transaction_base& tx, const std::string& store,
                                       const std::string& referrer, const LocalPeriod& period,
                                       const std::string& time_zone) const {
  return tx
      .exec_prepared1("actions_referrals_rewarded", store, referrer, FormatLocalDate(period.start),
                      FormatLocalDate(period.end), time_zone)[0]
      .as<int64_t>();
}

void ActionStore::MarkReferralRewarded(pqxx::transaction_base& tx, const std::string& store,
                                       const std::string& referee, int64_t at_us) const {
  tx.exec_prepared("actions_referral_rewarded", store, referee, at_us);
}

}  // namespace loyalty::points
