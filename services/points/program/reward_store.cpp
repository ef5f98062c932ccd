#include "program/reward_store.hpp"

#include <google/protobuf/util/time_util.h>

#include "loyalty/common/sql_time.hpp"

namespace loyalty::points {
namespace {

using google::protobuf::util::TimeUtil;

// Columns: reward_id, version, redeemed, definition, author, reason, created_at (µs).
v1::Reward ToReward(const pqxx::row& r) {
  v1::Reward reward;
  reward.set_reward_id(r[0].as<std::string>());
  reward.set_version(r[1].as<int32_t>());
  reward.set_redeemed(r[2].as<int64_t>());
  reward.mutable_definition()->ParseFromString(pqxx::binarystring(r[3]).str());
  reward.set_author(r[4].as<std::string>());
  reward.set_reason(r[5].as<std::string>());
  *reward.mutable_updated_at() = TimeUtil::MicrosecondsToTimestamp(r[6].as<int64_t>());
  return reward;
}

constexpr const char* kRewardColumns =
    "SELECT v.reward_id, v.version, r.redeemed, v.definition, v.author, v.reason, " MICROS(
        "v.created_at") " FROM points.reward_versions v JOIN points.rewards r "
                        "USING (store_id, reward_id) ";

}  // namespace

RewardStore::RewardStore(common::Database& db) {
  db.Prepare("rewards_insert_version",
             "INSERT INTO points.reward_versions (store_id, reward_id, version, definition, "
             "author, reason) SELECT $1, $2, coalesce(max(version), 0) + 1, $3, $4, $5 "
             "FROM points.reward_versions WHERE store_id = $1 AND reward_id = $2 "
             "RETURNING version");
  db.Prepare("rewards_create",
             "INSERT INTO points.rewards (store_id, reward_id, version, stock_limit) "
             "VALUES ($1, $2, $3, $4)");
  db.Prepare("rewards_point_at",
             "UPDATE points.rewards SET version = $3, stock_limit = $4 "
             "WHERE store_id = $1 AND reward_id = $2");
  db.Prepare("rewards_lock",
             "SELECT version, redeemed FROM points.rewards WHERE store_id = $1 AND reward_id = $2 "
             "FOR UPDATE");
  db.Prepare("rewards_current", std::string(kRewardColumns) +
                                    "WHERE v.store_id = $1 AND v.version = r.version AND "
                                    "($2 = '' OR v.reward_id = $2) "
                                    "ORDER BY v.reward_id COLLATE \"C\"");
  // Redeeming: the current version with the stock row locked (concurrent redemptions of one
  // reward queue here), then a unit taken, or given back when the hold ends unspent.
  db.Prepare("rewards_lock_current", std::string(kRewardColumns) +
                                         "WHERE v.store_id = $1 AND v.reward_id = $2 AND "
                                         "v.version = r.version FOR UPDATE OF r");
  db.Prepare("rewards_take_unit",
             "UPDATE points.rewards SET redeemed = redeemed + 1 WHERE store_id = $1 AND "
             "reward_id = $2 AND (stock_limit = 0 OR redeemed < stock_limit)");
  db.Prepare("rewards_return_unit",
             "UPDATE points.rewards SET redeemed = redeemed - 1 WHERE store_id = $1 AND "
             "reward_id = $2 AND redeemed > 0");
  db.Prepare("rewards_versions", std::string(kRewardColumns) +
                                     "WHERE v.store_id = $1 AND v.reward_id = $2 "
                                     "ORDER BY v.version DESC");
  // The count before the period comes back on every row (no rows: nothing to replay).
  db.Prepare("rewards_redemptions",
             "SELECT customer_id, reward_points, " MICROS("created_at") ", "
             "(SELECT count(*) FROM points.holds WHERE store_id = $1 AND reward_id = $2 "
             "  AND state = 'committed' AND created_at < " FROM_MICROS("$3") ") "
             "FROM points.holds WHERE store_id = $1 AND reward_id = $2 AND state = 'committed' "
             "AND created_at >= " FROM_MICROS("$3") " AND created_at < " FROM_MICROS("$4")
             " ORDER BY created_at, hold_id");
}

v1::Reward RewardStore::InsertVersion(pqxx::transaction_base& tx, const std::string& store,
                                      const std::string& reward_id,
                                      const v1::RewardDefinition& definition,
                                      const std::string& author, const std::string& reason,
                                      bool create) const {
  const auto version =
      tx.exec_prepared1("rewards_insert_version", store, reward_id,
                        pqxx::binarystring(definition.SerializeAsString()), author, reason)[0]
          .as<int32_t>();
  tx.exec_prepared(create ? "rewards_create" : "rewards_point_at", store, reward_id, version,
                   definition.stock_limit());
  return Current(tx, store, reward_id).at(0);
}

std::optional<RewardStock> RewardStore::Lock(pqxx::transaction_base& tx, const std::string& store,
                                             const std::string& reward_id) const {
  const auto rows = tx.exec_prepared("rewards_lock", store, reward_id);
  if (rows.empty()) return std::nullopt;
  return RewardStock{rows[0][0].as<int32_t>(), rows[0][1].as<int64_t>()};
}

std::optional<v1::Reward> RewardStore::LockCurrent(pqxx::transaction_base& tx,
                                                   const std::string& store,
                                                   const std::string& reward_id) const {
  const auto rows = tx.exec_prepared("rewards_lock_current", store, reward_id);
  if (rows.empty()) return std::nullopt;
  return ToReward(rows[0]);
}

bool RewardStore::TakeUnit(pqxx::transaction_base& tx, const std::string& store,
                           const std::string& reward_id) const {
  return tx.exec_prepared("rewards_take_unit", store, reward_id).affected_rows() == 1;
}

void RewardStore::ReturnUnit(pqxx::transaction_base& tx, const std::string& store,
                             const std::string& reward_id) const {
  tx.exec_prepared("rewards_return_unit", store, reward_id);
}

std::vector<v1::Reward> RewardStore::Current(pqxx::transaction_base& tx, const std::string& store,
                                             const std::string& reward_id) const {
  std::vector<v1::Reward> out;
  for (const auto& r : tx.exec_prepared("rewards_current", store, reward_id)) {
    out.push_back(ToReward(r));
  }
  return out;
}

RewardStore::Redemptions RewardStore::RedemptionsIn(pqxx::transaction_base& tx,
                                                    const std::string& store,
                                                    const std::string& reward_id, int64_t from_us,
                                                    int64_t to_us) const {
  Redemptions out;
  for (const auto& r : tx.exec_prepared("rewards_redemptions", store, reward_id, from_us, to_us)) {
    out.in_period.push_back({r[0].as<std::string>(), r[1].as<int64_t>(), r[2].as<int64_t>()});
    out.before = r[3].as<int64_t>();
  }
  return out;
}

std::vector<v1::Reward> RewardStore::Versions(pqxx::transaction_base& tx,
                                              const std::string& store,
                                              const std::string& reward_id) const {
  std::vector<v1::Reward> out;
  for (const auto& r : tx.exec_prepared("rewards_versions", store, reward_id)) {
    out.push_back(ToReward(r));
  }
  return out;
}

}  // namespace loyalty::points
