// The tier tables' statements (migrations/V007__tiers.sql), named and prepared once, beside
// PointsStore (which holds the ledger's).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "loyalty/common/db.hpp"
#include "loyalty/points/v1/points_service.pb.h"
#include "program/tier_replay.hpp"
#include "program/tier_rules.hpp"

namespace loyalty::points {

// One order line's figures as tier_activity keeps them.
struct TierActivityLine {
  std::string line_id;
  int64_t net_minor = 0;
  int64_t earned_points = 0;
  int32_t quantity = 0;
};

// A customer whose tier the job must look at.
struct TierDue {
  std::string store_id;
  std::string customer_id;
};

class TierStore {
 public:
  explicit TierStore(common::Database& db);

  // The version in force at `at_us` (latest effective_from at or before it).
  std::optional<v1::TierVersion> VersionAt(pqxx::transaction_base& tx, const std::string& store,
                                           int64_t at_us) const;
  std::vector<v1::TierVersion> AllVersions(pqxx::transaction_base& tx,
                                           const std::string& store) const;
  v1::TierVersion InsertVersion(pqxx::transaction_base& tx, const std::string& store,
                                int64_t effective_from_us, const v1::TierProgram& program,
                                const std::string& author, const std::string& reason) const;

  // Creates the customer's row if missing and locks it (every writer locks it first).
  TierState LockState(pqxx::transaction_base& tx, const std::string& store,
                      const std::string& customer) const;
  std::optional<TierState> ReadState(pqxx::transaction_base& tx, const std::string& store,
                                     const std::string& customer) const;
  // Up to `limit` customers after `after_customer` (by id) whose earned or manual tier is
  // `tier_id`, with their state.
  std::vector<std::pair<std::string, TierState>> Holders(pqxx::transaction_base& tx,
                                                         const std::string& store,
                                                         const std::string& tier_id,
                                                         const std::string& after_customer,
                                                         int limit) const;
  void SaveState(pqxx::transaction_base& tx, const std::string& store, const std::string& customer,
                 const TierState& state) const;

  // An order's lines, once (a replayed event inserts nothing).
  void InsertActivity(pqxx::transaction_base& tx, const std::string& store,
                      const std::string& customer, const std::string& order_id,
                      int64_t placed_at_us, const std::vector<TierActivityLine>& lines) const;
  std::vector<TierActivityLine> LockOrderActivity(pqxx::transaction_base& tx,
                                                  const std::string& store,
                                                  const std::string& order_id) const;
  void SaveActivity(pqxx::transaction_base& tx, const std::string& store,
                    const std::string& order_id, const std::string& line_id, int64_t spend_minor,
                    int64_t points) const;
  // The customer's spend or points placed in [from, to).
  int64_t Qualifying(pqxx::transaction_base& tx, const std::string& store,
                     const std::string& customer, v1::TierMeasure measure,
                     const TierWindowRange& window) const;

  // Every customer of the store with activity in either window or a stored tier state, with
  // their figure under each (measure, window) pair: a tier program's dry run (two statements).
  std::vector<TierStanding> Standings(pqxx::transaction_base& tx, const std::string& store,
                                      v1::TierMeasure measure_now, const TierWindowRange& now,
                                      v1::TierMeasure measure_draft,
                                      const TierWindowRange& draft) const;

  // Customers whose review time has come by `as_of_us`, soonest first (an empty `store`: all).
  std::vector<TierDue> Due(pqxx::transaction_base& tx, const std::string& store, int64_t as_of_us,
                           int limit) const;
};

}  // namespace loyalty::points
