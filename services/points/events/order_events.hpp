// The events room: the order events the points service applies, each exactly once through the
// inbox (in the inbox's transaction). `order.placed`/`imported`: pending lots per line under the
// rule version in force at the placed time, and the holds the order names committed;
// `fulfilled`: the return window starts; `refunded`: per-line clawback and give-back, cumulative;
// `cancelled`: the whole order as refunded. Each customer's first order is recorded for the
// first-purchase and referral points (program/actions.*): its window from placed or fulfilled, and
// voided by a refund or cancellation. Each also re-evaluates the customer's tier
// (program/tiers.*): an order earns with the tier in force when it was placed.
#pragma once

#include "ledger/ledger.hpp"
#include "loyalty/common/events.hpp"
#include "points_context.hpp"
#include "program/action_store.hpp"
#include "program/tiers.hpp"

namespace loyalty::points {

class OrderEvents {
 public:
  explicit OrderEvents(PointsContext& ctx) : store_(ctx.store), actions_(ctx.db), tiers_(ctx) {}

  // Registers the handlers on the service's event sink.
  void Subscribe(common::InboxEventSink& sink);

 private:
  void OnOrderPlaced(pqxx::transaction_base& tx, const events::v1::Event& event);
  void OnOrderFulfilled(pqxx::transaction_base& tx, const events::v1::Event& event);
  void OnOrderRefunded(pqxx::transaction_base& tx, const events::v1::Event& event);
  void OnOrderCancelled(pqxx::transaction_base& tx, const events::v1::Event& event);
  // Claws back and gives back paid points for `refunded_total` of `quantity` units of a line.
  void RefundLine(pqxx::transaction_base& tx, CustomerLedger& ledger, const v1::Settings& settings,
                  const std::string& store_id, const std::string& order_id,
                  const std::string& line_id, int32_t refunded_total, int64_t now_us);

  const PointsStore& store_;
  ActionStore actions_;  // each customer's first order, for the first-purchase and referral points
  Tiers tiers_;  // the tier an order earns with; re-evaluation after orders and refunds
};

}  // namespace loyalty::points
