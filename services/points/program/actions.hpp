// The program room, member actions: RecordAction (signup, social share, product review, referral)
// and CreditAction, the one way any action's points reach the ledger (the jobs credit birthdays,
// first purchases and referrals through it too). Amounts and caps are the store's settings
// (`Settings.actions`); the pure rules are in action_rules.*, the SQL in action_store.*.
#pragma once

#include "ledger/ledger.hpp"
#include "points_context.hpp"
#include "program/action_store.hpp"

namespace loyalty::points {

// One action's reward: `lot_id` is its ledger key (LotId(kActionLot, {action, ...})).
struct ActionCredit {
  std::string lot_id;
  std::string action;  // actions.action: signup, first_purchase, birthday, share, review, ...
  int64_t points = 0;
  std::string reason;  // on the ledger and in the event log
  std::string request_id;
  int64_t occurred_us = 0;  // counts towards the cap of the period it falls in
};

// Credits `credit` to the ledger's customer (available at once, expiring per the settings) and
// logs "points.action", unless its key was rewarded before: then changes nothing and returns
// false. The caller holds the customer's ledger (balance locked) and saves it.
bool CreditAction(pqxx::transaction_base& tx, const PointsStore& store, const ActionStore& actions,
                  const std::string& store_id, const v1::Settings& settings, CustomerLedger& ledger,
                  const ActionCredit& credit);

class Actions {
 public:
  explicit Actions(PointsContext& ctx)
      : ctx_(ctx),
        db_(ctx.db),
        store_(ctx.store),
        actions_(ctx.db),
        idempotency_(ctx.idempotency) {}

  void RecordAction(const common::CallContext& call, const v1::RecordActionRequest* request,
                    v1::RecordActionResponse* response);

 private:
  customers::v1::Customer GetCustomer(const common::CallContext& call, const std::string& store_id,
                                      const std::string& customer_id) const;
  // The referrer a REFERRAL names (its code, else the customer's own referred_by_code), refused
  // when it is the customer or shares the customer's mailbox.
  std::string Referrer(const common::CallContext& call, const v1::RecordActionRequest& request,
                       const customers::v1::Customer& referee) const;
  // PRODUCT_REVIEW: the customer bought the line (their order, not cancelled).
  void RequirePurchased(const common::CallContext& call,
                        const v1::RecordActionRequest& request) const;

  PointsContext& ctx_;
  common::Database& db_;
  const PointsStore& store_;
  ActionStore actions_;
  common::Idempotency& idempotency_;
};

}  // namespace loyalty::points
