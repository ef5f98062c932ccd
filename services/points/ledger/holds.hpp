// The ledger room, holds: two-phase redemption. Reserve moves available points to a hold;
// the order's event (or CommitRedemption) commits it once (CustomerLedger::CommitHold); void and
// hold expiry give the points back, only once the orders service confirms that the order will
// never exist.
#pragma once

#include "points_context.hpp"
#include "program/reward_rules.hpp"
#include "program/tiers.hpp"

namespace loyalty::points {

class Holds {
 public:
  explicit Holds(PointsContext& ctx)
      : db_(ctx.db),
        store_(ctx.store),
        rewards_(ctx.reward_store),
        idempotency_(ctx.idempotency),
        orders_(*ctx.orders),
        tiers_(ctx) {}

  void ReserveRedemption(const common::CallContext& call,
                         const v1::ReserveRedemptionRequest* request,
                         v1::ReserveRedemptionResponse* response);
  void CommitRedemption(const common::CallContext& call, const v1::CommitRedemptionRequest* request,
                        v1::CommitRedemptionResponse* response);
  void VoidRedemption(const common::CallContext& call, const v1::VoidRedemptionRequest* request,
                      v1::VoidRedemptionResponse* response);

  // Ends an active hold as `state` ("voided", "expired"), giving its points back to the lots
  // they came from, and its reward's unit back to the stock. False when the hold had already
  // ended (it ends exactly once).
  bool ReleaseHold(pqxx::transaction_base& tx, const std::string& store_id, const HoldRow& hold,
                   const std::string& state) const;
  // Asks the orders service to make sure the hold's order will never exist. True when it is dead.
  bool AbandonOrder(const common::CallContext& call, const std::string& store_id,
                    const std::string& order_id) const;

 private:
  // The reward a hold redeems, locked, after its rules allow it for the customer now; its stock
  // unit taken. FAILED_PRECONDITION naming reward_id with the rule's reason otherwise.
  v1::Reward TakeReward(pqxx::transaction_base& tx, const std::string& store_id,
                        const std::string& customer_id, const std::string& reward_id,
                        const v1::Settings& settings) const;

  common::Database& db_;
  const PointsStore& store_;
  const RewardStore& rewards_;
  common::Idempotency& idempotency_;
  orders::v1::OrdersService::Stub& orders_;
  Tiers tiers_;  // a reward's tier restriction reads the customer's tier
};

}  // namespace loyalty::points
