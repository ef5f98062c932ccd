// The ledger's store in Postgres: PointsStore's prepared statements, bound to one transaction
// and one store (tenant).
#pragma once

#include "ledger/ledger_store.hpp"
#include "points_store.hpp"

namespace loyalty::points {

class PgLedgerStore final : public LedgerStore {
 public:
  PgLedgerStore(pqxx::transaction_base& tx, const PointsStore& store, std::string store_id)
      : tx_(tx), store_(store), store_id_(std::move(store_id)) {}

  BalanceRow LockBalance(const std::string& customer) override {
    return store_.LockBalance(tx_, store_id_, customer);
  }
  void SaveBalance(const std::string& customer, const BalanceRow& balance) override {
    store_.SaveBalance(tx_, store_id_, customer, balance);
  }
  void InsertTransfer(const TransferRow& transfer) override {
    store_.InsertTransfer(tx_, store_id_, transfer);
  }
  void InsertLot(const LotRow& lot) override { store_.InsertLot(tx_, store_id_, lot); }
  std::optional<LotRow> LockLot(const std::string& lot_id) override {
    return store_.LockLot(tx_, store_id_, lot_id);
  }
  void SaveLot(const LotRow& lot) override { store_.SaveLot(tx_, store_id_, lot); }
  std::vector<LotRow> SpendableLots(const std::string& customer, int limit) override {
    return store_.SpendableLots(tx_, store_id_, customer, true, limit);
  }
  std::optional<HoldRow> LockHold(const std::string& hold_id) override {
    return store_.LockHold(tx_, store_id_, hold_id);
  }
  std::vector<std::pair<std::string, int64_t>> HoldLots(const std::string& hold_id) override {
    return store_.HoldLots(tx_, store_id_, hold_id);
  }
  void EndHold(const std::string& hold_id, const std::string& state) override {
    store_.EndHold(tx_, store_id_, hold_id, state);
  }
  void AppendEvent(const std::string& type, const std::string& customer, const std::string& order,
                   int64_t points, const nlohmann::json& details) override {
    store_.AppendEvent(tx_, store_id_, type, customer, order, points, details);
  }

  const std::string& store_id() const { return store_id_; }

 private:
  pqxx::transaction_base& tx_;
  const PointsStore& store_;
  std::string store_id_;
};

}  // namespace loyalty::points
