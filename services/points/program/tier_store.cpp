#include "program/tier_store.hpp"

#include <google/protobuf/util/time_util.h>

#include <map>

#include "loyalty/common/sql_time.hpp"

namespace loyalty::points {
namespace {

using google::protobuf::util::TimeUtil;

constexpr const char *kStateColumns = "tier_id, " MICROS("since") ", " MICROS(
    "kept_until") ", manual_tier_id, " MICROS("manual_until") ", manual_by, "
                                                              "manual_reason";

std::optional<int64_t> OptMicros(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<int64_t>();
}

TierState ToState(const pqxx::row& r) {
  return TierState{r[0].as<std::string>(), r[1].as<int64_t>(), OptMicros(r[2]),
                   r[3].as<std::string>(), OptMicros(r[4]),    r[5].as<std::string>(),
                   r[6].as<std::string>()};
}

v1::TierVersion ToVersion(const pqxx::row& r) {
  v1::TierVersion v;
  v.set_version(r[0].as<int32_t>());
  *v.mutable_effective_from() = TimeUtil::MicrosecondsToTimestamp(r[1].as<int64_t>());
  v.mutable_program()->ParseFromString(pqxx::binarystring(r[2]).str());
  v.set_author(r[3].as<std::string>());
  v.set_reason(r[4].as<std::string>());
  *v.mutable_published_at() = TimeUtil::MicrosecondsToTimestamp(r[5].as<int64_t>());
  return v;
}

}  // namespace

TierStore::TierStore(common::Database& db) {
  const std::string version_columns =
      "SELECT version, " MICROS("effective_from") ", program, author, "
                                                  "reason, " MICROS(
                                                      "published_at") " FROM "
                                                                      "points."
                                                                      "tier_"
                                                                      "versions"
                                                                      " ";
  db.Prepare("tiers_version_at",
             version_columns + "WHERE store_id = $1 AND effective_from <= " FROM_MICROS(
                                   "$2") " ORDER BY effective_from DESC, version DESC LIMIT 1");
  db.Prepare("tiers_versions", version_columns + "WHERE store_id = $1 ORDER BY version DESC");
  db.Prepare("tiers_insert_version",
             "INSERT INTO points.tier_versions (store_id, version, "
             "effective_from, program, "
             "author, reason) SELECT $1, coalesce(max(version), 0) + "
             "1, " FROM_MICROS(
                 "$2") ", $3, $4, $5 FROM points.tier_versions WHERE store_id "
                       "= $1 "
                       "RETURNING version, " MICROS(
                           "effective_from") ", program, author, "
                                             "reason, " MICROS("published_at"));
  db.Prepare("tiers_touch_state",
             "INSERT INTO points.customer_tiers "
             "(store_id, customer_id) VALUES ($1, $2) "
             "ON CONFLICT DO NOTHING");
  db.Prepare("tiers_lock_state", std::string("SELECT ") + kStateColumns +
                                     " FROM points.customer_tiers WHERE store_id = $1 AND "
                                     "customer_id = $2 FOR UPDATE");
  db.Prepare("tiers_holders",
             std::string("SELECT ") + kStateColumns +
                 ", customer_id FROM points.customer_tiers WHERE store_id = $1 "
                 "AND (tier_id = $2 OR manual_tier_id = $2) AND customer_id COLLATE \"C\" > $3 "
                 "ORDER BY customer_id COLLATE \"C\" LIMIT $4");
  db.Prepare("tiers_read_state", std::string("SELECT ") + kStateColumns +
                                     " FROM points.customer_tiers WHERE store_id = $1 AND "
                                     "customer_id = $2");
  db
      .Prepare(
          "tiers_save_state",
          "UPDATE points.customer_tiers SET tier_id = $3, since = " FROM_MICROS(
              "$4") ", "
                    "kept_until = " FROM_MICROS(
                        "$5") ", manual_tier_id = $6, manual_until "
                              "= " FROM_MICROS("$7") ", manual_by = $8, "
                                                     "manual_reason = $9, "
                                                     "review_at = "
                                                     "least(" FROM_MICROS("$5") ", " FROM_MICROS(
                                                         "$7") ") "
                                                               "WHERE store_id "
                                                               "= $1 AND "
                                                               "customer_id = "
                                                               "$2");
  db.Prepare(
      "tiers_insert_activity",
      "INSERT INTO points.tier_activity (store_id, order_id, line_id, "
      "customer_id, "
      "placed_at, net_minor, earned_points, quantity, spend_minor, points) "
      "SELECT $1, $2, l, $3, " FROM_MICROS(
          "$4") ", n, p, q, n, p "
                "FROM unnest($5::text[], $6::bigint[], $7::bigint[], "
                "$8::integer[]) AS a(l, n, p, q) "
                "ON CONFLICT DO NOTHING");
  db.Prepare("tiers_order_activity",
             "SELECT line_id, net_minor, earned_points, quantity FROM "
             "points.tier_activity "
             "WHERE store_id = $1 AND order_id = $2 ORDER BY line_id COLLATE "
             "\"C\" FOR UPDATE");
  db.Prepare("tiers_save_activity",
             "UPDATE points.tier_activity SET spend_minor = $4, points = $5 "
             "WHERE store_id = $1 AND order_id = $2 AND line_id = $3");
  db.Prepare("tiers_qualifying",
             "SELECT coalesce(sum(CASE WHEN $5 THEN points ELSE spend_minor END), "
             "0)::bigint "
             "FROM points.tier_activity WHERE store_id = $1 AND customer_id = $2 "
             "AND placed_at >= " FROM_MICROS("$3") " AND placed_at < " FROM_MICROS("$4"));
  db.Prepare("tiers_dry_run_figures",
             "SELECT customer_id, "
             "  coalesce(sum(CASE WHEN placed_at >= " FROM_MICROS("$2") " AND placed_at < "
             FROM_MICROS("$3") " THEN CASE WHEN $4 THEN points ELSE spend_minor END END), 0)"
             "::bigint, "
             "  coalesce(sum(CASE WHEN placed_at >= " FROM_MICROS("$5") " AND placed_at < "
             FROM_MICROS("$6") " THEN CASE WHEN $7 THEN points ELSE spend_minor END END), 0)"
             "::bigint "
             "FROM points.tier_activity WHERE store_id = $1 "
             "AND placed_at >= " FROM_MICROS("least($2::bigint, $5::bigint)") " "
             "AND placed_at < " FROM_MICROS("greatest($3::bigint, $6::bigint)") " "
             "GROUP BY customer_id");
  db.Prepare("tiers_all_states", std::string("SELECT ") + kStateColumns +
                                     ", customer_id FROM points.customer_tiers "
                                     "WHERE store_id = $1");
  db.Prepare("tiers_due",
             "SELECT store_id, customer_id FROM points.customer_tiers "
             "WHERE review_at <= " FROM_MICROS(
                 "$2") " AND ($1 = '' OR store_id = $1) "
                       "ORDER BY review_at, store_id, customer_id LIMIT $3");
}

std::optional<v1::TierVersion> TierStore::VersionAt(pqxx::transaction_base& tx,
                                                    const std::string& store, int64_t at_us) const {
  const auto rows = tx.exec_prepared("tiers_version_at", store, at_us);
  if (rows.empty()) return std::nullopt;
  return ToVersion(rows[0]);
}

std::vector<v1::TierVersion> TierStore::AllVersions(pqxx::transaction_base& tx,
                                                    const std::string& store) const {
  std::vector<v1::TierVersion> out;
  for (const auto& r : tx.exec_prepared("tiers_versions", store)) out.push_back(ToVersion(r));
  return out;
}

v1::TierVersion TierStore::InsertVersion(pqxx::transaction_base& tx, const std::string& store,
                                         int64_t effective_from_us, const v1::TierProgram& program,
                                         const std::string& author,
                                         const std::string& reason) const {
  return ToVersion(tx.exec_prepared1("tiers_insert_version", store, effective_from_us,
                                     pqxx::binarystring(program.SerializeAsString()), author,
                                     reason));
}

TierState TierStore::LockState(pqxx::transaction_base& tx, const std::string& store,
                               const std::string& customer) const {
  tx.exec_prepared("tiers_touch_state", store, customer);
  return ToState(tx.exec_prepared1("tiers_lock_state", store, customer));
}

std::vector<std::pair<std::string, TierState>> TierStore::Holders(
    pqxx::transaction_base& tx, const std::string& store, const std::string& tier_id,
    const std::string& after_customer, int limit) const {
  std::vector<std::pair<std::string, TierState>> out;
  for (const auto& r : tx.exec_prepared("tiers_holders", store, tier_id, after_customer, limit)) {
    out.emplace_back(r[7].as<std::string>(), ToState(r));
  }
  return out;
}

std::vector<TierStanding> TierStore::Standings(pqxx::transaction_base& tx,
                                               const std::string& store,
                                               v1::TierMeasure measure_now,
                                               const TierWindowRange& now,
                                               v1::TierMeasure measure_draft,
                                               const TierWindowRange& draft) const {
  std::map<std::string, TierStanding> by_customer;
  for (const auto& r : tx.exec_prepared("tiers_dry_run_figures", store, now.from_us, now.to_us,
                                        measure_now == v1::TIER_MEASURE_POINTS, draft.from_us,
                                        draft.to_us, measure_draft == v1::TIER_MEASURE_POINTS)) {
    auto& s = by_customer[r[0].as<std::string>()];
    s.qualifying_now = r[1].as<int64_t>();
    s.qualifying_draft = r[2].as<int64_t>();
  }
  for (const auto& r : tx.exec_prepared("tiers_all_states", store)) {
    by_customer[r[7].as<std::string>()].state = ToState(r);
  }
  std::vector<TierStanding> standings;
  standings.reserve(by_customer.size());
  for (auto& [customer, s] : by_customer) {
    s.customer_id = customer;
    standings.push_back(std::move(s));
  }
  return standings;
}

std::optional<TierState> TierStore::ReadState(pqxx::transaction_base& tx, const std::string& store,
                                              const std::string& customer) const {
  const auto rows = tx.exec_prepared("tiers_read_state", store, customer);
  if (rows.empty()) return std::nullopt;
  return ToState(rows[0]);
}

void TierStore::SaveState(pqxx::transaction_base& tx, const std::string& store,
                          const std::string& customer, const TierState& s) const {
  tx.exec_prepared("tiers_save_state", store, customer, s.tier_id, s.since_us, s.kept_until_us,
                   s.manual_tier_id, s.manual_until_us, s.manual_by, s.manual_reason);
}

void TierStore::InsertActivity(pqxx::transaction_base& tx, const std::string& store,
                               const std::string& customer, const std::string& order_id,
                               int64_t placed_at_us,
                               const std::vector<TierActivityLine>& lines) const {
  if (lines.empty()) return;
  std::vector<std::string> ids;
  std::vector<int64_t> nets, points, quantities;
  for (const auto& l : lines) {
    ids.push_back(l.line_id);
    nets.push_back(l.net_minor);
    points.push_back(l.earned_points);
    quantities.push_back(l.quantity);
  }
  tx.exec_prepared("tiers_insert_activity", store, order_id, customer, placed_at_us,
                   common::PgTextArray(ids), common::PgIntArray(nets), common::PgIntArray(points),
                   common::PgIntArray(quantities));
}

std::vector<TierActivityLine> TierStore::LockOrderActivity(pqxx::transaction_base& tx,
                                                           const std::string& store,
                                                           const std::string& order_id) const {
  std::vector<TierActivityLine> out;
  for (const auto& r : tx.exec_prepared("tiers_order_activity", store, order_id)) {
    out.push_back(
        {r[0].as<std::string>(), r[1].as<int64_t>(), r[2].as<int64_t>(), r[3].as<int32_t>()});
  }
  return out;
}

void TierStore::SaveActivity(pqxx::transaction_base& tx, const std::string& store,
                             const std::string& order_id, const std::string& line_id,
                             int64_t spend_minor, int64_t points) const {
  tx.exec_prepared("tiers_save_activity", store, order_id, line_id, spend_minor, points);
}

int64_t TierStore::Qualifying(pqxx::transaction_base& tx, const std::string& store,
                              const std::string& customer, v1::TierMeasure measure,
                              const TierWindowRange& window) const {
  return tx
      .exec_prepared1("tiers_qualifying", store, customer, window.from_us, window.to_us,
                      measure == v1::TIER_MEASURE_POINTS)[0]
      .as<int64_t>();
}

std::vector<TierDue> TierStore::Due(pqxx::transaction_base& tx, const std::string& store,
                                    int64_t as_of_us, int limit) const {
  std::vector<TierDue> out;
  for (const auto& r : tx.exec_prepared("tiers_due", store, as_of_us, limit)) {
    out.push_back({r[0].as<std::string>(), r[1].as<std::string>()});
  }
  return out;
}

}  // namespace loyalty::points
