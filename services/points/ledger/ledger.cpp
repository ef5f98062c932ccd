#include "ledger/ledger.hpp"

#include <chrono>
#include <stdexcept>

namespace loyalty::points {

namespace {
bool IsCustomerAccount(const std::string& a) {
  return a == "pending" || a == "available" || a == "held" || a == "debt";
}
}  // namespace

bool SpendsBefore(const LotRow& a, const LotRow& b) {
  if (a.expires_at_us != b.expires_at_us) {
    if (!a.expires_at_us) return false;
    if (!b.expires_at_us) return true;
    return *a.expires_at_us < *b.expires_at_us;
  }
  return a.lot_id < b.lot_id;
}

int64_t AddMonths(int64_t from_us, int32_t months) {
  using namespace std::chrono;
  const sys_time<microseconds> t{microseconds(from_us)};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  year_month_day shifted = ymd + std::chrono::months(months);
  if (!shifted.ok()) shifted = shifted.year() / shifted.month() / last;
  const auto result = sys_days(shifted) + (t - day);
  return duration_cast<microseconds>(result.time_since_epoch()).count();
}

CustomerLedger::CustomerLedger(LedgerStore& store, std::string customer_id)
    : store_(store), customer_id_(std::move(customer_id)) {
  balance_ = store_.LockBalance(customer_id_);
}

CustomerLedger::CustomerLedger(LedgerStore& store, std::string customer_id,
                               const BalanceRow& locked)
    : store_(store), customer_id_(std::move(customer_id)), balance_(locked) {}

int64_t& CustomerLedger::Field(const std::string& account) {
  if (account == "pending") return balance_.pending;
  if (account == "available") return balance_.available;
  if (account == "held") return balance_.held;
  return balance_.debt;
}

void CustomerLedger::Move(const std::string& from, const std::string& to, TransferRow meta) {
  if (meta.amount <= 0) return;
  if (IsCustomerAccount(from)) Field(from) -= meta.amount;
  if (IsCustomerAccount(to)) Field(to) += meta.amount;
  meta.customer_id = customer_id_;
  meta.from = from;
  meta.to = to;
  store_.InsertTransfer(meta);
}

void CustomerLedger::Earn(LotRow lot) {
  lot.customer_id = customer_id_;
  lot.pending = lot.earned;
  store_.InsertLot(lot);
  TransferRow meta;
  meta.amount = lot.earned;
  meta.kind = "earn";
  meta.order_id = lot.order_id;
  meta.line_id = lot.line_id;
  meta.lot_id = lot.lot_id;
  meta.rule_version = lot.rule_version;
  Move("issued", "pending", meta);
}

void CustomerLedger::RepayDebt(LotRow& lot, const TransferRow& meta) {
  const int64_t repay = std::min(-balance_.debt, lot.available);
  if (repay <= 0) return;
  TransferRow m = meta;
  m.amount = repay;
  m.kind = "repay";
  m.lot_id = lot.lot_id;
  Move("available", "debt", m);
  lot.available -= repay;
}

void CustomerLedger::Release(LotRow& lot, int64_t now_us, int32_t expiry_months) {
  TransferRow meta;
  meta.amount = lot.pending;
  meta.kind = "release";
  meta.order_id = lot.order_id;
  meta.line_id = lot.line_id;
  meta.lot_id = lot.lot_id;
  meta.rule_version = lot.rule_version;
  Move("pending", "available", meta);
  lot.available += lot.pending;
  lot.pending = 0;
  if (expiry_months > 0) lot.expires_at_us = AddMonths(now_us, expiry_months);
  RepayDebt(lot, meta);
  store_.SaveLot(lot);
}

void CustomerLedger::CreditAvailable(LotRow& lot, const std::string& from, int64_t amount,
                                     TransferRow meta) {
  meta.amount = amount;
  meta.lot_id = lot.lot_id;
  Move(from, "available", meta);
  lot.available += amount;
  RepayDebt(lot, meta);
}

void CustomerLedger::Spend(int64_t points, const std::string& to, TransferRow meta,
                           const std::function<void(const std::string&, int64_t)>& on_lot) {
  while (points > 0) {
    const auto lots = store_.SpendableLots(customer_id_, 100);
    if (lots.empty()) throw std::logic_error("available points without lots for " + customer_id_);
    for (auto lot : lots) {
      const int64_t take = std::min(points, lot.available);
      lot.available -= take;
      store_.SaveLot(lot);
      TransferRow m = meta;
      m.amount = take;
      m.lot_id = lot.lot_id;
      Move("available", to, m);
      if (on_lot) on_lot(lot.lot_id, take);
      points -= take;
      if (points == 0) break;
    }
  }
}

void CustomerLedger::Clawback(LotRow& lot, int64_t amount, v1::ClawbackPolicy policy,
                              TransferRow meta) {
  meta.kind = "clawback";
  meta.lot_id = lot.lot_id;
  meta.order_id = lot.order_id;
  meta.line_id = lot.line_id;
  meta.rule_version = lot.rule_version;
  const int64_t from_pending = std::min(amount, lot.pending);
  meta.amount = from_pending;
  Move("pending", "clawed_back", meta);
  lot.pending -= from_pending;
  const int64_t from_available = std::min(amount - from_pending, lot.available);
  meta.amount = from_available;
  Move("available", "clawed_back", meta);
  lot.available -= from_available;
  // The rest was spent (or expired): the customer owes it, or the store writes it off.
  meta.amount = amount - from_pending - from_available;
  Move(policy == v1::CLAWBACK_POLICY_WRITE_OFF ? "written_off" : "debt", "clawed_back", meta);
  lot.clawed += amount;
  store_.SaveLot(lot);
}

void CustomerLedger::TakeForOrder(int64_t points, TransferRow meta) {
  const int64_t from_available = std::min(points, balance_.available);
  Spend(from_available, "redeemed", meta);
  meta.amount = points - from_available;
  Move("debt", "redeemed", meta);
}

void CustomerLedger::Expire(LotRow& lot) {
  TransferRow meta;
  meta.amount = lot.available;
  meta.kind = "expire";
  meta.order_id = lot.order_id;
  meta.line_id = lot.line_id;
  meta.lot_id = lot.lot_id;
  meta.rule_version = lot.rule_version;
  Move("available", "expired", meta);
  lot.available = 0;
  store_.SaveLot(lot);
}

std::optional<HoldRow> CustomerLedger::CommitHold(const std::string& hold_id,
                                                  const std::string& order_id) {
  auto hold = store_.LockHold(hold_id);
  if (!hold || hold->state != "active") return hold;  // committed or ended before: once
  TransferRow meta;
  meta.amount = hold->points;
  meta.kind = "commit";
  meta.order_id = order_id;
  meta.reason = "hold " + hold->hold_id;
  Move("held", "redeemed", meta);
  store_.EndHold(hold->hold_id, "committed");
  store_.AppendEvent("redemption.committed", customer_id_, order_id, hold->points,
                     {{"hold_id", hold->hold_id}});
  hold->state = "committed";
  return hold;
}

bool CustomerLedger::ReturnHold(const HoldRow& hold, const std::string& state) {
  const auto locked = store_.LockHold(hold.hold_id);
  if (!locked || locked->state != "active") return false;  // ended meanwhile: exactly once
  for (const auto& [lot_id, points] : store_.HoldLots(hold.hold_id)) {
    auto lot = store_.LockLot(lot_id);
    TransferRow meta;
    meta.kind = state == "voided" ? "void" : "expire_hold";
    meta.order_id = hold.order_id;
    meta.reason = "hold " + hold.hold_id;
    // Back to the lot it came from, which keeps its expiry date.
    CreditAvailable(*lot, "held", points, meta);
    store_.SaveLot(*lot);
  }
  store_.EndHold(hold.hold_id, state);
  store_.AppendEvent("redemption." + state, hold.customer_id, hold.order_id, hold.points,
                     {{"hold_id", hold.hold_id}});
  return true;
}

void CustomerLedger::Save() { store_.SaveBalance(customer_id_, balance_); }

}  // namespace loyalty::points
