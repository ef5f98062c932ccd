// The rules of money for points: every operation is a set of transfers between a customer's
// accounts (pending, available, held, debt) and the store's (issued, redeemed, expired,
// clawed_back, written_off), applied through a LedgerStore inside the caller's transaction with
// the customer's balance row locked, so balances never go below zero whatever the concurrency.
// No I/O of its own: unit-tested with an in-memory store (tests/ledger_test.cpp).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "ledger/ledger_store.hpp"
#include "loyalty/points/v1/points_service.pb.h"

namespace loyalty::points {

// One customer's ledger within one transaction. Construction locks the balance row; Save()
// writes it back. Lots are locked as they are touched (after the balance: one lock order).
class CustomerLedger {
 public:
  CustomerLedger(LedgerStore& store, std::string customer_id);
  // For a caller that locked the balance row itself (batch jobs lock many in one statement).
  CustomerLedger(LedgerStore& store, std::string customer_id, const BalanceRow& locked);

  const BalanceRow& balance() const { return balance_; }
  const std::string& customer_id() const { return customer_id_; }

  // Moves `meta.amount` points from one account to another and records the transfer.
  void Move(const std::string& from, const std::string& to, TransferRow meta);

  // A new lot of earned points, pending until released.
  void Earn(LotRow lot);
  // Pending → available for the lot; starts its expiry clock; repays debt first.
  void Release(LotRow& lot, int64_t now_us, int32_t expiry_months);
  // Adds available points to a lot (adjustments, points given back) and repays debt first.
  void CreditAvailable(LotRow& lot, const std::string& from, int64_t amount, TransferRow meta);
  // Takes `points` of available points, oldest-expiring lots first (SpendsBefore), to `to`.
  // Calls on_lot(lot_id, points) for each lot used. The caller checked the balance.
  void Spend(int64_t points, const std::string& to, TransferRow meta,
             const std::function<void(const std::string&, int64_t)>& on_lot = {});
  // What is left available in a lot whose expiry came: available → expired. Saves the lot.
  void Expire(LotRow& lot);
  // Takes back `amount` earned points of a lot: from its pending, else its available, else (spent)
  // as debt or written off per policy.
  void Clawback(LotRow& lot, int64_t amount, v1::ClawbackPolicy policy, TransferRow meta);
  // Takes `points` that an order paid with although its hold had ended: available first, then debt.
  void TakeForOrder(int64_t points, TransferRow meta);

  // Holds (the customer's balance is locked first, then the hold: the lock order everywhere).
  // Commits the hold if it is active: held → redeemed, the hold ends "committed" and
  // "redemption.committed" is logged for `order_id`. Exactly once: a hold already committed (or
  // otherwise ended) is left as it is. Returns the hold as it is now; nullopt when there is none.
  std::optional<HoldRow> CommitHold(const std::string& hold_id, const std::string& order_id);
  // Ends an active hold as `state` ("voided" or "expired"), giving its points back to the lots
  // they came from (which keep their expiry dates). False when the hold had already ended.
  bool ReturnHold(const HoldRow& hold, const std::string& state);

  void Save();

 private:
  int64_t& Field(const std::string& account);
  void RepayDebt(LotRow& lot, const TransferRow& meta);

  LedgerStore& store_;
  std::string customer_id_;
  BalanceRow balance_;
};

// The order lots are spent in: soonest expiry first, never-expiring last, then lot id (bytes).
bool SpendsBefore(const LotRow& a, const LotRow& b);

// Months after `from_us` (calendar months in UTC, clamped to the month's last day).
int64_t AddMonths(int64_t from_us, int32_t months);

}  // namespace loyalty::points
