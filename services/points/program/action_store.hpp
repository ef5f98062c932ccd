// The member actions' statements (schema in migrations/V006): the actions rewarded (the ledger
// keys, for the caps), each customer's first order, and who referred whom. Kept apart from
// PointsStore so the program's actions read as one piece; prepared once like every statement.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "loyalty/common/db.hpp"
#include "program/action_rules.hpp"

namespace loyalty::points {

// A first order whose return window has ended, for the first-order job.
struct DueFirstOrder {
  std::string store_id;
  std::string customer_id;
  std::string order_id;
};

class ActionStore {
 public:
  explicit ActionStore(common::Database& db);

  // Records a rewarded action under its ledger key; false when the key was rewarded before.
  bool Record(pqxx::transaction_base& tx, const std::string& store, const std::string& lot_id,
              const std::string& customer, const std::string& action, int64_t points,
              int64_t occurred_us) const;
  bool Rewarded(pqxx::transaction_base& tx, const std::string& store,
                const std::string& lot_id) const;
  // The customer's rewards of `action` in the local period (dates in `time_zone`).
  int64_t CountInPeriod(pqxx::transaction_base& tx, const std::string& store,
                        const std::string& customer, const std::string& action,
                        const LocalPeriod& period, const std::string& time_zone) const;

  // The customer's first order: the first one recorded stays (`void` for history imports).
  void RecordFirstOrder(pqxx::transaction_base& tx, const std::string& store,
                        const std::string& customer, const std::string& order_id,
                        std::optional<int64_t> window_ends_us, bool earns) const;
  // The order's return window started (fulfilment): it ends at `window_ends_us`.
  void StartFirstOrderWindow(pqxx::transaction_base& tx, const std::string& store,
                             const std::string& order_id, int64_t window_ends_us) const;
  // The order was refunded or cancelled before its window ended: it earns nothing.
  void VoidFirstOrder(pqxx::transaction_base& tx, const std::string& store,
                      const std::string& order_id) const;
  // "waiting", "rewarded", "void"; nullopt when the customer has not ordered.
  std::optional<std::string> FirstOrderState(pqxx::transaction_base& tx, const std::string& store,
                                             const std::string& customer) const;
  // Waiting first orders whose window ended by `as_of_us` (`store` empty: every store).
  std::vector<DueFirstOrder> FirstOrdersDue(pqxx::transaction_base& tx, const std::string& store,
                                            int64_t as_of_us, int limit) const;
  // Locks the customer's first order if it is still waiting and due; its order id, or nullopt.
  std::optional<std::string> LockDueFirstOrder(pqxx::transaction_base& tx, const std::string& store,
                                               const std::string& customer, int64_t as_of_us) const;
  void MarkFirstOrderRewarded(pqxx::transaction_base& tx, const std::string& store,
                              const std::string& customer) const;

  // Records that `referrer` referred `referee`; false when the referee already has a referrer.
  bool InsertReferral(pqxx::transaction_base& tx, const std::string& store,
                      const std::string& referee, const std::string& referrer) const;
  std::optional<std::string> ReferrerOf(pqxx::transaction_base& tx, const std::string& store,
                                        const std::string& referee) const;
  // Referrals the referrer was rewarded for in the local period (dates in `time_zone`).
  int64_t ReferralsRewarded(pqxx::transaction_base& tx, const std::string& store,
                            const std::string& referrer, const LocalPeriod& period,
                            const std::string& time_zone) const;
  void MarkReferralRewarded(pqxx::transaction_base& tx, const std::string& store,
                            const std::string& referee, int64_t at_us) const;
};

}  // namespace loyalty::points
