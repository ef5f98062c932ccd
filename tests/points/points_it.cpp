// PointsService through a real loyalty-points process (and a real loyalty-orders for
// AbandonOrder) on a real Postgres. Order events arrive through the receiving RPC,
// EventSinkService/DeliverEvent, exactly as the relay sends them. Every test ends with
// VerifyLedger reporting no mismatch.
#include <gtest/gtest.h>

#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

#include <atomic>
#include <future>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "loyalty/common/errors.hpp"
#include "loyalty/events/v1/events.grpc.pb.h"
#include "loyalty/orders/v1/orders_service.grpc.pb.h"
#include "loyalty/points/v1/points_service.grpc.pb.h"
#include "points_fixture.hpp"

namespace loyalty::points {
namespace {

using common::ErrorReason;

TEST_F(PointsIT, EarnsPendingPointsThatBecomeAvailableOnlyWhenTheWindowEnds) {
  Place(MakeOrder("o1", "c1", {{12345, 1}, {5000, 2}}, now_));  // 123 + 50 points
  auto b = Balance("c1");
  EXPECT_EQ(b.pending(), 173);
  EXPECT_EQ(b.available(), 0);
  EXPECT_EQ(RunJob("release", now_ + 29 * kDay), 0);
  EXPECT_EQ(Balance("c1").available(), 0) << "not before the 30-day window ends";
  EXPECT_EQ(RunJob("release", now_ + 30 * kDay), 2);
  b = Balance("c1");
  EXPECT_EQ(b.pending(), 0);
  EXPECT_EQ(b.available(), 173);
  EXPECT_EQ(b.available_value_minor(), 173);
  // A redelivered event changes nothing.
  orders::v1::OrderPlaced placed;
  *placed.mutable_order() = MakeOrder("o1", "c1", {{12345, 1}, {5000, 2}}, now_);
  EXPECT_TRUE(Deliver("order.placed", "o1", 1, placed).ok());
  EXPECT_EQ(Balance("c1").available(), 173);
}

// Calls of the points service's own statements (those naming its ledger tables) on this test's
// database, from pg_stat_statements; -1 when the cluster does not load it (it must be in
// shared_preload_libraries), in which case the statement bounds below are not checked.
int64_t LedgerStatementCalls(const std::string& url) {
  try {
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    if (!tx.exec1("SELECT current_setting('shared_preload_libraries') ~ 'pg_stat_statements'")[0]
             .as<bool>()) {
      return -1;
    }
    tx.exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    return tx.exec1("SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements "
                    "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "AND query ~ 'points[.](lots|holds|hold_lots|balances|settings|transfers|"
                    "events)' "
                    "AND query !~ 'pg_stat_statements'")[0]
        .as<int64_t>();
  } catch (const std::exception&) {
    return -1;
  }
}

// The jobs do work in proportion to what is due, not to what exists: 200 lots that are not due
// cost a pass a few statements and touch nothing; once due, each is processed exactly once.
TEST_F(PointsIT, JobsTouchOnlyWhatIsDueAndEachDueItemOnce) {
  // 40 customers, 5 lines each: 200 lots; half placed 10 days after the other half.
  const std::vector<std::pair<int64_t, int>> lines(5, {10000, 1});  // 100 points a line
  for (int i = 0; i < 40; ++i) {
    const std::string n = std::to_string(i);
    if (i < 20) {
      Place(MakeOrder("o" + n, "c" + n, lines, now_));
    } else {
      orders::v1::OrderPlaced placed;
      *placed.mutable_order() = MakeOrder("o" + n, "c" + n, lines, now_ + 10 * kDay);
      ASSERT_TRUE(Deliver("order.placed", "o" + n, 1, placed).ok());
    }
  }
  ASSERT_EQ(Scalar("SELECT count(*) FROM points.lots"), 200);
  const bool counting = LedgerStatementCalls(db_.url()) >= 0;
  if (!counting) std::printf("pg_stat_statements is not loaded: statement counts not checked\n");
  // Statements of one pass of the three jobs (lots as of `as_of`, holds as of `holds_as_of`);
  // the items each job processed are added up in `processed`.
  auto pass = [&](int64_t as_of, int64_t holds_as_of, int64_t* processed) {
    const int64_t before = LedgerStatementCalls(db_.url());
    *processed = RunJob("release", as_of) + RunJob("expiry", as_of) + RunJob("holds", holds_as_of);
    return LedgerStatementCalls(db_.url()) - before;
  };
  int64_t processed = 0;
  // Nothing is due: the pass touches nothing, and costs a few statements, not one per lot.
  int64_t statements = pass(now_ + 29 * kDay, now_, &processed);
  EXPECT_EQ(processed, 0);
  if (counting) {
    std::printf("idle pass, 200 pending lots: %lld statements\n",
                static_cast<long long>(statements));
    EXPECT_LE(statements, 8);
  }

  // Due in two waves: each lot is released once, and a second run finds nothing.
  int64_t before = LedgerStatementCalls(db_.url());
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(RunJob("release", now_ + 30 * kDay), 100);
  std::printf("releasing 100 lots of 20 customers: %lld statements (-1: not counted), %lld ms\n",
              static_cast<long long>(counting ? LedgerStatementCalls(db_.url()) - before : -1),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - started)
                                         .count()));
  EXPECT_EQ(RunJob("release", now_ + 30 * kDay), 0);
  // Two runs at once (the scheduler and a RunReleaseJob call): each lot once, no deadlock.
  auto one = std::async(std::launch::async, [&] { return RunJob("release", now_ + 40 * kDay); });
  auto other = std::async(std::launch::async, [&] { return RunJob("release", now_ + 40 * kDay); });
  EXPECT_EQ(one.get() + other.get(), 100);
  EXPECT_EQ(RunJob("release", now_ + 40 * kDay), 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM points.transfers WHERE kind = 'release'"), 200);
  EXPECT_EQ(Scalar("SELECT count(*) FROM points.events WHERE type = 'points.available'"), 200);
  EXPECT_EQ(Balance("c0").available(), 500);

  // Holds that have not expired yet (the server's clock: they last 60 s).
  for (int i = 0; i < 5; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_TRUE(Reserve("c" + n, 50, "hold-" + n, "never-" + n).ok());
  }
  const int64_t clock_now = TimeUtil::GetCurrentTime().seconds();

  // 200 available lots expiring within a year but outside the 14-day warning window, and 5 live
  // holds: still nothing due, still a few statements.
  statements = pass(now_ + 41 * kDay, clock_now, &processed);
  EXPECT_EQ(processed, 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM points.events WHERE type = 'points.expiring'"), 0);
  if (counting) {
    std::printf("idle pass, 200 available lots expiring within a year, 5 live holds: %lld "
                "statements\n",
                static_cast<long long>(statements));
    EXPECT_LE(statements, 8);
  }

  // The holds expire once.
  EXPECT_EQ(RunJob("holds", now_ + 50 * kDay), 5);
  EXPECT_EQ(RunJob("holds", now_ + 50 * kDay), 0);
  EXPECT_EQ(Balance("c0").held(), 0);

  // Warnings once, within the window; then expiry once. The waves expire about 10 days apart.
  const int64_t first =
      Scalar("SELECT extract(epoch FROM min(expires_at))::bigint FROM points.lots");
  const int64_t last =
      Scalar("SELECT extract(epoch FROM max(expires_at))::bigint FROM points.lots");
  ASSERT_GE(last - first, 9 * kDay);  // 10 days, give or take a February 29 on the way
  ASSERT_LE(last - first, 11 * kDay);
  const auto warnings = [&] {
    return Scalar("SELECT count(*) FROM points.events WHERE type = 'points.expiring'");
  };
  EXPECT_EQ(RunJob("expiry", first - 7 * kDay), 0);
  EXPECT_EQ(warnings(), 100) << "the first wave, 7 days ahead";
  EXPECT_EQ(RunJob("expiry", first - 7 * kDay), 0);
  EXPECT_EQ(warnings(), 100) << "once";
  before = LedgerStatementCalls(db_.url());
  started = std::chrono::steady_clock::now();
  EXPECT_EQ(RunJob("expiry", first), 100);
  std::printf("expiring 100 lots, warning about 100: %lld statements (-1: not counted), %lld ms\n",
              static_cast<long long>(counting ? LedgerStatementCalls(db_.url()) - before : -1),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - started)
                                         .count()));
  EXPECT_EQ(warnings(), 200) << "the second wave is now about 10 days ahead";
  EXPECT_EQ(RunJob("expiry", first), 0);
  EXPECT_EQ(RunJob("expiry", last), 100);
  EXPECT_EQ(Scalar("SELECT count(DISTINCT details->>'lot_id') FROM points.events "
                   "WHERE type = 'points.expiring'"), 200);
  statements = pass(last, last, &processed);
  EXPECT_EQ(processed, 0);
  if (counting) {
    EXPECT_LE(statements, 8);
  }
  EXPECT_EQ(warnings(), 200);
  EXPECT_EQ(Scalar("SELECT count(*) FROM points.transfers WHERE kind = 'expire'"), 200);
  EXPECT_EQ(Scalar("SELECT count(*) FROM points.events WHERE type = 'points.expired'"), 200);
  EXPECT_EQ(Scalar("SELECT sum(available) FROM points.balances"), 0);
}

// Every store is warned by its own warning period when the scheduler runs the jobs for all
// stores at once (store_id empty).
TEST_F(PointsIT, ExpiryWarningsFollowEachStoresOwnPeriod) {
  v1::UpdateSettingsRequest settings;
  settings.set_store_id("s2");
  settings.set_request_id("settings-s2");
  v1::GetSettingsRequest get;
  get.set_store_id("s1");
  v1::GetSettingsResponse current;
  ASSERT_TRUE(stub_->GetSettings(testing::InternalContext().get(), get, &current).ok());
  *settings.mutable_settings() = current.settings();
  settings.mutable_settings()->clear_version();
  settings.mutable_settings()->clear_created_at();
  settings.mutable_settings()->set_expiry_warning_days(365);
  v1::UpdateSettingsResponse updated;
  ASSERT_TRUE(stub_->UpdateSettings(testing::InternalContext().get(), settings, &updated).ok());
  ASSERT_TRUE(Adjust("c1", 100, "grant-s1").ok());  // s1: 14 days' warning
  v1::AdjustPointsRequest grant;
  grant.set_store_id("s2");
  grant.set_request_id("grant-s2");
  grant.set_customer_id("c1");
  grant.set_points(100);
  grant.set_reason("test adjustment");
  v1::AdjustPointsResponse granted;
  ASSERT_TRUE(stub_->AdjustPoints(testing::InternalContext().get(), grant, &granted).ok());

  v1::RunJobRequest all;  // every store, as the scheduler runs it
  all.mutable_as_of()->set_seconds(TimeUtil::GetCurrentTime().seconds() + 30 * kDay);
  v1::RunJobResponse ran;
  ASSERT_TRUE(stub_->RunExpiryJob(testing::InternalContext(std::chrono::seconds(60)).get(), all,
                                  &ran).ok());
  EXPECT_EQ(ran.processed(), 0);
  const std::string warned_in =
      "SELECT count(*) FROM points.events WHERE type = 'points.expiring' AND store_id = ";
  EXPECT_EQ(Scalar(warned_in + "'s2'"), 1) << "s2 warns a year ahead";
  EXPECT_EQ(Scalar(warned_in + "'s1'"), 0) << "s1 only 14 days ahead";
  all.mutable_as_of()->set_seconds(TimeUtil::GetCurrentTime().seconds() + 400 * kDay);
  ASSERT_TRUE(stub_->RunExpiryJob(testing::InternalContext(std::chrono::seconds(60)).get(), all,
                                  &ran).ok());
  EXPECT_EQ(ran.processed(), 2);
  EXPECT_EQ(Scalar("SELECT count(*) FROM points.events WHERE type = 'points.expiring'"), 2);
  EXPECT_EQ(Scalar("SELECT count(*) FROM points.events WHERE type = 'points.expired'"), 2);
}

TEST_F(PointsIT, TransfersAreImmutableAndVerifyFindsPlantedCorruption) {
  Place(MakeOrder("o1", "c1", {{10000, 1}}, now_));
  pqxx::connection conn(db_.url());
  for (const char* sql : {"UPDATE points.transfers SET amount = amount + 1",
                          "DELETE FROM points.transfers", "TRUNCATE points.transfers"}) {
    pqxx::work tx(conn);
    EXPECT_THROW(tx.exec(sql), pqxx::sql_error) << sql;
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM points.transfers"), 1);
  {
    pqxx::work tx(conn);
    tx.exec("UPDATE points.balances SET pending = pending + 5 WHERE customer_id = 'c1'");
    tx.commit();
  }
  v1::VerifyLedgerRequest verify;
  verify.set_store_id("s1");
  v1::VerifyLedgerResponse report;
  ASSERT_TRUE(stub_->VerifyLedger(testing::InternalContext().get(), verify, &report).ok());
  ASSERT_GE(report.mismatches_size(), 1);
  EXPECT_NE(report.mismatches(0).find("customer c1 pending: stored 105"), std::string::npos)
      << report.mismatches(0);
  EXPECT_EQ(report.zero_sum(), 5);
  {
    pqxx::work tx(conn);
    tx.exec("UPDATE points.balances SET pending = pending - 5 WHERE customer_id = 'c1'");
    tx.commit();
  }
}

TEST_F(PointsIT, FiftyConcurrentReservationsAgainstTenReservationsWorth) {
  ASSERT_TRUE(Adjust("c1", 100, "grant").ok());
  std::vector<std::future<grpc::Status>> calls;
  for (int i = 0; i < 50; ++i) {
    calls.push_back(std::async(std::launch::async, [&, i] {
      return Reserve("c1", 10, "r" + std::to_string(i), "order-" + std::to_string(i));
    }));
  }
  int ok = 0;
  int refused = 0;
  for (auto& c : calls) {
    auto status = c.get();
    ok += status.ok();
    refused += ErrorReason(status) == "INSUFFICIENT_POINTS";
  }
  EXPECT_EQ(ok, 10);
  EXPECT_EQ(refused, 40);
  auto b = Balance("c1");
  EXPECT_EQ(b.available(), 0);
  EXPECT_EQ(b.held(), 100);
}

TEST_F(PointsIT, OneRequestIdSentAHundredTimesMakesOneTransfer) {
  std::vector<std::future<std::pair<grpc::Status, v1::AdjustPointsResponse>>> calls;
  for (int i = 0; i < 100; ++i) {
    calls.push_back(std::async(std::launch::async, [&] {
      v1::AdjustPointsResponse response;
      auto status = Adjust("c1", 25, "same-id", &response);
      return std::make_pair(status, response);
    }));
  }
  std::vector<v1::AdjustPointsResponse> answers;
  for (auto& c : calls) {
    auto [status, response] = c.get();
    ASSERT_TRUE(status.ok()) << status.error_message();
    answers.push_back(response);
  }
  for (const auto& a : answers) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a, answers[0]));
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM points.transfers"), 1);
  EXPECT_EQ(Balance("c1").available(), 25);
  EXPECT_EQ(ErrorReason(Adjust("c1", 26, "same-id")), "REQUEST_ID_REUSED");
}

TEST_F(PointsIT, CommitVoidAndExpiryRacingOnAHoldEndItOnce) {
  ASSERT_TRUE(Adjust("c1", 1000, "grant").ok());
  for (int round = 0; round < 10; ++round) {
    v1::Hold hold;
    ASSERT_TRUE(Reserve("c1", 100, "race-" + std::to_string(round), "ghost-" + std::to_string(round), &hold).ok());
    auto commit = std::async(std::launch::async, [&] {
      v1::CommitRedemptionRequest r;
      r.set_store_id("s1");
      r.set_hold_id(hold.hold_id());
      v1::CommitRedemptionResponse response;
      return stub_->CommitRedemption(testing::InternalContext().get(), r, &response);
    });
    auto cancel = std::async(std::launch::async, [&] {
      v1::VoidRedemptionRequest r;
      r.set_store_id("s1");
      r.set_hold_id(hold.hold_id());
      v1::VoidRedemptionResponse response;
      return stub_->VoidRedemption(testing::InternalContext().get(), r, &response);
    });
    auto expire = std::async(std::launch::async, [&] { return RunJob("holds", now_ + 3600); });
    const bool committed = commit.get().ok();
    const bool voided = cancel.get().ok();
    const int64_t expired = expire.get();
    EXPECT_EQ(int(committed) + int(voided) + int(expired), 1) << "round " << round;
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM points.holds WHERE state = 'active'"), 0);
  // Each hold left `held` exactly once.
  EXPECT_EQ(Scalar("SELECT count(DISTINCT reason) FROM points.transfers WHERE from_account = 'held'"), 10);
  EXPECT_EQ(Scalar("SELECT count(*) FROM points.transfers WHERE from_account = 'held'"), 10);
  EXPECT_EQ(Balance("c1").held(), 0);
}

TEST_F(PointsIT, AnOrderEventCommitsItsHoldEvenAfterTheCallerVanished) {
  ASSERT_TRUE(Adjust("c1", 500, "grant").ok());
  v1::Hold hold;
  ASSERT_TRUE(Reserve("c1", 200, "checkout-1", "o1", &hold).ok());
  // The gateway crashed after creating the order: only the order event arrives.
  auto order = MakeOrder("o1", "c1", {{10000, 1}}, now_);
  auto* payment = order.add_points_payments();
  payment->set_hold_id(hold.hold_id());
  payment->set_points(200);
  payment->set_amount_minor(200);
  order.mutable_lines(0)->set_points_paid(200);
  Place(order);
  auto b = Balance("c1");
  EXPECT_EQ(b.held(), 0);
  EXPECT_EQ(b.available(), 300);
  EXPECT_EQ(Scalar("SELECT count(*) FROM points.holds WHERE state = 'committed'"), 1);
  // The hold can no longer be voided or expired: the order exists.
  EXPECT_EQ(RunJob("holds", now_ + 3600), 0);

  // A hold that already ended is taken anyway when an order names it: a debt if need be.
  v1::Hold late;
  ASSERT_TRUE(Reserve("c1", 300, "checkout-2", "o2", &late).ok());
  v1::VoidRedemptionRequest cancel;
  cancel.set_store_id("s1");
  cancel.set_hold_id(late.hold_id());
  v1::VoidRedemptionResponse voided;
  ASSERT_TRUE(stub_->VoidRedemption(testing::InternalContext().get(), cancel, &voided).ok());
  ASSERT_TRUE(Adjust("c1", -250, "spend-elsewhere").ok());
  auto order2 = MakeOrder("o2", "c1", {{10000, 1}}, now_);
  auto* p2 = order2.add_points_payments();
  p2->set_hold_id(late.hold_id());
  p2->set_points(300);
  // o2 was abandoned by the void: in real life its order can no longer appear. The points
  // service must still take what an order names rather than lose points.
  orders::v1::OrderPlaced placed;
  *placed.mutable_order() = order2;
  ASSERT_TRUE(Deliver("order.placed", "o2", 1, placed).ok());
  b = Balance("c1");
  EXPECT_EQ(b.available(), 0);
  EXPECT_EQ(b.debt(), 250);
}

TEST_F(PointsIT, RefundsClawBackUnderTheRuleVersionThatEarned) {
  // Version 1: 1 point per unit. A line of 3 units, net 10,000 → 100 points.
  Place(MakeOrder("o1", "c1", {{10000, 3}, {5000, 1}}, now_));
  EXPECT_EQ(Balance("c1").pending(), 150);
  Publish(10, "rules-2");  // version 2: 10 points per unit, from now on
  // Refund 1 of 3 units, then 2 more: ⌊100·1/3⌋ = 33, then ⌊100·3/3⌋ − 33 = 67.
  ASSERT_TRUE(Refund("o1", "c1", 2, "l1", 1, 3).ok());
  EXPECT_EQ(Balance("c1").pending(), 117);
  ASSERT_TRUE(Refund("o1", "c1", 3, "l1", 3, 3).ok());
  EXPECT_EQ(Balance("c1").pending(), 50) << "exactly version 1's 100 points came back";
  EXPECT_EQ(Scalar("SELECT sum(amount) FROM points.transfers WHERE kind = 'clawback'"), 100);
  EXPECT_EQ(Scalar("SELECT clawed FROM points.lots WHERE lot_id = 'earn:o1:l1'"), 100);
  EXPECT_EQ(Scalar("SELECT rule_version FROM points.lots WHERE lot_id = 'earn:o1:l1'"), 1);
}

// Ids may contain ':'. Joined as "earn:" + order + ":" + line, order "a:b" line "c" and order "a"
// line "b:c" were one lot id: the second line's insert failed and its event was retried forever.
// Lots are now found by (kind, order_id, line_id); a lot made under the old id is still found.
TEST_F(PointsIT, LinesWhoseIdsJoinAlikeEarnApartAndOnlyOnce) {
  auto first = MakeOrder("a:b", "c1", {{10000, 1}}, now_);  // 100 points
  first.mutable_lines(0)->mutable_line()->set_line_id("c");
  auto second = MakeOrder("a", "c1", {{20000, 1}}, now_);  // 200 points
  second.mutable_lines(0)->mutable_line()->set_line_id("b:c");
  orders::v1::OrderPlaced placed_first, placed_second;
  *placed_first.mutable_order() = first;
  *placed_second.mutable_order() = second;
  const std::string first_id = NewEventId(), second_id = NewEventId();
  bool duplicate = true;
  auto status = DeliverAs(first_id, "order.placed", "a:b", 1, placed_first, &duplicate);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(duplicate);
  status = DeliverAs(second_id, "order.placed", "a", 1, placed_second, &duplicate);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(duplicate);
  EXPECT_EQ(Balance("c1").pending(), 300) << "both lines earned";
  EXPECT_EQ(Scalar("SELECT count(*) FROM points.lots WHERE customer_id = 'c1'"), 2);

  // Replays, the same event ids again and then new ids (a republished event), earn nothing.
  for (const auto& [id, aggregate, placed] :
       {std::tuple{first_id, "a:b", &placed_first}, std::tuple{second_id, "a", &placed_second}}) {
    status = DeliverAs(id, "order.placed", aggregate, 1, *placed, &duplicate);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(duplicate) << aggregate;
    status = DeliverAs(NewEventId(), "order.placed", aggregate, 1, *placed, &duplicate);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(duplicate) << aggregate;
  }
  EXPECT_EQ(Balance("c1").pending(), 300);
  EXPECT_EQ(Scalar("SELECT count(*) FROM points.transfers WHERE customer_id = 'c1'"), 2);

  // A refund of one takes back that line's points only.
  ASSERT_TRUE(Refund("a", "c1", 2, "b:c", 1, 1).ok());
  EXPECT_EQ(Balance("c1").pending(), 100);

  // A lot the old code made has the old, joined id: it is found by what it is for all the same.
  {
    pqxx::connection conn(db_.url());
    pqxx::work tx(conn);
    EXPECT_EQ(tx.exec("UPDATE points.lots SET lot_id = 'earn:a:b:c' "
                      "WHERE store_id = 's1' AND order_id = 'a:b' AND kind = 'earn'")
                  .affected_rows(),
              1u);
    tx.commit();
  }
  ASSERT_TRUE(Refund("a:b", "c1", 2, "c", 1, 1).ok());
  EXPECT_EQ(Balance("c1").pending(), 0);
  EXPECT_EQ(Scalar("SELECT clawed FROM points.lots WHERE lot_id = 'earn:a:b:c'"), 100);
}

TEST_F(PointsIT, ClawingBackSpentPointsRecordsADebtRepaidFromTheNextEarnings) {
  Place(MakeOrder("o1", "c1", {{10000, 1}}, now_));  // 100 points
  RunJob("release", now_ + 30 * kDay);
  ASSERT_TRUE(Adjust("c1", -80, "spent-at-the-till").ok());
  ASSERT_TRUE(Refund("o1", "c1", 2, "l1", 1, 1).ok());
  auto b = Balance("c1");
  EXPECT_EQ(b.available(), 0);
  EXPECT_EQ(b.debt(), 80);
  Place(MakeOrder("o2", "c1", {{20000, 1}}, now_ + kDay));  // 200 points, pending
  RunJob("release", now_ + 31 * kDay);
  b = Balance("c1");
  EXPECT_EQ(b.debt(), 0);
  EXPECT_EQ(b.available(), 120) << "200 earned minus the 80 owed";
}

TEST_F(PointsIT, ExpiryConsumesLotsOldestFirst) {
  Place(MakeOrder("old", "c1", {{10000, 1}}, now_));
  orders::v1::OrderPlaced placed;
  *placed.mutable_order() = MakeOrder("new", "c1", {{10000, 1}}, now_ + 10 * kDay);
  ASSERT_TRUE(Deliver("order.placed", "new", 1, placed).ok());
  EXPECT_EQ(RunJob("release", now_ + 40 * kDay), 2);
  ASSERT_TRUE(Adjust("c1", -50, "spend").ok());  // taken from the oldest lot
  EXPECT_EQ(Scalar("SELECT available FROM points.lots WHERE lot_id = 'earn:old:l1'"), 50);
  EXPECT_EQ(Scalar("SELECT available FROM points.lots WHERE lot_id = 'earn:new:l1'"), 100);
  const int64_t old_expiry = Scalar("SELECT extract(epoch FROM expires_at)::bigint FROM points.lots "
                                    "WHERE lot_id = 'earn:old:l1'");
  EXPECT_EQ(RunJob("expiry", old_expiry - 1), 0) << "nothing due yet (warnings only)";
  EXPECT_EQ(Scalar("SELECT count(*) FROM points.events WHERE type = 'points.expiring'"), 2);
  EXPECT_EQ(RunJob("expiry", old_expiry), 1);
  auto b = Balance("c1");
  EXPECT_EQ(b.available(), 100);
  EXPECT_EQ(Scalar("SELECT sum(amount) FROM points.transfers WHERE kind = 'expire'"), 50);
  v1::LiabilityReportRequest liability;
  liability.set_store_id("s1");
  v1::LiabilityReportResponse report;
  ASSERT_TRUE(stub_->LiabilityReport(testing::InternalContext().get(), liability, &report).ok());
  EXPECT_EQ(report.issued(), 200);
  EXPECT_EQ(report.expired(), 50);
  EXPECT_EQ(report.outstanding(), 100);
  EXPECT_EQ(report.breakage_bps(), 2500);
}

TEST_F(PointsIT, TheEventLogReaderMissesNothingWhenCommitsArriveOutOfOrder) {
  constexpr int kWriters = 8;
  constexpr int kPerWriter = 40;
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      pqxx::connection conn(db_.url());
      std::mt19937 rng(w);
      for (int i = 0; i < kPerWriter; ++i) {
        pqxx::work tx(conn);
        tx.exec_params("INSERT INTO points.events (store_id, type, customer_id, points) "
                       "VALUES ('s1', 'test.event', $1, $2)",
                       "w" + std::to_string(w), i);
        // Some transactions stay open while later ones commit.
        if (rng() % 4 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 60));
        tx.commit();
      }
    });
  }
  std::vector<std::string> seen;
  std::string cursor;
  auto read_once = [&] {
    v1::ListEventsRequest r;
    r.set_store_id("s1");
    r.set_after(cursor);
    r.set_limit(7);
    v1::ListEventsResponse response;
    ASSERT_TRUE(stub_->ListEvents(testing::InternalContext().get(), r, &response).ok());
    for (const auto& e : response.events()) {
      if (e.type() == "test.event") seen.push_back(e.customer_id() + "#" + std::to_string(e.points()));
    }
    cursor = response.next_cursor();
  };
  std::thread reader([&] {
    while (!done) read_once();
  });
  for (auto& t : writers) t.join();
  done = true;
  reader.join();
  for (int i = 0; i < 20; ++i) read_once();
  std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(seen.size(), size_t(kWriters * kPerWriter)) << "none seen twice";
  EXPECT_EQ(unique.size(), size_t(kWriters * kPerWriter)) << "none missed";

  // from_end: the cursor the reader reached by paging, in one call; what follows it is new.
  v1::ListEventsRequest end;
  end.set_store_id("s1");
  end.set_from_end(true);
  v1::ListEventsResponse at_end;
  ASSERT_TRUE(stub_->ListEvents(testing::InternalContext().get(), end, &at_end).ok());
  EXPECT_EQ(at_end.events_size(), 0);
  EXPECT_EQ(at_end.next_cursor(), cursor);
  {
    pqxx::connection conn(db_.url());
    pqxx::work tx(conn);
    tx.exec("INSERT INTO points.events (store_id, type, customer_id) VALUES ('s1', 'test.new', 'n')");
    tx.commit();
  }
  v1::ListEventsRequest next;
  next.set_store_id("s1");
  next.set_after(at_end.next_cursor());
  v1::ListEventsResponse after_end;
  ASSERT_TRUE(stub_->ListEvents(testing::InternalContext().get(), next, &after_end).ok());
  ASSERT_EQ(after_end.events_size(), 1);
  EXPECT_EQ(after_end.events(0).type(), "test.new");
  end.set_after(cursor);
  const auto both = stub_->ListEvents(testing::InternalContext().get(), end, &at_end);
  EXPECT_EQ(both.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(both), std::vector<std::string>{"from_end"});
}

// Events are in transaction-id order as numbers: 99 before 100. The reader's order once followed
// the text of the id ("100" before "99"), so a page that spanned a new digit (transaction 9999
// to 10000 in the benchmark) ended on a cursor below half of it, and that half came again.
TEST_F(PointsIT, TheEventLogIsInNumericTransactionOrderAcrossANewDigit) {
  {
    pqxx::connection conn(db_.url());
    pqxx::work tx(conn);
    // Old transaction ids (below every running one), written out of order.
    for (const int txid : {100, 99, 1000, 98}) {
      tx.exec_params("INSERT INTO points.events (store_id, type, customer_id, txid) "
                     "VALUES ('digits', 'test.event', $1, $2::text::xid8)",
                     "t" + std::to_string(txid), txid);
    }
    tx.commit();
  }
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 4; ++page) {
    v1::ListEventsRequest r;
    r.set_store_id("digits");
    r.set_after(cursor);
    r.set_limit(2);
    v1::ListEventsResponse response;
    ASSERT_TRUE(stub_->ListEvents(testing::InternalContext().get(), r, &response).ok());
    for (const auto& e : response.events()) seen.push_back(e.customer_id());
    cursor = response.next_cursor();
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"t98", "t99", "t100", "t1000"}));
}

TEST_F(PointsIT, PreviewEarnWritesNothingAndBadInputNamesTheField) {
  v1::PreviewEarnRequest preview;
  preview.set_store_id("s1");
  auto* line = preview.add_lines();
  line->set_line_id("a");
  line->set_sku("x");
  line->set_category("tea");
  line->set_net_minor(2599);
  v1::PreviewEarnResponse earned;
  ASSERT_TRUE(stub_->PreviewEarn(testing::InternalContext().get(), preview, &earned).ok());
  EXPECT_EQ(earned.total_points(), 25);
  EXPECT_EQ(earned.rule_version(), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM points.transfers"), 0);

  v1::AdjustPointsRequest bad;
  bad.set_store_id("s1");
  bad.set_request_id("x");
  bad.set_customer_id("c1");
  bad.set_points(5);
  v1::AdjustPointsResponse response;
  auto status = stub_->AdjustPoints(testing::InternalContext().get(), bad, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"reason"});
  v1::PublishEarnRulesRequest past;
  past.set_store_id("s1");
  past.set_request_id("past");
  past.mutable_effective_from()->set_seconds(now_ - 3600);
  v1::PublishEarnRulesResponse published;
  status = stub_->PublishEarnRules(testing::InternalContext().get(), past, &published);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"effective_from"});
}

}  // namespace
}  // namespace loyalty::points
