// The rewards tables' statements (migrations/V008__rewards.sql), named and prepared once, beside
// TierStore.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "loyalty/common/db.hpp"
#include "loyalty/points/v1/points_service.pb.h"
#include "program/reward_replay.hpp"

namespace loyalty::points {

// A reward's row, locked: its current version and the units redeemed.
struct RewardStock {
  int32_t version = 0;
  int64_t redeemed = 0;
};

class RewardStore {
 public:
  explicit RewardStore(common::Database& db);

  // Writes the next version of a reward's definition (1 for a new reward) and points the reward
  // at it; `stock_limit` goes beside the units redeemed. A new reward: `create`.
  v1::Reward InsertVersion(pqxx::transaction_base& tx, const std::string& store,
                           const std::string& reward_id, const v1::RewardDefinition& definition,
                           const std::string& author, const std::string& reason,
                           bool create) const;
  // The reward's row, locked (nullopt: no such reward).
  std::optional<RewardStock> Lock(pqxx::transaction_base& tx, const std::string& store,
                                  const std::string& reward_id) const;
  // The reward's current version with its stock row locked (nullopt: no such reward).
  std::optional<v1::Reward> LockCurrent(pqxx::transaction_base& tx, const std::string& store,
                                        const std::string& reward_id) const;
  // Takes one unit of its stock; false when none is left (the row's CHECK holds regardless).
  bool TakeUnit(pqxx::transaction_base& tx, const std::string& store,
                const std::string& reward_id) const;
  // Gives one unit back (a hold that redeemed it ended unspent).
  void ReturnUnit(pqxx::transaction_base& tx, const std::string& store,
                  const std::string& reward_id) const;
  // The current version of each reward of the store (an empty `reward_id`: all), by id.
  std::vector<v1::Reward> Current(pqxx::transaction_base& tx, const std::string& store,
                                  const std::string& reward_id) const;
  // A reward's versions, newest first.
  std::vector<v1::Reward> Versions(pqxx::transaction_base& tx, const std::string& store,
                                   const std::string& reward_id) const;
  // Its redemptions (holds that redeemed it, committed by their order) made in [from, to),
  // oldest first, and how many were made before `from`; one statement.
  struct Redemptions {
    int64_t before = 0;
    std::vector<Redemption> in_period;
  };
  Redemptions RedemptionsIn(pqxx::transaction_base& tx, const std::string& store,
                            const std::string& reward_id, int64_t from_us, int64_t to_us) const;
};

}  // namespace loyalty::points
