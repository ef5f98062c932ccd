#include "points_store.hpp"

#include <google/protobuf/util/time_util.h>

#include "loyalty/common/calendar.hpp"
#include "loyalty/common/listen.hpp"
#include "loyalty/common/sql_time.hpp"

namespace loyalty::points {
namespace {

using google::protobuf::util::TimeUtil;

// A hold's columns, in HoldOf's order.
#define HOLD_COLUMNS                                                                           \
  "hold_id, customer_id, order_id, points, value_minor, state, " MICROS("expires_at")         \
  ", reward_id, reward_points"

HoldRow HoldOf(const pqxx::row& r, int first) {
  const auto at = [&](int i) { return r[first + i]; };
  return HoldRow{at(0).as<std::string>(), at(1).as<std::string>(), at(2).as<std::string>(),
                 at(3).as<int64_t>(),     at(4).as<int64_t>(),     at(5).as<std::string>(),
                 at(6).as<int64_t>(),     at(7).as<std::string>(), at(8).as<int64_t>()};
}

constexpr const char* kLotColumns =
    "lot_id, customer_id, kind, order_id, line_id, rule_version, earned, pending, available, "
    "clawed, line_quantity, paid_points, paid_back, " MICROS("available_at") ", " MICROS("expires_at");

std::optional<int64_t> OptMicros(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<int64_t>();
}

LotRow ToLot(const pqxx::row& r) {
  LotRow lot;
  lot.lot_id = r[0].as<std::string>();
  lot.customer_id = r[1].as<std::string>();
  lot.kind = r[2].as<std::string>();
  lot.order_id = r[3].as<std::string>();
  lot.line_id = r[4].as<std::string>();
  lot.rule_version = r[5].as<int32_t>();
  lot.earned = r[6].as<int64_t>();
  lot.pending = r[7].as<int64_t>();
  lot.available = r[8].as<int64_t>();
  lot.clawed = r[9].as<int64_t>();
  lot.line_quantity = r[10].as<int32_t>();
  lot.paid_points = r[11].as<int64_t>();
  lot.paid_back = r[12].as<int64_t>();
  lot.available_at_us = OptMicros(r[13]);
  lot.expires_at_us = OptMicros(r[14]);
  return lot;
}

v1::RuleVersion ToRuleVersion(const pqxx::row& r) {
  v1::RuleVersion v;
  v.set_version(r[0].as<int32_t>());
  *v.mutable_effective_from() = TimeUtil::MicrosecondsToTimestamp(r[1].as<int64_t>());
  v.mutable_rules()->ParseFromString(pqxx::binarystring(r[2]).str());
  *v.mutable_published_at() = TimeUtil::MicrosecondsToTimestamp(r[3].as<int64_t>());
  return v;
}

std::vector<DueItem> ToDue(const pqxx::result& rows) {
  std::vector<DueItem> due;
  for (const auto& r : rows) {
    due.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>()});
  }
  return due;
}

}  // namespace

PointsStore::PointsStore(common::Database& db) {
  common::PrepareCalendar(db);  // member actions and their jobs read the store's date
  db.Prepare("pts_program_changed", "SELECT pg_notify($1, $2)");
  db.Prepare("points_settings",
             "SELECT version, settings, " MICROS("created_at") " FROM points.settings "
             "WHERE store_id = $1 ORDER BY version DESC LIMIT 1");
  db.Prepare("points_insert_settings",
             "INSERT INTO points.settings (store_id, version, settings, author, reason) "
             "SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4 FROM points.settings "
             "WHERE store_id = $1 "
             "RETURNING version, " MICROS("created_at"));
  const std::string rule_columns =
      "SELECT version, " MICROS("effective_from") ", rules, " MICROS("published_at") " FROM points.rule_versions ";
  db.Prepare("points_rules_at", rule_columns +
                                    "WHERE store_id = $1 AND effective_from <= " FROM_MICROS("$2") " "
                                    "ORDER BY effective_from DESC, version DESC LIMIT 1");
  db.Prepare("points_rules", rule_columns + "WHERE store_id = $1 AND version = $2");
  db.Prepare("points_all_rules", rule_columns + "WHERE store_id = $1 ORDER BY version DESC");
  db.Prepare("points_insert_rules",
             "INSERT INTO points.rule_versions (store_id, version, effective_from, rules, author, "
             "reason) SELECT $1, coalesce(max(version), 0) + 1, " FROM_MICROS("$2") ", $3, $4, $5 "
             "FROM points.rule_versions WHERE store_id = $1 "
             "RETURNING version, " MICROS("effective_from") ", rules, " MICROS("published_at"));
  db.Prepare("points_touch_balance",
             "INSERT INTO points.balances (store_id, customer_id) VALUES ($1, $2) "
             "ON CONFLICT DO NOTHING");
  db.Prepare("points_lock_balance",
             "SELECT pending, available, held, debt FROM points.balances "
             "WHERE store_id = $1 AND customer_id = $2 FOR UPDATE");
  db.Prepare("points_read_balance",
             "SELECT pending, available, held, debt FROM points.balances "
             "WHERE store_id = $1 AND customer_id = $2");
  db.Prepare("points_save_balance",
             "UPDATE points.balances SET pending = $3, available = $4, held = $5, debt = $6 "
             "WHERE store_id = $1 AND customer_id = $2");
  db.Prepare("points_insert_transfer",
             "INSERT INTO points.transfers (store_id, customer_id, from_account, to_account, amount, "
             "kind, reason, order_id, line_id, lot_id, rule_version, request_id) "
             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)");
  db.Prepare("points_insert_lot",
             "INSERT INTO points.lots (store_id, lot_id, customer_id, kind, order_id, line_id, "
             "rule_version, earned, pending, available, clawed, line_quantity, paid_points, "
             "paid_back, available_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
             "$11, $12, $13, $14, " FROM_MICROS("$15") ", " FROM_MICROS("$16") ")");
  db.Prepare("points_lock_lot", std::string("SELECT ") + kLotColumns +
                                    " FROM points.lots WHERE store_id = $1 AND lot_id = $2 FOR UPDATE");
  // kind IN (...) names the partial index's predicate, so the plan may use it whatever $2 is.
  db.Prepare("points_lock_line_lot",
             std::string("SELECT ") + kLotColumns +
                 " FROM points.lots WHERE store_id = $1 AND kind = $2 AND order_id = $3 "
                 "AND line_id = $4 AND kind IN ('earn', 'payback') FOR UPDATE");
  db.Prepare("points_order_lots", std::string("SELECT ") + kLotColumns +
                                      " FROM points.lots WHERE store_id = $1 AND order_id = $2 "
                                      "ORDER BY lot_id COLLATE \"C\" FOR UPDATE");
  db.Prepare("points_spendable_lots",
             std::string("SELECT ") + kLotColumns +
                 " FROM points.lots WHERE store_id = $1 AND customer_id = $2 AND available > 0 "
                 "ORDER BY expires_at NULLS LAST, lot_id COLLATE \"C\" LIMIT $3");
  db.Prepare("points_spendable_lots_lock",
             std::string("SELECT ") + kLotColumns +
                 " FROM points.lots WHERE store_id = $1 AND customer_id = $2 AND available > 0 "
                 "ORDER BY expires_at NULLS LAST, lot_id COLLATE \"C\" LIMIT $3 FOR UPDATE");
  db.Prepare("points_save_lot",
             "UPDATE points.lots SET pending = $3, available = $4, clawed = $5, paid_back = $6, "
             "available_at = " FROM_MICROS("$7") ", expires_at = " FROM_MICROS("$8") " "
             "WHERE store_id = $1 AND lot_id = $2");
  db.Prepare("points_warned",
             "UPDATE points.lots SET warned = true "
             "WHERE (store_id, lot_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))");
  db.Prepare("points_insert_hold",
             "INSERT INTO points.holds (store_id, hold_id, customer_id, order_id, points, "
             "value_minor, state, expires_at, reward_id, reward_points) "
             "VALUES ($1, $2, $3, $4, $5, $6, 'active', " FROM_MICROS("$7") ", $8, $9)");
  db.Prepare("points_lock_hold",
             "SELECT " HOLD_COLUMNS " FROM points.holds WHERE store_id = $1 AND hold_id = $2 FOR UPDATE");
  db.Prepare("points_read_hold",
             "SELECT " HOLD_COLUMNS " FROM points.holds WHERE store_id = $1 AND hold_id = $2");
  db.Prepare("points_end_hold",
             "UPDATE points.holds SET state = $3, ended_at = now() "
             "WHERE store_id = $1 AND hold_id = $2 AND state = 'active'");
  db.Prepare("points_insert_hold_lot",
             "INSERT INTO points.hold_lots (store_id, hold_id, lot_id, points) VALUES ($1, $2, $3, $4)");
  db.Prepare("points_hold_lots",
             "SELECT lot_id, points FROM points.hold_lots WHERE store_id = $1 AND hold_id = $2 "
             "ORDER BY lot_id");
  db.Prepare("points_append_event",
             "INSERT INTO points.events (store_id, type, customer_id, order_id, points, details) "
             "VALUES ($1, $2, $3, $4, $5, $6::jsonb)");
  // WITH ORDINALITY ... ORDER BY: event ids follow the order of the arrays.
  db.Prepare("points_append_events",
             "INSERT INTO points.events (store_id, type, customer_id, order_id, points, details) "
             "SELECT s, t, c, o, p, d::jsonb FROM unnest($1::text[], $2::text[], $3::text[], "
             "$4::text[], $5::bigint[], $6::text[]) WITH ORDINALITY AS e(s, t, c, o, p, d, n) "
             "ORDER BY n");
  // Only below the oldest running transaction: nothing can commit there any more. The ORDER BY
  // names the table's columns: a bare `txid` would mean the output column `txid::text`, ordered
  // as text ("100" before "99"), which skipped or repeated events across a new digit.
  db.Prepare("points_events",
             "SELECT e.event_id, e.txid::text, e.type, e.customer_id, e.order_id, e.points, "
             "e.details::text, " MICROS("e.created_at") " FROM points.events e "
             "WHERE e.store_id = $1 AND (e.txid, e.event_id) > ($2::xid8, $3) "
             "AND e.txid < pg_snapshot_xmin(pg_current_snapshot()) "
             "ORDER BY e.txid, e.event_id LIMIT $4");
  // Every event that becomes visible later has a txid at or above today's horizon, so it sorts
  // after this one.
  db.Prepare("points_events_end",
             "SELECT e.txid::text || ':' || e.event_id FROM points.events e "
             "WHERE e.store_id = $1 AND e.txid < pg_snapshot_xmin(pg_current_snapshot()) "
             "ORDER BY e.txid DESC, e.event_id DESC LIMIT 1");
  db.Prepare("points_lots_to_release",
             "SELECT store_id, lot_id, customer_id FROM points.lots "
             "WHERE pending > 0 AND available_at <= " FROM_MICROS("$2") " AND ($1 = '' OR store_id = $1) "
             "ORDER BY available_at, lot_id COLLATE \"C\" LIMIT $3");
  db.Prepare("points_lots_to_expire",
             "SELECT store_id, lot_id, customer_id FROM points.lots "
             "WHERE available > 0 AND expires_at <= " FROM_MICROS("$2") " AND ($1 = '' OR store_id = $1) "
             "ORDER BY expires_at, lot_id COLLATE \"C\" LIMIT $3");
  // One probe of lots_to_warn per store (its own horizon), then the earliest across stores.
  db.Prepare("points_lots_to_warn",
             "SELECT l.store_id, l.lot_id, l.customer_id "
             "FROM unnest($1::text[], $2::bigint[]) AS s(store_id, warn_before) "
             "CROSS JOIN LATERAL (SELECT store_id, lot_id, customer_id, expires_at "
             "  FROM points.lots WHERE store_id = s.store_id AND available > 0 AND NOT warned "
             "  AND expires_at <= " FROM_MICROS("s.warn_before") " ORDER BY expires_at LIMIT $3) l "
             "ORDER BY l.expires_at, l.lot_id COLLATE \"C\" LIMIT $3");
  // Pages by (expires_at in microseconds, as the rows carry it: exact, unlike a timestamp made
  // back from a double), in the order the holds expired.
  db.Prepare("points_holds_to_expire",
             "SELECT store_id, " HOLD_COLUMNS " FROM points.holds "
             "WHERE state = 'active' AND expires_at <= " FROM_MICROS("$2") " AND ($1 = '' OR store_id = $1) "
             "AND (" MICROS("expires_at") ", hold_id COLLATE \"C\") > ($3, $4) "
             "ORDER BY expires_at, hold_id COLLATE \"C\" LIMIT $5");
  db.Prepare("points_current_settings",
             "SELECT DISTINCT ON (store_id) store_id, version, settings, " MICROS("created_at")
             " FROM points.settings WHERE ($1 = '' OR store_id = $1) "
             "ORDER BY store_id, version DESC");
  // FOR UPDATE locks rows in the ORDER BY order (the lock is taken above the sort).
  db.Prepare("points_lock_balances",
             "SELECT store_id, customer_id, pending, available, held, debt FROM points.balances "
             "WHERE (store_id, customer_id) IN (SELECT * FROM unnest($1::text[], $2::text[])) "
             "ORDER BY store_id, customer_id FOR UPDATE");
  db.Prepare("points_lock_lots",
             std::string("SELECT ") + kLotColumns +
                 ", warned, store_id FROM points.lots "
                 "WHERE (store_id, lot_id) IN (SELECT * FROM unnest($1::text[], $2::text[])) "
                 "ORDER BY store_id, customer_id, lot_id COLLATE \"C\" FOR UPDATE");
  db.Prepare("points_ledger",
             "SELECT transfer_id, customer_id, from_account, to_account, amount, kind, reason, "
             "order_id, line_id, rule_version, request_id, " MICROS("created_at")
             " FROM points.transfers WHERE store_id = $1 AND customer_id = $2 AND transfer_id < $3 "
             "ORDER BY transfer_id DESC LIMIT $4");
  db.Prepare("points_store_accounts",
             "SELECT account, sum(delta)::bigint FROM ("
             "  SELECT to_account AS account, amount AS delta FROM points.transfers WHERE store_id = $1"
             "  UNION ALL"
             "  SELECT from_account, -amount FROM points.transfers WHERE store_id = $1) t "
             "WHERE account IN ('issued', 'redeemed', 'expired', 'clawed_back', 'written_off') "
             "GROUP BY account ORDER BY account");
  // Every customer whose stored balances differ from the transfers, lots or holds.
  db.Prepare("points_verify",
             "WITH moves AS ("
             "  SELECT customer_id, to_account AS account, amount AS delta FROM points.transfers "
             "  WHERE store_id = $1 "
             "  UNION ALL SELECT customer_id, from_account, -amount FROM points.transfers "
             "  WHERE store_id = $1), "
             "derived AS (SELECT customer_id, "
             "  coalesce(sum(delta) FILTER (WHERE account = 'pending'), 0) AS pending, "
             "  coalesce(sum(delta) FILTER (WHERE account = 'available'), 0) AS available, "
             "  coalesce(sum(delta) FILTER (WHERE account = 'held'), 0) AS held, "
             "  coalesce(sum(delta) FILTER (WHERE account = 'debt'), 0) AS debt "
             "  FROM moves GROUP BY customer_id), "
             "lots AS (SELECT customer_id, sum(pending) AS pending, sum(available) AS available "
             "  FROM points.lots WHERE store_id = $1 GROUP BY customer_id), "
             "holds AS (SELECT customer_id, sum(points) AS held FROM points.holds "
             "  WHERE store_id = $1 AND state = 'active' GROUP BY customer_id), "
             "held_lots AS (SELECT h.customer_id, sum(hl.points) AS held FROM points.hold_lots hl "
             "  JOIN points.holds h USING (store_id, hold_id) "
             "  WHERE hl.store_id = $1 AND h.state = 'active' GROUP BY h.customer_id) "
             "SELECT coalesce(b.customer_id, d.customer_id), "
             "  coalesce(b.pending, 0), coalesce(d.pending, 0), coalesce(l.pending, 0), "
             "  coalesce(b.available, 0), coalesce(d.available, 0), coalesce(l.available, 0), "
             "  coalesce(b.held, 0), coalesce(d.held, 0), coalesce(h.held, 0), coalesce(hl.held, 0), "
             "  coalesce(b.debt, 0), coalesce(d.debt, 0) "
             "FROM (SELECT * FROM points.balances WHERE store_id = $1) b "
             "FULL JOIN derived d ON d.customer_id = b.customer_id "
             "LEFT JOIN lots l ON l.customer_id = coalesce(b.customer_id, d.customer_id) "
             "LEFT JOIN holds h ON h.customer_id = coalesce(b.customer_id, d.customer_id) "
             "LEFT JOIN held_lots hl ON hl.customer_id = coalesce(b.customer_id, d.customer_id) "
             "ORDER BY 1");
  db.Prepare("points_issued_gross",
             "SELECT coalesce(sum(amount), 0)::bigint FROM points.transfers "
             "WHERE store_id = $1 AND from_account = 'issued'");
  db.Prepare("points_outstanding",
             "SELECT coalesce(sum(pending + available + held), 0)::bigint FROM points.balances "
             "WHERE store_id = $1");
  db.Prepare("points_transfer_count",
             "SELECT count(*), coalesce(sum(pending + available + held + debt), 0)::bigint "
             "FROM points.balances WHERE store_id = $1 "
             "UNION ALL SELECT count(*), 0 FROM points.transfers WHERE store_id = $1");
}

std::optional<v1::Settings> PointsStore::Settings(pqxx::transaction_base& tx,
                                                  const std::string& store) const {
  auto rows = tx.exec_prepared("points_settings", store);
  if (rows.empty()) return std::nullopt;
  v1::Settings s;
  s.ParseFromString(pqxx::binarystring(rows[0][1]).str());
  s.set_version(rows[0][0].as<int32_t>());
  *s.mutable_created_at() = TimeUtil::MicrosecondsToTimestamp(rows[0][2].as<int64_t>());
  return s;
}

void PointsStore::AnnounceProgramChange(pqxx::transaction_base& tx,
                                        const std::string& store) const {
  // Delivered when (and only if) the transaction commits.
  tx.exec_prepared("pts_program_changed", common::kProgramChangedChannel, store);
}

v1::Settings PointsStore::InsertSettings(pqxx::transaction_base& tx, const std::string& store,
                                         v1::Settings settings,
                                         const Written& written) const {
  AnnounceProgramChange(tx, store);
  settings.clear_version();
  settings.clear_created_at();
  auto row = tx.exec_prepared1("points_insert_settings", store,
                               pqxx::binarystring(settings.SerializeAsString()), written.author,
                               written.reason);
  settings.set_version(row[0].as<int32_t>());
  *settings.mutable_created_at() = TimeUtil::MicrosecondsToTimestamp(row[1].as<int64_t>());
  return settings;
}

std::optional<v1::RuleVersion> PointsStore::RulesAt(pqxx::transaction_base& tx,
                                                    const std::string& store, int64_t at_us) const {
  auto rows = tx.exec_prepared("points_rules_at", store, at_us);
  if (rows.empty()) return std::nullopt;
  return ToRuleVersion(rows[0]);
}

std::optional<v1::RuleVersion> PointsStore::Rules(pqxx::transaction_base& tx,
                                                  const std::string& store, int32_t version) const {
  auto rows = tx.exec_prepared("points_rules", store, version);
  if (rows.empty()) return std::nullopt;
  return ToRuleVersion(rows[0]);
}

std::vector<v1::RuleVersion> PointsStore::AllRules(pqxx::transaction_base& tx,
                                                   const std::string& store) const {
  std::vector<v1::RuleVersion> out;
  for (const auto& r : tx.exec_prepared("points_all_rules", store)) out.push_back(ToRuleVersion(r));
  return out;
}

v1::RuleVersion PointsStore::InsertRules(pqxx::transaction_base& tx, const std::string& store,
                                         int64_t effective_from_us,
                                         const v1::EarnRules& rules,
                                         const Written& written) const {
  AnnounceProgramChange(tx, store);
  return ToRuleVersion(tx.exec_prepared1("points_insert_rules", store, effective_from_us,
                                         pqxx::binarystring(rules.SerializeAsString()),
                                         written.author, written.reason));
}

BalanceRow PointsStore::LockBalance(pqxx::transaction_base& tx, const std::string& store,
                                    const std::string& customer) const {
  tx.exec_prepared("points_touch_balance", store, customer);
  auto r = tx.exec_prepared1("points_lock_balance", store, customer);
  return {r[0].as<int64_t>(), r[1].as<int64_t>(), r[2].as<int64_t>(), r[3].as<int64_t>()};
}

std::optional<BalanceRow> PointsStore::ReadBalance(pqxx::transaction_base& tx,
                                                   const std::string& store,
                                                   const std::string& customer) const {
  auto rows = tx.exec_prepared("points_read_balance", store, customer);
  if (rows.empty()) return std::nullopt;
  const auto& r = rows[0];
  return BalanceRow{r[0].as<int64_t>(), r[1].as<int64_t>(), r[2].as<int64_t>(), r[3].as<int64_t>()};
}

void PointsStore::SaveBalance(pqxx::transaction_base& tx, const std::string& store,
                              const std::string& customer, const BalanceRow& b) const {
  tx.exec_prepared("points_save_balance", store, customer, b.pending, b.available, b.held, b.debt);
}

void PointsStore::InsertTransfer(pqxx::transaction_base& tx, const std::string& store,
                                 const TransferRow& t) const {
  tx.exec_prepared("points_insert_transfer", store, t.customer_id, t.from, t.to, t.amount, t.kind,
                   t.reason, t.order_id, t.line_id, t.lot_id, t.rule_version, t.request_id);
}

void PointsStore::InsertLot(pqxx::transaction_base& tx, const std::string& store,
                            const LotRow& l) const {
  tx.exec_prepared("points_insert_lot", store, l.lot_id, l.customer_id, l.kind, l.order_id,
                   l.line_id, l.rule_version, l.earned, l.pending, l.available, l.clawed,
                   l.line_quantity, l.paid_points, l.paid_back, l.available_at_us, l.expires_at_us);
}

std::optional<LotRow> PointsStore::LockLot(pqxx::transaction_base& tx, const std::string& store,
                                           const std::string& lot_id) const {
  auto rows = tx.exec_prepared("points_lock_lot", store, lot_id);
  if (rows.empty()) return std::nullopt;
  return ToLot(rows[0]);
}

std::optional<LotRow> PointsStore::LockLineLot(pqxx::transaction_base& tx,
                                               const std::string& store, std::string_view kind,
                                               const std::string& order_id,
                                               const std::string& line_id) const {
  auto rows = tx.exec_prepared("points_lock_line_lot", store, std::string(kind), order_id, line_id);
  if (rows.empty()) return std::nullopt;
  return ToLot(rows[0]);
}

std::vector<LotRow> PointsStore::LotsOfOrder(pqxx::transaction_base& tx, const std::string& store,
                                             const std::string& order_id) const {
  std::vector<LotRow> lots;
  for (const auto& r : tx.exec_prepared("points_order_lots", store, order_id)) lots.push_back(ToLot(r));
  return lots;
}

std::vector<LotRow> PointsStore::SpendableLots(pqxx::transaction_base& tx, const std::string& store,
                                               const std::string& customer, bool lock,
                                               int limit) const {
  std::vector<LotRow> lots;
  for (const auto& r : tx.exec_prepared(lock ? "points_spendable_lots_lock" : "points_spendable_lots",
                                        store, customer, limit)) {
    lots.push_back(ToLot(r));
  }
  return lots;
}

void PointsStore::SaveLot(pqxx::transaction_base& tx, const std::string& store,
                          const LotRow& l) const {
  tx.exec_prepared("points_save_lot", store, l.lot_id, l.pending, l.available, l.clawed,
                   l.paid_back, l.available_at_us, l.expires_at_us);
}

void PointsStore::MarkWarned(pqxx::transaction_base& tx, const std::vector<LockedLot>& lots) const {
  std::vector<std::string> stores, ids;
  for (const auto& l : lots) {
    stores.push_back(l.store_id);
    ids.push_back(l.lot.lot_id);
  }
  tx.exec_prepared("points_warned", common::PgTextArray(stores), common::PgTextArray(ids));
}

void PointsStore::InsertHold(pqxx::transaction_base& tx, const std::string& store,
                             const HoldRow& h) const {
  tx.exec_prepared("points_insert_hold", store, h.hold_id, h.customer_id, h.order_id, h.points,
                   h.value_minor, h.expires_at_us, h.reward_id, h.reward_points);
}

std::optional<HoldRow> PointsStore::ReadHold(pqxx::transaction_base& tx, const std::string& store,
                                             const std::string& hold_id) const {
  return HoldQuery(tx, "points_read_hold", store, hold_id);
}

std::optional<HoldRow> PointsStore::LockHold(pqxx::transaction_base& tx, const std::string& store,
                                             const std::string& hold_id) const {
  return HoldQuery(tx, "points_lock_hold", store, hold_id);
}

std::optional<HoldRow> PointsStore::HoldQuery(pqxx::transaction_base& tx, const char* statement,
                                              const std::string& store,
                                              const std::string& hold_id) const {
  auto rows = tx.exec_prepared(statement, store, hold_id);
  if (rows.empty()) return std::nullopt;
  return HoldOf(rows[0], 0);
}

void PointsStore::EndHold(pqxx::transaction_base& tx, const std::string& store,
                          const std::string& hold_id, const std::string& state) const {
  tx.exec_prepared("points_end_hold", store, hold_id, state);
}

void PointsStore::InsertHoldLot(pqxx::transaction_base& tx, const std::string& store,
                                const std::string& hold_id, const std::string& lot_id,
                                int64_t points) const {
  tx.exec_prepared("points_insert_hold_lot", store, hold_id, lot_id, points);
}

std::vector<std::pair<std::string, int64_t>> PointsStore::HoldLots(pqxx::transaction_base& tx,
                                                                   const std::string& store,
                                                                   const std::string& hold_id) const {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& r : tx.exec_prepared("points_hold_lots", store, hold_id)) {
    out.emplace_back(r[0].as<std::string>(), r[1].as<int64_t>());
  }
  return out;
}

void PointsStore::AppendEvent(pqxx::transaction_base& tx, const std::string& store,
                              const std::string& type, const std::string& customer,
                              const std::string& order, int64_t points,
                              const nlohmann::json& details) const {
  tx.exec_prepared("points_append_event", store, type, customer, order, points, details.dump());
}

void PointsStore::AppendEvents(pqxx::transaction_base& tx,
                               const std::vector<EventRow>& events) const {
  if (events.empty()) return;
  std::vector<std::string> stores, types, customers, orders, details;
  std::vector<int64_t> points;
  for (const auto& e : events) {
    stores.push_back(e.store_id);
    types.push_back(e.type);
    customers.push_back(e.customer_id);
    orders.push_back(e.order_id);
    points.push_back(e.points);
    details.push_back(e.details.dump());
  }
  tx.exec_prepared("points_append_events", common::PgTextArray(stores), common::PgTextArray(types),
                   common::PgTextArray(customers), common::PgTextArray(orders),
                   common::PgIntArray(points), common::PgTextArray(details));
}

std::vector<v1::PointsEvent> PointsStore::Events(pqxx::transaction_base& tx,
                                                 const std::string& store,
                                                 const std::string& after_txid, int64_t after_id,
                                                 int limit) const {
  std::vector<v1::PointsEvent> out;
  for (const auto& r : tx.exec_prepared("points_events", store, after_txid, after_id, limit)) {
    v1::PointsEvent e;
    e.set_cursor(r[1].as<std::string>() + ":" + r[0].as<std::string>());
    e.set_type(r[2].as<std::string>());
    e.set_customer_id(r[3].as<std::string>());
    e.set_order_id(r[4].as<std::string>());
    e.set_points(r[5].as<int64_t>());
    e.set_details_json(r[6].as<std::string>());
    *e.mutable_created_at() = TimeUtil::MicrosecondsToTimestamp(r[7].as<int64_t>());
    out.push_back(std::move(e));
  }
  return out;
}

std::string PointsStore::EndOfEvents(pqxx::transaction_base& tx, const std::string& store) const {
  const auto r = tx.exec_prepared("points_events_end", store);
  return r.empty() ? std::string() : r[0][0].as<std::string>();
}

std::vector<DueItem> PointsStore::LotsToRelease(pqxx::transaction_base& tx,
                                                const std::string& store, int64_t as_of_us,
                                                int limit) const {
  return ToDue(tx.exec_prepared("points_lots_to_release", store, as_of_us, limit));
}

std::vector<DueItem> PointsStore::LotsToExpire(pqxx::transaction_base& tx, const std::string& store,
                                               int64_t as_of_us, int limit) const {
  return ToDue(tx.exec_prepared("points_lots_to_expire", store, as_of_us, limit));
}

std::vector<DueItem> PointsStore::LotsToWarn(
    pqxx::transaction_base& tx, const std::vector<std::pair<std::string, int64_t>>& horizons,
    int limit) const {
  std::vector<std::string> stores;
  std::vector<int64_t> before;
  for (const auto& [store, warn_before_us] : horizons) {
    stores.push_back(store);
    before.push_back(warn_before_us);
  }
  return ToDue(tx.exec_prepared("points_lots_to_warn", common::PgTextArray(stores),
                                common::PgIntArray(before), limit));
}

std::vector<DueHold> PointsStore::HoldsToExpire(pqxx::transaction_base& tx,
                                                const std::string& store, int64_t as_of_us,
                                                int64_t after_expiry_us,
                                                const std::string& after_hold, int limit) const {
  std::vector<DueHold> due;
  for (const auto& r : tx.exec_prepared("points_holds_to_expire", store, as_of_us, after_expiry_us,
                                        after_hold, limit)) {
    due.push_back({r[0].as<std::string>(), HoldOf(r, 1)});
  }
  return due;
}

std::vector<std::pair<std::string, v1::Settings>> PointsStore::CurrentSettings(
    pqxx::transaction_base& tx, const std::string& store) const {
  std::vector<std::pair<std::string, v1::Settings>> out;
  for (const auto& r : tx.exec_prepared("points_current_settings", store)) {
    v1::Settings s;
    s.ParseFromString(pqxx::binarystring(r[2]).str());
    s.set_version(r[1].as<int32_t>());
    *s.mutable_created_at() = TimeUtil::MicrosecondsToTimestamp(r[3].as<int64_t>());
    out.emplace_back(r[0].as<std::string>(), std::move(s));
  }
  return out;
}

std::vector<LockedBalance> PointsStore::LockBalances(pqxx::transaction_base& tx,
                                                     const std::vector<DueItem>& lots) const {
  std::vector<std::string> stores, customers;
  for (const auto& l : lots) {
    stores.push_back(l.store_id);
    customers.push_back(l.customer_id);
  }
  std::vector<LockedBalance> out;
  for (const auto& r : tx.exec_prepared("points_lock_balances", common::PgTextArray(stores),
                                        common::PgTextArray(customers))) {
    const BalanceRow balance{r[2].as<int64_t>(), r[3].as<int64_t>(), r[4].as<int64_t>(),
                             r[5].as<int64_t>()};
    out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), balance});
  }
  return out;
}

std::vector<LockedLot> PointsStore::LockLots(pqxx::transaction_base& tx,
                                             const std::vector<DueItem>& lots) const {
  std::vector<std::string> stores, ids;
  for (const auto& l : lots) {
    stores.push_back(l.store_id);
    ids.push_back(l.id);
  }
  std::vector<LockedLot> out;
  for (const auto& r : tx.exec_prepared("points_lock_lots", common::PgTextArray(stores),
                                        common::PgTextArray(ids))) {
    out.push_back({r[16].as<std::string>(), ToLot(r), r[15].as<bool>()});
  }
  return out;
}

std::vector<v1::Transfer> PointsStore::Ledger(pqxx::transaction_base& tx, const std::string& store,
                                              const std::string& customer, int64_t before_id,
                                              int limit) const {
  std::vector<v1::Transfer> out;
  for (const auto& r : tx.exec_prepared("points_ledger", store, customer, before_id, limit)) {
    v1::Transfer t;
    t.set_transfer_id(r[0].as<int64_t>());
    t.set_customer_id(r[1].as<std::string>());
    t.set_from_account(r[2].as<std::string>());
    t.set_to_account(r[3].as<std::string>());
    t.set_amount(r[4].as<int64_t>());
    t.set_kind(r[5].as<std::string>());
    t.set_reason(r[6].as<std::string>());
    t.set_order_id(r[7].as<std::string>());
    t.set_line_id(r[8].as<std::string>());
    t.set_rule_version(r[9].as<int32_t>());
    t.set_request_id(r[10].as<std::string>());
    *t.mutable_created_at() = TimeUtil::MicrosecondsToTimestamp(r[11].as<int64_t>());
    out.push_back(std::move(t));
  }
  return out;
}

int64_t PointsStore::IssuedGross(pqxx::transaction_base& tx, const std::string& store) const {
  return tx.exec_prepared1("points_issued_gross", store)[0].as<int64_t>();
}

int64_t PointsStore::Outstanding(pqxx::transaction_base& tx, const std::string& store) const {
  return tx.exec_prepared1("points_outstanding", store)[0].as<int64_t>();
}

std::vector<std::pair<std::string, int64_t>> PointsStore::StoreAccounts(
    pqxx::transaction_base& tx, const std::string& store) const {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& r : tx.exec_prepared("points_store_accounts", store)) {
    out.emplace_back(r[0].as<std::string>(), r[1].as<int64_t>());
  }
  return out;
}

std::vector<std::string> PointsStore::Verify(pqxx::transaction_base& tx, const std::string& store,
                                             int64_t* transfers, int64_t* customers,
                                             int64_t* zero_sum) const {
  std::vector<std::string> mismatches;
  const auto rows = tx.exec_prepared("points_verify", store);
  for (const auto& r : rows) {
    const std::string c = r[0].as<std::string>();
    auto check = [&](const char* what, int64_t stored, int64_t derived, const char* source) {
      if (stored != derived) {
        mismatches.push_back("customer " + c + " " + what + ": stored " + std::to_string(stored) +
                             ", " + source + " " + std::to_string(derived));
      }
    };
    check("pending", r[1].as<int64_t>(), r[2].as<int64_t>(), "transfers");
    check("pending", r[1].as<int64_t>(), r[3].as<int64_t>(), "lots");
    check("available", r[4].as<int64_t>(), r[5].as<int64_t>(), "transfers");
    check("available", r[4].as<int64_t>(), r[6].as<int64_t>(), "lots");
    check("held", r[7].as<int64_t>(), r[8].as<int64_t>(), "transfers");
    check("held", r[7].as<int64_t>(), r[9].as<int64_t>(), "active holds");
    check("held", r[7].as<int64_t>(), r[10].as<int64_t>(), "held lot points");
    check("debt", r[11].as<int64_t>(), r[12].as<int64_t>(), "transfers");
  }
  const auto counts = tx.exec_prepared("points_transfer_count", store);
  *customers = counts[0][0].as<int64_t>();
  *transfers = counts[1][0].as<int64_t>();
  int64_t sum = counts[0][1].as<int64_t>();  // stored customer balances
  for (const auto& [account, balance] : StoreAccounts(tx, store)) sum += balance;
  *zero_sum = sum;
  if (sum != 0) mismatches.push_back("accounts of the store sum to " + std::to_string(sum));
  return mismatches;
}

}  // namespace loyalty::points
