// Applying order events, exactly once each (the inbox records them in the same transaction).
#include "events/order_events.hpp"

#include <google/protobuf/util/time_util.h>

#include <map>
#include <set>

#include "earn_rules.hpp"
#include "ledger/ledger.hpp"
#include "ledger/pg_ledger_store.hpp"
#include "lot_key.hpp"
#include "loyalty/common/money.hpp"
#include "loyalty/common/time.hpp"
#include "program/settings.hpp"

namespace loyalty::points {

using google::protobuf::util::TimeUtil;
using orders::v1::OrderCancelled;
using orders::v1::OrderFulfilled;
using orders::v1::OrderPlaced;
using orders::v1::OrderRefunded;

namespace {

constexpr int64_t kMicrosPerDay = 86'400'000'000;

using common::NowMicros;

}  // namespace

void OrderEvents::Subscribe(common::InboxEventSink& sink) {
  auto placed = [this](pqxx::transaction_base& tx, const events::v1::Event& e) {
    OnOrderPlaced(tx, e);
  };
  sink.On("order.placed", placed);
  sink.On("order.imported", placed);
  sink.On("order.fulfilled", [this](pqxx::transaction_base& tx, const events::v1::Event& e) {
    OnOrderFulfilled(tx, e);
  });
  sink.On("order.refunded", [this](pqxx::transaction_base& tx, const events::v1::Event& e) {
    OnOrderRefunded(tx, e);
  });
  sink.On("order.cancelled", [this](pqxx::transaction_base& tx, const events::v1::Event& e) {
    OnOrderCancelled(tx, e);
  });
}

void OrderEvents::OnOrderPlaced(pqxx::transaction_base& tx, const events::v1::Event& event) {
  const auto placed = common::UnpackEvent<OrderPlaced>(event);
  const auto& order = placed.order();
  const std::string& store_id = event.store_id();
  const auto settings = SettingsOrDefault(store_, tx, store_id, order.currency_code());
  const int64_t placed_us = TimeUtil::TimestampToMicroseconds(order.placed_at());
  PgLedgerStore rows(tx, store_, store_id);
  CustomerLedger ledger(rows, order.customer_id());

  // Earn, per line, under the rule version in force when the order was placed.
  int64_t earned = 0;
  const auto rules = order.earns_points() ? store_.RulesAt(tx, store_id, placed_us) : std::nullopt;
  const bool from_placement = settings.return_window_start() == v1::RETURN_WINDOW_START_PLACEMENT;
  std::optional<int64_t> window_start;
  if (from_placement) window_start = placed_us;
  if (order.has_fulfilled_at())
    window_start = TimeUtil::TimestampToMicroseconds(order.fulfilled_at());
  int64_t order_net = 0;
  for (const auto& line : order.lines()) order_net += line.net_minor();
  // The tier in force when the order was placed, as the quote read it (Program::PreviewEarn).
  const auto tier = tiers_.Read(tx, store_id, order.customer_id(), settings, placed_us);
  const int32_t tier_bps = tier ? tier->earn_bps : kOneX;
  std::vector<TierActivityLine> activity;
  for (const auto& line : order.lines()) {
    const auto& l = line.line();
    const int64_t points =
        rules ? LinePoints(rules->rules(), settings, {l.sku(), l.category(), line.net_minor()},
                           order_net, placed_us, tier_bps)
              : 0;
    if (l.quantity() > 0) {
      activity.push_back({l.line_id(), line.net_minor(), points, l.quantity()});
    }
    if (points > 0) {
      LotRow lot;
      lot.lot_id = LotId(kEarnLot, {order.order_id(), l.line_id()});
      lot.kind = kEarnLot;
      lot.order_id = order.order_id();
      lot.line_id = l.line_id();
      lot.rule_version = rules->version();
      lot.earned = points;
      lot.line_quantity = l.quantity();
      if (window_start)
        lot.available_at_us = *window_start + settings.return_window_days() * kMicrosPerDay;
      ledger.Earn(lot);
      earned += points;
    }
    if (line.points_paid() > 0) {
      // Where the points that paid for this line come back to on a refund.
      LotRow paid;
      paid.lot_id = LotId(kPaybackLot, {order.order_id(), l.line_id()});
      paid.customer_id = order.customer_id();
      paid.kind = kPaybackLot;
      paid.order_id = order.order_id();
      paid.line_id = l.line_id();
      paid.line_quantity = l.quantity();
      paid.paid_points = line.points_paid();
      store_.InsertLot(tx, store_id, paid);
    }
  }

  // A subscription renewal's bonus, as checkout priced it (not multiplied by the tier, no spend).
  if (order.earns_points() && order.renewal_bonus_points() > 0) {
    LotRow lot;
    lot.lot_id = LotId(kEarnLot, {order.order_id(), kRenewalBonusLine});
    lot.kind = kEarnLot;
    lot.order_id = order.order_id();
    lot.line_id = std::string(kRenewalBonusLine);
    lot.rule_version = rules ? rules->version() : 0;
    lot.earned = order.renewal_bonus_points();
    lot.line_quantity = 1;
    if (window_start)
      lot.available_at_us = *window_start + settings.return_window_days() * kMicrosPerDay;
    ledger.Earn(lot);
    earned += lot.earned;
  }

  // Commit the holds the order names. A hold that already ended is taken anyway: the order
  // exists, so its points were spent, as a debt if need be.
  for (const auto& payment : order.points_payments()) {
    const auto hold = ledger.CommitHold(payment.hold_id(), order.order_id());
    if (!hold || hold->state != "committed") {
      TransferRow meta;
      meta.order_id = order.order_id();
      meta.reason = "hold " + payment.hold_id();
      const int64_t debt_before = ledger.balance().debt;
      meta.kind = "commit_late";
      // The hold's own points when there is one: a reward's cost is not in the payment.
      const int64_t owed = hold ? hold->points : payment.points();
      ledger.TakeForOrder(owed, meta);
      store_.AppendEvent(tx, store_id, "points.debt_recorded", order.customer_id(),
                         order.order_id(), debt_before - ledger.balance().debt,
                         {{"hold_id", payment.hold_id()},
                          {"hold_state", hold ? hold->state : "unknown"},
                          {"points_taken", owed}});
    }
  }
  // The customer's first order (the first one recorded stays): history imports earn nothing.
  std::optional<int64_t> window_ends;
  if (window_start) window_ends = *window_start + settings.return_window_days() * kMicrosPerDay;
  actions_.RecordFirstOrder(tx, store_id, order.customer_id(), order.order_id(), window_ends,
                            event.type() == "order.placed");
  ledger.Save();
  if (earned > 0) {
    nlohmann::json details = {{"rule_version", rules ? rules->version() : 0}};
    if (order.renewal_bonus_points() > 0) {
      details["subscription_id"] = order.subscription_id();
      details["renewal_bonus_points"] = order.renewal_bonus_points();
    }
    store_.AppendEvent(tx, store_id, "points.earned", order.customer_id(), order.order_id(), earned,
                       details);
  }
  if (event.type() == "order.placed") {
    nlohmann::json details = {{"total_minor", order.total_minor()},
                              {"currency_code", order.currency_code()}};
    if (!order.thank_you_code().empty()) details["thank_you_code"] = order.thank_you_code();
    store_.AppendEvent(tx, store_id, "order.confirmed", order.customer_id(), order.order_id(),
                       earned, details);
  }
  // After the order's own events, so a tier.changed follows the order that caused it.
  tiers_.OnOrder(tx, store_id, order.customer_id(), order.order_id(), placed_us, activity,
                 settings);
}

void OrderEvents::OnOrderFulfilled(pqxx::transaction_base& tx, const events::v1::Event& event) {
  const auto fulfilled = common::UnpackEvent<OrderFulfilled>(event);
  const auto settings = store_.Settings(tx, event.store_id());
  if (!settings || settings->return_window_start() == v1::RETURN_WINDOW_START_PLACEMENT) return;
  const int64_t start = TimeUtil::TimestampToMicroseconds(fulfilled.fulfilled_at());
  actions_.StartFirstOrderWindow(tx, event.store_id(), fulfilled.order_id(),
                                 start + settings->return_window_days() * kMicrosPerDay);
  for (auto& lot : store_.LotsOfOrder(tx, event.store_id(), fulfilled.order_id())) {
    if (lot.kind != kEarnLot || lot.available_at_us) continue;
    lot.available_at_us = start + settings->return_window_days() * kMicrosPerDay;
    store_.SaveLot(tx, event.store_id(), lot);
  }
}

void OrderEvents::RefundLine(pqxx::transaction_base& tx, CustomerLedger& ledger,
                             const v1::Settings& settings, const std::string& store_id,
                             const std::string& order_id, const std::string& line_id,
                             int32_t refunded_total, int64_t now_us) {
  // Cumulative shares: after r of q units, ⌊P·r/q⌋ clawed and ⌊H·r/q⌋ given back in all.
  if (auto lot = store_.LockLineLot(tx, store_id, kEarnLot, order_id, line_id)) {
    const int64_t target = common::CumulativeShare(lot->earned, refunded_total, lot->line_quantity);
    if (target > lot->clawed) {
      TransferRow meta;
      meta.reason = "refund of line " + line_id;
      const int64_t amount = target - lot->clawed;
      ledger.Clawback(*lot, amount, settings.clawback_policy(), meta);
      store_.AppendEvent(tx, store_id, "points.clawed_back", ledger.customer_id(), order_id, amount,
                         {{"line_id", line_id}, {"rule_version", lot->rule_version}});
    }
  }
  if (auto paid = store_.LockLineLot(tx, store_id, kPaybackLot, order_id, line_id)) {
    const int64_t target =
        common::CumulativeShare(paid->paid_points, refunded_total, paid->line_quantity);
    if (target > paid->paid_back) {
      TransferRow meta;
      meta.kind = "payback";
      meta.order_id = order_id;
      meta.line_id = line_id;
      meta.reason = "points paid for refunded units";
      const int64_t amount = target - paid->paid_back;
      paid->paid_back = target;
      if (!paid->available_at_us) paid->available_at_us = now_us;
      if (!paid->expires_at_us && settings.expiry_months() > 0) {
        paid->expires_at_us = AddMonths(now_us, settings.expiry_months());
      }
      ledger.CreditAvailable(*paid, "redeemed", amount, meta);
      store_.SaveLot(tx, store_id, *paid);
      store_.AppendEvent(tx, store_id, "points.returned", ledger.customer_id(), order_id, amount,
                         {{"line_id", line_id}});
    }
  }
}

void OrderEvents::OnOrderRefunded(pqxx::transaction_base& tx, const events::v1::Event& event) {
  const auto refund = common::UnpackEvent<OrderRefunded>(event);
  const auto settings = RequireSettings(store_, tx, event.store_id());  // order.placed seeded them
  PgLedgerStore rows(tx, store_, event.store_id());
  CustomerLedger ledger(rows, refund.customer_id());
  for (const auto& line : refund.lines()) {
    RefundLine(tx, ledger, settings, event.store_id(), refund.order_id(), line.line_id(),
               line.refunded_quantity_total(), NowMicros());
  }
  if (refund.order_refunded_in_full()) {
    // The renewal bonus was earned by the order as a whole (one unit): back with its last unit.
    RefundLine(tx, ledger, settings, event.store_id(), refund.order_id(),
               std::string(kRenewalBonusLine), 1, NowMicros());
  }
  actions_.VoidFirstOrder(tx, event.store_id(), refund.order_id());  // a refunded first order
  ledger.Save();
  std::map<std::string, int32_t> refunded;
  for (const auto& line : refund.lines()) {
    refunded[line.line_id()] = line.refunded_quantity_total();
  }
  tiers_.OnRefund(tx, event.store_id(), refund.customer_id(), refund.order_id(), refunded,
                  "refund " + refund.refund_id() + " of order " + refund.order_id(), settings);
}

void OrderEvents::OnOrderCancelled(pqxx::transaction_base& tx, const events::v1::Event& event) {
  const auto cancelled = common::UnpackEvent<OrderCancelled>(event);
  const auto settings = RequireSettings(store_, tx, event.store_id());  // order.placed seeded them
  PgLedgerStore rows(tx, store_, event.store_id());
  CustomerLedger ledger(rows, cancelled.customer_id());
  std::set<std::string> lines;
  for (const auto& lot : store_.LotsOfOrder(tx, event.store_id(), cancelled.order_id())) {
    lines.insert(lot.line_id);
  }
  for (const auto& line_id : lines) {
    // Everything not yet taken back: the whole line counts as refunded.
    const auto earn =
        store_.LockLineLot(tx, event.store_id(), kEarnLot, cancelled.order_id(), line_id);
    const auto paid =
        store_.LockLineLot(tx, event.store_id(), kPaybackLot, cancelled.order_id(), line_id);
    const int32_t quantity = earn ? earn->line_quantity : paid->line_quantity;
    RefundLine(tx, ledger, settings, event.store_id(), cancelled.order_id(), line_id, quantity,
               NowMicros());
  }
  actions_.VoidFirstOrder(tx, event.store_id(), cancelled.order_id());
  ledger.Save();
  tiers_.OnRefund(tx, event.store_id(), cancelled.customer_id(), cancelled.order_id(),
                  std::nullopt, "cancellation of order " + cancelled.order_id(), settings);
}

}  // namespace loyalty::points
