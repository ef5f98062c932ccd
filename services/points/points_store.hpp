// The points schema: every statement of the service, named and prepared in one place.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/rows.hpp"
#include "loyalty/common/db.hpp"
#include "loyalty/points/v1/points_service.pb.h"

namespace loyalty::points {

// (store, id) of something a job must process.
struct DueItem {
  std::string store_id;
  std::string id;  // lot id or hold id
  std::string customer_id;
};

// A customer's balance row as a batch job locked it.
struct LockedBalance {
  std::string store_id;
  std::string customer_id;
  BalanceRow balance;
};

// A lot as a batch job locked it.
struct LockedLot {
  std::string store_id;
  LotRow lot;
  bool warned = false;  // its expiry warning went out
};

// A hold a job must process, with its store.
struct DueHold {
  std::string store_id;
  HoldRow hold;
};

// One entry of the store's event log, for AppendEvents.
struct EventRow {
  std::string store_id;
  std::string type;
  std::string customer_id;
  std::string order_id;
  int64_t points = 0;
  nlohmann::json details = nlohmann::json::object();
};

class PointsStore {
 public:
  explicit PointsStore(common::Database& db);

  std::optional<v1::Settings> Settings(pqxx::transaction_base& tx, const std::string& store) const;
  // Tells other processes that the store's settings or rules changed (common/listen.hpp), so
  // that their copies are dropped at once; part of the caller's transaction.
  void AnnounceProgramChange(pqxx::transaction_base& tx, const std::string& store) const;
  // Who wrote a settings or rules version (an admin key's id; empty for the store's seed) and why.
  struct Written {
    std::string author;
    std::string reason;
  };
  v1::Settings InsertSettings(pqxx::transaction_base& tx, const std::string& store,
                              v1::Settings settings, const Written& written) const;
  std::optional<v1::RuleVersion> RulesAt(pqxx::transaction_base& tx, const std::string& store,
                                         int64_t at_us) const;
  std::optional<v1::RuleVersion> Rules(pqxx::transaction_base& tx, const std::string& store,
                                       int32_t version) const;
  std::vector<v1::RuleVersion> AllRules(pqxx::transaction_base& tx, const std::string& store) const;
  v1::RuleVersion InsertRules(pqxx::transaction_base& tx, const std::string& store,
                              int64_t effective_from_us, const v1::EarnRules& rules,
                              const Written& written) const;

  BalanceRow LockBalance(pqxx::transaction_base& tx, const std::string& store,
                         const std::string& customer) const;
  std::optional<BalanceRow> ReadBalance(pqxx::transaction_base& tx, const std::string& store,
                                        const std::string& customer) const;
  void SaveBalance(pqxx::transaction_base& tx, const std::string& store,
                   const std::string& customer, const BalanceRow& balance) const;
  void InsertTransfer(pqxx::transaction_base& tx, const std::string& store,
                      const TransferRow& transfer) const;

  void InsertLot(pqxx::transaction_base& tx, const std::string& store, const LotRow& lot) const;
  std::optional<LotRow> LockLot(pqxx::transaction_base& tx, const std::string& store,
                                const std::string& lot_id) const;
  // A line's lot of `kind` (kEarnLot or kPaybackLot), found by its columns (lots_by_line), so
  // lots made before ids were escaped are found too.
  std::optional<LotRow> LockLineLot(pqxx::transaction_base& tx, const std::string& store,
                                    std::string_view kind, const std::string& order_id,
                                    const std::string& line_id) const;
  std::vector<LotRow> LotsOfOrder(pqxx::transaction_base& tx, const std::string& store,
                                  const std::string& order_id) const;
  // The customer's lots with available points, soonest expiry first (never-expiring last).
  std::vector<LotRow> SpendableLots(pqxx::transaction_base& tx, const std::string& store,
                                    const std::string& customer, bool lock, int limit) const;
  void SaveLot(pqxx::transaction_base& tx, const std::string& store, const LotRow& lot) const;
  // Marks the lots' expiry warnings as sent, in one statement.
  void MarkWarned(pqxx::transaction_base& tx, const std::vector<LockedLot>& lots) const;

  void InsertHold(pqxx::transaction_base& tx, const std::string& store, const HoldRow& hold) const;
  std::optional<HoldRow> ReadHold(pqxx::transaction_base& tx, const std::string& store,
                                  const std::string& hold_id) const;
  std::optional<HoldRow> LockHold(pqxx::transaction_base& tx, const std::string& store,
                                  const std::string& hold_id) const;
  void EndHold(pqxx::transaction_base& tx, const std::string& store, const std::string& hold_id,
               const std::string& state) const;
  void InsertHoldLot(pqxx::transaction_base& tx, const std::string& store,
                     const std::string& hold_id, const std::string& lot_id, int64_t points) const;
  std::vector<std::pair<std::string, int64_t>> HoldLots(pqxx::transaction_base& tx,
                                                        const std::string& store,
                                                        const std::string& hold_id) const;

  void AppendEvent(pqxx::transaction_base& tx, const std::string& store, const std::string& type,
                   const std::string& customer, const std::string& order, int64_t points,
                   const nlohmann::json& details = nlohmann::json::object()) const;
  // Many events in one statement, logged in the order given.
  void AppendEvents(pqxx::transaction_base& tx, const std::vector<EventRow>& events) const;
  std::vector<v1::PointsEvent> Events(pqxx::transaction_base& tx, const std::string& store,
                                      const std::string& after_txid, int64_t after_id,
                                      int limit) const;
  // The cursor of the store's last visible event ("" when none is), in one index probe.
  std::string EndOfEvents(pqxx::transaction_base& tx, const std::string& store) const;

  // The jobs' questions. Each answers only what is due, through a partial index whose range
  // ends at the due time, so "nothing due" is one index probe however many rows exist. An empty
  // `store` means every store. Lots come in the order they fell due.
  std::vector<DueItem> LotsToRelease(pqxx::transaction_base& tx, const std::string& store,
                                     int64_t as_of_us, int limit) const;
  std::vector<DueItem> LotsToExpire(pqxx::transaction_base& tx, const std::string& store,
                                    int64_t as_of_us, int limit) const;
  // Lots not yet warned that expire by their store's horizon: (store, warn every lot expiring
  // at or before this time).
  std::vector<DueItem> LotsToWarn(pqxx::transaction_base& tx,
                                  const std::vector<std::pair<std::string, int64_t>>& horizons,
                                  int limit) const;
  // Active holds expired by `as_of_us`, in the order they expired (expiry, hold id), after
  // (after_expiry_us, after_hold): a pass pages through them, so holds that must stay (their
  // order exists) do not hide the ones behind them.
  std::vector<DueHold> HoldsToExpire(pqxx::transaction_base& tx, const std::string& store,
                                     int64_t as_of_us, int64_t after_expiry_us,
                                     const std::string& after_hold, int limit) const;
  // The settings in force of every store that has any (or of `store` only).
  std::vector<std::pair<std::string, v1::Settings>> CurrentSettings(pqxx::transaction_base& tx,
                                                                    const std::string& store) const;
  // Batch jobs lock as every ledger transaction does, balance before lots, and always in the
  // same order, so a batch never deadlocks with another batch or with a call. LockBalances
  // locks the balance rows of the items' customers in (store, customer) order; LockLots then
  // locks the items' lots in (store, customer, lot) order. Both in one statement.
  std::vector<LockedBalance> LockBalances(pqxx::transaction_base& tx,
                                          const std::vector<DueItem>& lots) const;
  std::vector<LockedLot> LockLots(pqxx::transaction_base& tx,
                                  const std::vector<DueItem>& lots) const;

  std::vector<v1::Transfer> Ledger(pqxx::transaction_base& tx, const std::string& store,
                                   const std::string& customer, int64_t before_id, int limit) const;
  // Mismatches between stored balances and what transfers, lots and holds say.
  std::vector<std::string> Verify(pqxx::transaction_base& tx, const std::string& store,
                                  int64_t* transfers, int64_t* customers, int64_t* zero_sum) const;
  // Every point ever issued (transfers out of `issued`; negative adjustments do not reduce it).
  int64_t IssuedGross(pqxx::transaction_base& tx, const std::string& store) const;
  // Points customers hold: pending + available + held, over the store.
  int64_t Outstanding(pqxx::transaction_base& tx, const std::string& store) const;
  // Balance of each store account (negative: points that left it), from transfers.
  std::vector<std::pair<std::string, int64_t>> StoreAccounts(pqxx::transaction_base& tx,
                                                             const std::string& store) const;

 private:
  std::optional<HoldRow> HoldQuery(pqxx::transaction_base& tx, const char* statement,
                                   const std::string& store, const std::string& hold_id) const;
};

}  // namespace loyalty::points
