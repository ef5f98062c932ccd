// What the ledger reads and writes, and nothing else: one store's rows within one transaction.
// PgLedgerStore (pg_ledger_store.*) is the Postgres one, over PointsStore's statements; the unit
// tests use an in-memory one. Every "Lock" returns the row locked until the transaction ends.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ledger/rows.hpp"

namespace loyalty::points {

class LedgerStore {
 public:
  virtual ~LedgerStore() = default;

  // The customer's balance row, locked (created at zero if the customer has none).
  virtual BalanceRow LockBalance(const std::string& customer) = 0;
  virtual void SaveBalance(const std::string& customer, const BalanceRow& balance) = 0;
  virtual void InsertTransfer(const TransferRow& transfer) = 0;

  virtual void InsertLot(const LotRow& lot) = 0;
  virtual std::optional<LotRow> LockLot(const std::string& lot_id) = 0;
  virtual void SaveLot(const LotRow& lot) = 0;
  // Up to `limit` of the customer's lots with available points, locked, in spending order:
  // SpendsBefore (ledger.hpp), soonest expiry first, never-expiring last, then lot id.
  virtual std::vector<LotRow> SpendableLots(const std::string& customer, int limit) = 0;

  virtual std::optional<HoldRow> LockHold(const std::string& hold_id) = 0;
  // The lots a hold took its points from, with the points taken from each.
  virtual std::vector<std::pair<std::string, int64_t>> HoldLots(const std::string& hold_id) = 0;
  virtual void EndHold(const std::string& hold_id, const std::string& state) = 0;

  // An entry of the store's event log.
  virtual void AppendEvent(const std::string& type, const std::string& customer,
                           const std::string& order, int64_t points,
                           const nlohmann::json& details) = 0;
};

}  // namespace loyalty::points
