// The ledger's rules without Postgres: CustomerLedger over an in-memory LedgerStore.
#include "ledger/ledger.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace loyalty::points {
namespace {

// The few rows the ledger touches, in memory. Spendable lots come in SpendsBefore order, as the
// SQL orders them; locks are no-ops (one thread).
class FakeLedgerStore final : public LedgerStore {
 public:
  struct Event {
    std::string type, customer, order;
    int64_t points;
    nlohmann::json details;
  };

  BalanceRow LockBalance(const std::string& customer) override { return balances[customer]; }
  void SaveBalance(const std::string& customer, const BalanceRow& balance) override {
    balances[customer] = balance;
  }
  void InsertTransfer(const TransferRow& transfer) override { transfers.push_back(transfer); }
  void InsertLot(const LotRow& lot) override {
    if (!lots.emplace(lot.lot_id, lot).second) throw std::runtime_error("duplicate lot " + lot.lot_id);
  }
  std::optional<LotRow> LockLot(const std::string& lot_id) override {
    const auto it = lots.find(lot_id);
    if (it == lots.end()) return std::nullopt;
    return it->second;
  }
  void SaveLot(const LotRow& lot) override { lots.at(lot.lot_id) = lot; }
  std::vector<LotRow> SpendableLots(const std::string& customer, int limit) override {
    std::vector<LotRow> out;
    for (const auto& [id, lot] : lots) {
      if (lot.customer_id == customer && lot.available > 0) out.push_back(lot);
    }
    std::sort(out.begin(), out.end(), SpendsBefore);
    if (static_cast<int>(out.size()) > limit) out.resize(limit);
    return out;
  }
  std::optional<HoldRow> LockHold(const std::string& hold_id) override {
    const auto it = holds.find(hold_id);
    if (it == holds.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::pair<std::string, int64_t>> HoldLots(const std::string& hold_id) override {
    return hold_lots[hold_id];
  }
  void EndHold(const std::string& hold_id, const std::string& state) override {
    holds.at(hold_id).state = state;
  }
  void AppendEvent(const std::string& type, const std::string& customer, const std::string& order,
                   int64_t points, const nlohmann::json& details) override {
    events.push_back({type, customer, order, points, details});
  }

  // Sum of the transfers from one account to another.
  int64_t Moved(const std::string& from, const std::string& to) const {
    int64_t sum = 0;
    for (const auto& t : transfers) {
      if (t.from == from && t.to == to) sum += t.amount;
    }
    return sum;
  }

  std::map<std::string, BalanceRow> balances;
  std::map<std::string, LotRow> lots;
  std::map<std::string, HoldRow> holds;
  std::map<std::string, std::vector<std::pair<std::string, int64_t>>> hold_lots;
  std::vector<TransferRow> transfers;
  std::vector<Event> events;
};

constexpr int64_t kDay = 86'400'000'000;
const std::string kCustomer = "c1";

// Earns `points` in a lot and releases them (available, expiring `expires_at_us` if given).
LotRow EarnAvailable(CustomerLedger& ledger, FakeLedgerStore& store, const std::string& lot_id,
                     int64_t points, std::optional<int64_t> expires_at_us) {
  LotRow lot;
  lot.lot_id = lot_id;
  lot.kind = "earn";
  lot.order_id = "o-" + lot_id;
  lot.line_id = "l1";
  lot.earned = points;
  ledger.Earn(lot);
  LotRow stored = store.lots.at(lot_id);
  ledger.Release(stored, 0, 0);
  stored.expires_at_us = expires_at_us;
  store.SaveLot(stored);
  return store.lots.at(lot_id);
}

TEST(CustomerLedger, EarnIsPendingUntilReleased) {
  FakeLedgerStore store;
  CustomerLedger ledger(store, kCustomer);
  LotRow lot;
  lot.lot_id = "earn:o1:l1";
  lot.earned = 100;
  ledger.Earn(lot);
  EXPECT_EQ(ledger.balance().pending, 100);
  EXPECT_EQ(store.lots.at("earn:o1:l1").pending, 100);
  EXPECT_EQ(store.Moved("issued", "pending"), 100);

  LotRow stored = store.lots.at("earn:o1:l1");
  ledger.Release(stored, 10 * kDay, 12);
  EXPECT_EQ(ledger.balance().pending, 0);
  EXPECT_EQ(ledger.balance().available, 100);
  EXPECT_EQ(store.lots.at("earn:o1:l1").available, 100);
  EXPECT_EQ(store.lots.at("earn:o1:l1").expires_at_us, AddMonths(10 * kDay, 12));
  ledger.Save();
  EXPECT_EQ(store.balances.at(kCustomer).available, 100);
}

TEST(CustomerLedger, SpendsAcrossLotsSoonestExpiryFirstNeverExpiringLast) {
  FakeLedgerStore store;
  CustomerLedger ledger(store, kCustomer);
  EarnAvailable(ledger, store, "a", 50, 300 * kDay);
  EarnAvailable(ledger, store, "b", 30, 100 * kDay);
  EarnAvailable(ledger, store, "c", 100, std::nullopt);
  EarnAvailable(ledger, store, "d", 20, 200 * kDay);
  ASSERT_EQ(ledger.balance().available, 200);

  std::vector<std::pair<std::string, int64_t>> used;
  TransferRow meta;
  meta.kind = "reserve";
  ledger.Spend(70, "held", meta,
               [&](const std::string& lot_id, int64_t points) { used.emplace_back(lot_id, points); });
  const std::vector<std::pair<std::string, int64_t>> expected{{"b", 30}, {"d", 20}, {"a", 20}};
  EXPECT_EQ(used, expected);
  EXPECT_EQ(store.lots.at("b").available, 0);
  EXPECT_EQ(store.lots.at("d").available, 0);
  EXPECT_EQ(store.lots.at("a").available, 30);
  EXPECT_EQ(store.lots.at("c").available, 100);
  EXPECT_EQ(ledger.balance().available, 130);
  EXPECT_EQ(ledger.balance().held, 70);
  EXPECT_EQ(store.Moved("available", "held"), 70);

  // The never-expiring lot only once every expiring one is spent.
  used.clear();
  ledger.Spend(40, "redeemed", meta,
               [&](const std::string& lot_id, int64_t points) { used.emplace_back(lot_id, points); });
  const std::vector<std::pair<std::string, int64_t>> then{{"a", 30}, {"c", 10}};
  EXPECT_EQ(used, then);
}

TEST(CustomerLedger, SpendPagesThroughMoreLotsThanOneRead) {
  FakeLedgerStore store;
  CustomerLedger ledger(store, kCustomer);
  for (int i = 0; i < 150; ++i) {
    const std::string id = (i < 10 ? "l00" : i < 100 ? "l0" : "l") + std::to_string(i);
    EarnAvailable(ledger, store, id, 1, (1000 - i) * kDay);  // the last made expires first
  }
  int64_t lots_used = 0;
  ledger.Spend(120, "redeemed", {}, [&](const std::string&, int64_t) { ++lots_used; });
  EXPECT_EQ(lots_used, 120);
  EXPECT_EQ(ledger.balance().available, 30);
  EXPECT_EQ(store.lots.at("l149").available, 0);   // expires soonest: spent
  EXPECT_EQ(store.lots.at("l000").available, 1);   // expires last: kept
}

TEST(CustomerLedger, ExpiryTakesWhatIsLeftOfALotAndOnlyThat) {
  FakeLedgerStore store;
  CustomerLedger ledger(store, kCustomer);
  EarnAvailable(ledger, store, "old", 50, 100 * kDay);
  EarnAvailable(ledger, store, "new", 50, 400 * kDay);
  ledger.Spend(30, "redeemed", {});  // from "old", which expires first
  LotRow old = store.lots.at("old");
  ASSERT_EQ(old.available, 20);
  ledger.Expire(old);
  EXPECT_EQ(store.lots.at("old").available, 0);
  EXPECT_EQ(store.lots.at("new").available, 50);
  EXPECT_EQ(ledger.balance().available, 50);
  EXPECT_EQ(store.Moved("available", "expired"), 20);
  EXPECT_EQ(store.transfers.back().kind, "expire");
  EXPECT_EQ(store.transfers.back().lot_id, "old");
}

TEST(CustomerLedger, ClawbackTakesPendingThenAvailableThenDebt) {
  FakeLedgerStore store;
  CustomerLedger ledger(store, kCustomer);
  LotRow lot = EarnAvailable(ledger, store, "earn:o1:l1", 100, std::nullopt);
  ledger.Spend(70, "redeemed", {});  // 30 left available in the lot
  lot = store.lots.at("earn:o1:l1");

  TransferRow meta;
  meta.reason = "refund";
  ledger.Clawback(lot, 100, v1::CLAWBACK_POLICY_DEBT, meta);
  EXPECT_EQ(store.Moved("available", "clawed_back"), 30);
  EXPECT_EQ(store.Moved("debt", "clawed_back"), 70);
  EXPECT_EQ(ledger.balance().available, 0);
  EXPECT_EQ(ledger.balance().debt, -70);
  EXPECT_EQ(store.lots.at("earn:o1:l1").clawed, 100);
  EXPECT_EQ(store.lots.at("earn:o1:l1").available, 0);
}

TEST(CustomerLedger, ClawbackOfPendingPointsLeavesNoDebt) {
  FakeLedgerStore store;
  CustomerLedger ledger(store, kCustomer);
  LotRow lot;
  lot.lot_id = "earn:o1:l1";
  lot.earned = 90;
  ledger.Earn(lot);
  lot = store.lots.at("earn:o1:l1");
  ledger.Clawback(lot, 30, v1::CLAWBACK_POLICY_DEBT, {});
  EXPECT_EQ(ledger.balance().pending, 60);
  EXPECT_EQ(ledger.balance().debt, 0);
  EXPECT_EQ(store.Moved("pending", "clawed_back"), 30);
  EXPECT_EQ(store.Moved("debt", "clawed_back"), 0);  // zero moves are not recorded
}

TEST(CustomerLedger, ClawbackOfSpentPointsUnderWriteOffIsTheStoresLoss) {
  FakeLedgerStore store;
  CustomerLedger ledger(store, kCustomer);
  LotRow lot = EarnAvailable(ledger, store, "earn:o1:l1", 100, std::nullopt);
  ledger.Spend(100, "redeemed", {});
  lot = store.lots.at("earn:o1:l1");
  ledger.Clawback(lot, 40, v1::CLAWBACK_POLICY_WRITE_OFF, {});
  EXPECT_EQ(ledger.balance().debt, 0);
  EXPECT_EQ(store.Moved("written_off", "clawed_back"), 40);
}

TEST(CustomerLedger, DebtIsRepaidByLaterEarningFirst) {
  FakeLedgerStore store;
  CustomerLedger ledger(store, kCustomer);
  LotRow first = EarnAvailable(ledger, store, "earn:o1:l1", 100, std::nullopt);
  ledger.Spend(100, "redeemed", {});
  first = store.lots.at("earn:o1:l1");
  ledger.Clawback(first, 100, v1::CLAWBACK_POLICY_DEBT, {});
  ASSERT_EQ(ledger.balance().debt, -100);

  // A later order earns 60: released, all of it repays the debt.
  LotRow second;
  second.lot_id = "earn:o2:l1";
  second.earned = 60;
  ledger.Earn(second);
  second = store.lots.at("earn:o2:l1");
  ledger.Release(second, 0, 0);
  EXPECT_EQ(ledger.balance().debt, -40);
  EXPECT_EQ(ledger.balance().available, 0);
  EXPECT_EQ(store.lots.at("earn:o2:l1").available, 0);
  EXPECT_EQ(store.transfers.back().kind, "repay");
  EXPECT_EQ(store.Moved("available", "debt"), 60);

  // An adjustment of 50: 40 repay the rest of the debt, 10 stay available.
  LotRow adjust;
  adjust.lot_id = "adjust:r1";
  adjust.customer_id = kCustomer;
  store.InsertLot(adjust);
  TransferRow meta;
  meta.kind = "adjust";
  ledger.CreditAvailable(adjust, "issued", 50, meta);
  EXPECT_EQ(ledger.balance().debt, 0);
  EXPECT_EQ(ledger.balance().available, 10);
  EXPECT_EQ(adjust.available, 10);
  EXPECT_EQ(store.Moved("available", "debt"), 100);
}

TEST(CustomerLedger, AnOrderPayingWithAnEndedHoldTakesAvailableThenDebt) {
  FakeLedgerStore store;
  CustomerLedger ledger(store, kCustomer);
  EarnAvailable(ledger, store, "a", 30, std::nullopt);
  TransferRow meta;
  meta.kind = "commit_late";
  ledger.TakeForOrder(50, meta);
  EXPECT_EQ(ledger.balance().available, 0);
  EXPECT_EQ(ledger.balance().debt, -20);
  EXPECT_EQ(store.Moved("available", "redeemed"), 30);
  EXPECT_EQ(store.Moved("debt", "redeemed"), 20);
}

// Reserves `points` into an active hold, as ReserveRedemption does.
void Reserve(CustomerLedger& ledger, FakeLedgerStore& store, const std::string& hold_id,
             int64_t points) {
  store.holds[hold_id] = HoldRow{hold_id, kCustomer, "order-1", points, 0, "active", 0, "", 0};
  TransferRow meta;
  meta.kind = "reserve";
  ledger.Spend(points, "held", meta, [&](const std::string& lot_id, int64_t p) {
    store.hold_lots[hold_id].emplace_back(lot_id, p);
  });
}

TEST(CustomerLedger, CommitHoldMovesHeldToRedeemedOnceAndTwiceIsANoOp) {
  FakeLedgerStore store;
  CustomerLedger ledger(store, kCustomer);
  EarnAvailable(ledger, store, "a", 100, std::nullopt);
  Reserve(ledger, store, "hold_1", 40);
  ASSERT_EQ(ledger.balance().held, 40);

  const auto committed = ledger.CommitHold("hold_1", "order-1");
  ASSERT_TRUE(committed);
  EXPECT_EQ(committed->state, "committed");
  EXPECT_EQ(store.holds.at("hold_1").state, "committed");
  EXPECT_EQ(ledger.balance().held, 0);
  EXPECT_EQ(ledger.balance().available, 60);
  EXPECT_EQ(store.Moved("held", "redeemed"), 40);
  EXPECT_EQ(store.transfers.back().kind, "commit");
  EXPECT_EQ(store.transfers.back().order_id, "order-1");
  EXPECT_EQ(store.transfers.back().reason, "hold hold_1");
  ASSERT_EQ(store.events.size(), 1u);
  EXPECT_EQ(store.events[0].type, "redemption.committed");
  EXPECT_EQ(store.events[0].points, 40);
  EXPECT_EQ(store.events[0].details["hold_id"], "hold_1");

  // Again (a retried CommitRedemption, or the order's event after it): nothing moves.
  const size_t transfers = store.transfers.size();
  const auto again = ledger.CommitHold("hold_1", "order-1");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->state, "committed");
  EXPECT_EQ(store.transfers.size(), transfers);
  EXPECT_EQ(store.events.size(), 1u);
  EXPECT_EQ(ledger.balance().held, 0);
  EXPECT_EQ(store.Moved("held", "redeemed"), 40);
}

TEST(CustomerLedger, CommitHoldLeavesAnEndedOrUnknownHoldAlone) {
  FakeLedgerStore store;
  CustomerLedger ledger(store, kCustomer);
  EarnAvailable(ledger, store, "a", 100, std::nullopt);
  Reserve(ledger, store, "hold_1", 40);
  ASSERT_TRUE(ledger.ReturnHold(store.holds.at("hold_1"), "voided"));
  EXPECT_EQ(ledger.balance().held, 0);
  EXPECT_EQ(ledger.balance().available, 100);

  const size_t transfers = store.transfers.size();
  const auto voided = ledger.CommitHold("hold_1", "order-1");
  ASSERT_TRUE(voided);
  EXPECT_EQ(voided->state, "voided");
  EXPECT_FALSE(ledger.CommitHold("no_such_hold", "order-1"));
  EXPECT_EQ(store.transfers.size(), transfers);
}

TEST(CustomerLedger, ReturnHoldGivesPointsBackToTheirLotsOnce) {
  FakeLedgerStore store;
  CustomerLedger ledger(store, kCustomer);
  EarnAvailable(ledger, store, "soon", 30, 100 * kDay);
  EarnAvailable(ledger, store, "late", 50, 200 * kDay);
  Reserve(ledger, store, "hold_1", 40);  // 30 from "soon", 10 from "late"
  ASSERT_EQ(store.lots.at("soon").available, 0);
  ASSERT_EQ(store.lots.at("late").available, 40);

  EXPECT_TRUE(ledger.ReturnHold(store.holds.at("hold_1"), "expired"));
  EXPECT_EQ(store.lots.at("soon").available, 30);
  EXPECT_EQ(store.lots.at("soon").expires_at_us, 100 * kDay);  // keeps its expiry
  EXPECT_EQ(store.lots.at("late").available, 50);
  EXPECT_EQ(store.holds.at("hold_1").state, "expired");
  EXPECT_EQ(store.Moved("held", "available"), 40);
  EXPECT_EQ(store.events.back().type, "redemption.expired");

  const size_t transfers = store.transfers.size();
  EXPECT_FALSE(ledger.ReturnHold(store.holds.at("hold_1"), "voided"));
  EXPECT_EQ(store.transfers.size(), transfers);
  EXPECT_EQ(ledger.balance().available, 80);
  ledger.Save();
  EXPECT_EQ(store.balances.at(kCustomer).available, 80);
  EXPECT_EQ(store.balances.at(kCustomer).held, 0);
}

}  // namespace
}  // namespace loyalty::points
