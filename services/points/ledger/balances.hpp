// The ledger room, balances: a customer's balance with the lots expiring soonest, and the
// customer's transfers, newest first.
#pragma once

#include "points_context.hpp"
#include "program/tiers.hpp"

namespace loyalty::points {

// A customer's balance as the API shows it (debt as a positive number of points owed);
// the value of the available points needs the settings (none: 0).
void FillBalance(const BalanceRow& balance, const v1::Settings* settings,
                 const std::string& customer_id, v1::Balance* out);

class Balances {
 public:
  explicit Balances(PointsContext& ctx) : db_(ctx.db), store_(ctx.store), tiers_(ctx) {}

  void GetBalance(const common::CallContext& call, const v1::GetBalanceRequest* request,
                  v1::GetBalanceResponse* response);
  void ListLedger(const common::CallContext& call, const v1::ListLedgerRequest* request,
                  v1::ListLedgerResponse* response);

 private:
  common::Database& db_;
  const PointsStore& store_;
  Tiers tiers_;  // GetBalance answers the customer's tier
};

}  // namespace loyalty::points
