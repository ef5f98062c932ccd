// Event delivery end to end: a test publisher writes to its outbox, a relay delivers to two test
// subscribers (real gRPC servers with inboxes on a real Postgres).
#include <gtest/gtest.h>

#include <google/protobuf/any.pb.h>
#include <google/protobuf/wrappers.pb.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "loyalty/common/events.hpp"
#include "loyalty/common/failpoint.hpp"
#include "recording_subscriber.hpp"
#include "test_env.hpp"

namespace loyalty::common {
namespace {

using loyalty::events::v1::DeliverEventRequest;
using loyalty::events::v1::DeliverEventResponse;
using loyalty::events::v1::Event;

Deadline Soon() { return Clock::now() + std::chrono::seconds(10); }

using TestSubscriber = testing::RecordingSubscriber;

class RelayIT : public ::testing::Test {
 protected:
  void SetUp() override {
    failpoint::Clear();
    auto conn = Connect(test_db_.url());
    ApplyMigrations(*conn, WithCommonTables({"pub", {}}));
    publisher_db_ = std::make_unique<Database>(test_db_.url(), 4);
    publisher_db_->SetAvailable(true);
    writer_ = std::make_unique<OutboxWriter>(*publisher_db_, "pub",
                                             std::vector<std::string>{"a", "b"});
  }
  void TearDown() override { failpoint::Clear(); }

  // Publishes events 1..n of each aggregate, interleaved across aggregates.
  void Publish(const std::vector<std::string>& aggregates, int from, int to,
               const std::string& type = "test.happened") {
    for (int seq = from; seq <= to; ++seq) {
      for (const auto& aggregate : aggregates) {
        publisher_db_->Write(Soon(), [&](pqxx::transaction_base& tx) {
          google::protobuf::StringValue payload;
          payload.set_value(aggregate + "#" + std::to_string(seq));
          writer_->Append(tx, "store-1", aggregate, seq, type, payload);
        });
      }
    }
  }

  int Scalar(const std::string& sql) {
    return publisher_db_->Read(Soon(), [&](pqxx::transaction_base& tx) {
      return tx.exec1(sql)[0].as<int>();
    });
  }

  // Each aggregate's events applied exactly once each and in sequence order.
  void ExpectAppliedInOrder(const std::string& schema, int aggregates, int per_aggregate) {
    EXPECT_EQ(Scalar("SELECT count(*) FROM " + schema + ".applied"), aggregates * per_aggregate);
    EXPECT_EQ(Scalar("SELECT count(*) FROM (SELECT DISTINCT event_id FROM " + schema +
                     ".applied) d"),
              aggregates * per_aggregate);
    // Ordered by arrival (n), each aggregate's sequence numbers must rise 1, 2, 3, ...
    EXPECT_EQ(Scalar("SELECT count(*) FROM (SELECT sequence, row_number() OVER "
                     "(PARTITION BY aggregate_id ORDER BY n) AS pos FROM " + schema +
                     ".applied) x WHERE sequence <> pos"),
              0);
  }

  // Polls `done` for up to ten seconds.
  template <class Fn>
  static bool WaitUntil(Fn&& done) {
    for (int i = 0; i < 2000; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return done();
  }

  void DrainAll(Relay& relay, const Subscriber& sub) {
    for (int i = 0; i < 200 && relay.DeliverOnce(sub) > 0; ++i) {
    }
  }

  testing::TestDatabase test_db_;
  std::unique_ptr<Database> publisher_db_;
  std::unique_ptr<OutboxWriter> writer_;
};

TEST_F(RelayIT, DeliversEveryEventOnceInOrderEvenAfterACrashBeforeAck) {
  const int port_a = testing::FreePort();
  const int port_b = testing::FreePort();
  TestSubscriber a(test_db_.url(), "sub_a", port_a, {"test.happened"});
  TestSubscriber b(test_db_.url(), "sub_b", port_b, {"test.happened"});
  const Subscriber sub_a{"a", "127.0.0.1:" + std::to_string(port_a)};
  const Subscriber sub_b{"b", "127.0.0.1:" + std::to_string(port_b)};
  Publish({"order-1", "order-2", "order-3"}, 1, 5);

  {
    // The relay dies after the subscriber applied an event and before recording the ack.
    Relay relay(*publisher_db_, "pub", {sub_a, sub_b}, testing::kTestInternalToken);
    failpoint::Set("relay.before_ack", "throw");
    EXPECT_THROW(relay.DeliverOnce(sub_a), failpoint::FailpointError);
    failpoint::Clear();
  }
  EXPECT_EQ(a.deliveries(), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM sub_a.applied"), 1) << "applied before the crash";
  EXPECT_EQ(Scalar("SELECT count(*) FROM pub.outbox_delivery WHERE state = 'delivered'"), 0);

  Relay restarted(*publisher_db_, "pub", {sub_a, sub_b}, testing::kTestInternalToken);
  DrainAll(restarted, sub_a);
  DrainAll(restarted, sub_b);
  EXPECT_EQ(a.deliveries(), 16) << "15 events plus one redelivery of the unacknowledged one";
  EXPECT_EQ(b.deliveries(), 15);
  ExpectAppliedInOrder("sub_a", 3, 5);
  ExpectAppliedInOrder("sub_b", 3, 5);
  EXPECT_EQ(Scalar("SELECT count(*) FROM pub.outbox_delivery WHERE state <> 'delivered'"), 0);
}

TEST_F(RelayIT, AStoppedSubscriberDoesNotHoldUpTheOther) {
  const int port_a = testing::FreePort();
  const int port_b = testing::FreePort();
  TestSubscriber a(test_db_.url(), "sub_a", port_a, {"test.happened"});
  const Subscriber sub_a{"a", "127.0.0.1:" + std::to_string(port_a)};
  const Subscriber sub_b{"b", "127.0.0.1:" + std::to_string(port_b)};  // nothing listens yet
  Publish({"order-1", "order-2"}, 1, 3);

  RelayOptions options;
  options.poll_interval = std::chrono::milliseconds(100);
  options.deliver_timeout = std::chrono::milliseconds(500);
  options.max_backoff = std::chrono::milliseconds(200);
  Relay relay(*publisher_db_, "pub", {sub_a, sub_b}, testing::kTestInternalToken, options);
  std::jthread running([&](std::stop_token stop) { relay.Run(stop); });

  auto wait_for = [&](const std::string& sql, int expected) {
    for (int i = 0; i < 100 && Scalar(sql) != expected; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Scalar(sql);
  };
  EXPECT_EQ(wait_for("SELECT count(*) FROM sub_a.applied", 6), 6);
  // B's failed attempt commits when its pass ends, which may be after A's last delivery.
  const std::string b_attempts =
      "SELECT max(attempts) FROM pub.outbox_delivery WHERE subscriber = 'b'";
  for (int i = 0; i < 100 && Scalar(b_attempts) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GT(Scalar(b_attempts), 0) << "b was tried and failed";
  EXPECT_EQ(Scalar("SELECT count(*) FROM pub.outbox_delivery WHERE subscriber = 'b' AND state = "
                   "'pending'"),
            6);

  TestSubscriber b(test_db_.url(), "sub_b", port_b, {"test.happened"});  // b comes back
  EXPECT_EQ(wait_for("SELECT count(*) FROM sub_b.applied", 6), 6);
  ExpectAppliedInOrder("sub_b", 2, 3);
  running.request_stop();
}

// Several workers per subscriber deliver at once and still never send an aggregate's event
// before the previous one is acknowledged: every event goes exactly once, none is refused by the
// inbox as a gap and retried.
TEST_F(RelayIT, SeveralWorkersKeepEachAggregatesOrder) {
  const int port = testing::FreePort();
  TestSubscriber a(test_db_.url(), "sub_a", port, {"test.happened"});
  const Subscriber sub_a{"a", "127.0.0.1:" + std::to_string(port)};
  std::vector<std::string> aggregates;
  for (int i = 0; i < 12; ++i) aggregates.push_back("order-" + std::to_string(i));
  Publish(aggregates, 1, 8);

  RelayOptions options;
  options.workers_per_subscriber = 3;
  options.batch_size = 4;
  options.poll_interval = std::chrono::milliseconds(50);
  Relay relay(*publisher_db_, "pub", {sub_a}, testing::kTestInternalToken, options);
  std::jthread running([&](std::stop_token stop) { relay.Run(stop); });
  for (int i = 0; i < 200 && Scalar("SELECT count(*) FROM sub_a.applied") < 96; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  running.request_stop();
  running.join();
  ExpectAppliedInOrder("sub_a", 12, 8);
  EXPECT_EQ(a.deliveries(), 96) << "no event was sent out of order and refused";
  EXPECT_EQ(Scalar("SELECT max(attempts) FROM pub.outbox_delivery WHERE subscriber = 'a'"), 1);
}

TEST_F(RelayIT, WakesOnNotifyWithoutWaitingForThePoll) {
  const int port_a = testing::FreePort();
  TestSubscriber a(test_db_.url(), "sub_a", port_a, {"test.happened"});
  const Subscriber sub_a{"a", "127.0.0.1:" + std::to_string(port_a)};
  RelayOptions options;
  options.poll_interval = std::chrono::seconds(60);  // only NOTIFY can wake it in time
  Relay relay(*publisher_db_, "pub", {sub_a}, testing::kTestInternalToken, options);
  auto writer = OutboxWriter(*publisher_db_, "pub", {"a"});
  std::jthread running([&](std::stop_token stop) { relay.Run(stop); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // listener connected, idle

  publisher_db_->Write(Soon(), [&](pqxx::transaction_base& tx) {
    google::protobuf::StringValue payload;
    writer.Append(tx, "store-1", "order-9", 1, "test.happened", payload);
  });
  const auto start = std::chrono::steady_clock::now();
  while (Scalar("SELECT count(*) FROM sub_a.applied") == 0 &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(Scalar("SELECT count(*) FROM sub_a.applied"), 1);
  running.request_stop();
}

// A campaign's page: many aggregates' events in one AppendMany, whose one NOTIFY (empty: no
// partition named) must wake every worker, each delivering its own partition's events in order.
TEST_F(RelayIT, AppendManyDeliversEveryAggregateInOrderOnItsOneNotify) {
  const int port_a = testing::FreePort();
  TestSubscriber a(test_db_.url(), "sub_a", port_a, {"test.happened"});
  const Subscriber sub_a{"a", "127.0.0.1:" + std::to_string(port_a)};
  RelayOptions options;
  options.poll_interval = std::chrono::seconds(60);  // only the NOTIFY can wake them in time
  Relay relay(*publisher_db_, "pub", {sub_a}, testing::kTestInternalToken, options);
  auto writer = OutboxWriter(*publisher_db_, "pub", {"a"});
  std::jthread running([&](std::stop_token stop) { relay.Run(stop); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // listener connected, idle

  constexpr int kAggregates = 40;
  google::protobuf::StringValue payload;
  for (int seq = 1; seq <= 2; ++seq) {
    std::vector<OutboxWriter::Pending> events;
    for (int i = 0; i < kAggregates; ++i) {
      events.push_back({"campaign/" + std::to_string(i), seq, &payload});
    }
    publisher_db_->Write(Soon(), [&](pqxx::transaction_base& tx) {
      writer.AppendMany(tx, "store-1", "test.happened", events);
    });
  }
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitUntil([&] { return Scalar("SELECT count(*) FROM sub_a.applied") == 2 * kAggregates; }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  running.request_stop();
  ExpectAppliedInOrder("sub_a", kAggregates, 2);
  // A space in an aggregate id would split it in the statement's list: refused.
  EXPECT_THROW(publisher_db_->Write(Soon(), [&](pqxx::transaction_base& tx) {
    writer.AppendMany(tx, "store-1", "test.happened", {{"a b", 1, &payload}});
  }), std::logic_error);
}

TEST_F(RelayIT, ARejectedEventIsDeadLetteredAndLaterOnesFlow) {
  const int port_a = testing::FreePort();
  TestSubscriber a(test_db_.url(), "sub_a", port_a, {"test.happened"});
  const Subscriber sub_a{"a", "127.0.0.1:" + std::to_string(port_a)};
  writer_ = std::make_unique<OutboxWriter>(*publisher_db_, "pub", std::vector<std::string>{"a"});
  Publish({"order-1"}, 1, 1);
  Publish({"order-1"}, 2, 2, "test.poison");
  Publish({"order-1"}, 3, 4);
  Relay relay(*publisher_db_, "pub", {sub_a}, testing::kTestInternalToken);
  DrainAll(relay, sub_a);
  EXPECT_EQ(Scalar("SELECT count(*) FROM pub.dead_letter"), 1);
  EXPECT_EQ(Scalar("SELECT sequence FROM pub.outbox_delivery WHERE state = 'dead'"), 2);
  EXPECT_EQ(Scalar("SELECT count(*) FROM sub_a.applied"), 3);
  EXPECT_EQ(Scalar("SELECT max(sequence) FROM sub_a.applied"), 4);
  EXPECT_EQ(Scalar("SELECT count(*) FROM sub_a.inbox WHERE outcome = 'rejected'"), 1);
}

// A handler failure that can never pass goes to the dead letters on its first delivery, and the
// aggregate's next event flows; one that may pass later (a database that is down) is retried.
TEST_F(RelayIT, AHandlerFailureThatCanNeverPassIsDeadAtOnceAndATransientOneIsRetried) {
  const int port_a = testing::FreePort();
  TestSubscriber a(test_db_.url(), "sub_a", port_a, {"test.happened"});
  const Subscriber sub_a{"a", "127.0.0.1:" + std::to_string(port_a)};
  writer_ = std::make_unique<OutboxWriter>(*publisher_db_, "pub", std::vector<std::string>{"a"});
  Publish({"order-1"}, 1, 1, "test.refused");
  Publish({"order-1"}, 2, 2, "test.constraint");
  Publish({"order-1"}, 3, 3, "test.duplicate");
  Publish({"order-1"}, 4, 4);  // a good one after them
  Publish({"order-2"}, 1, 1, "test.unavailable");
  Publish({"order-2"}, 2, 2);
  Relay relay(*publisher_db_, "pub", {sub_a}, testing::kTestInternalToken);
  DrainAll(relay, sub_a);

  EXPECT_EQ(Scalar("SELECT count(*) FROM pub.dead_letter"), 3);
  EXPECT_EQ(Scalar("SELECT count(*) FROM pub.outbox_delivery WHERE state = 'dead' "
                   "AND aggregate_id = 'order-1' AND sequence IN (1, 2, 3) AND attempts = 1"),
            3)
      << "each on its first delivery";
  EXPECT_EQ(Scalar("SELECT count(*) FROM sub_a.applied WHERE aggregate_id = 'order-1' "
                   "AND sequence = 4"),
            1)
      << "the good event after them was delivered";
  EXPECT_EQ(Scalar("SELECT count(*) FROM sub_a.inbox WHERE outcome = 'rejected'"), 3);
  EXPECT_EQ(a.duplicate_runs(), 2) << "a unique violation is tried once more at once, then dead";
  // What an operator reads: the reason or the SQLSTATE, never the SQL.
  EXPECT_EQ(Scalar("SELECT count(*) FROM pub.dead_letter WHERE error LIKE 'NOT_CONFIGURED: %'"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM pub.dead_letter WHERE error LIKE '%SQLSTATE 23502%'"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM pub.dead_letter WHERE error LIKE '%SQLSTATE 23505%'"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM pub.dead_letter WHERE error ILIKE '%insert%'"), 0);

  // The transient failure is neither dead nor given up: retried after its backoff, held in order.
  const auto attempts = [&] {
    return Scalar("SELECT attempts FROM pub.outbox_delivery WHERE aggregate_id = 'order-2' "
                  "AND sequence = 1 AND state = 'pending'");
  };
  // Attempted and still pending (a slow machine, e.g. under TSan, may already have retried it
  // once: its first backoff is 100 ms).
  EXPECT_GE(attempts(), 1);
  EXPECT_TRUE(WaitUntil([&] {
    relay.DeliverOnce(sub_a);
    return attempts() >= 3;
  }));
  EXPECT_EQ(Scalar("SELECT count(*) FROM pub.outbox_delivery WHERE aggregate_id = 'order-2' "
                   "AND state <> 'pending'"),
            0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM sub_a.applied WHERE aggregate_id = 'order-2'"), 0);
}

TEST_F(RelayIT, InboxRefusesAGapAndIgnoresARedelivery) {
  const int port_a = testing::FreePort();
  TestSubscriber a(test_db_.url(), "sub_a", port_a, {"test.happened"});
  auto stub = loyalty::events::v1::EventSinkService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port_a), grpc::InsecureChannelCredentials()));
  auto deliver = [&](const std::string& id, int seq) {
    DeliverEventRequest request;
    auto& e = *request.mutable_event();
    e.set_event_id(id);
    e.set_store_id("store-1");
    e.set_type("test.happened");
    e.set_aggregate_id("order-7");
    e.set_sequence(seq);
    DeliverEventResponse response;
    auto status = stub->DeliverEvent(testing::InternalContext().get(), request, &response);
    return std::make_pair(status, response.duplicate());
  };
  auto gap = deliver("00000000-0000-0000-0000-000000000002", 2);
  EXPECT_EQ(gap.first.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ErrorReason(gap.first), "EVENT_OUT_OF_ORDER");
  EXPECT_TRUE(deliver("00000000-0000-0000-0000-000000000001", 1).first.ok());
  auto again = deliver("00000000-0000-0000-0000-000000000001", 1);
  EXPECT_TRUE(again.first.ok());
  EXPECT_TRUE(again.second) << "a redelivery is acknowledged as a duplicate";
  EXPECT_TRUE(deliver("00000000-0000-0000-0000-000000000002", 2).first.ok());
  EXPECT_EQ(Scalar("SELECT count(*) FROM sub_a.applied"), 2);

  DeliverEventRequest bad;
  bad.mutable_event()->set_event_id("not-a-uuid");
  DeliverEventResponse response;
  auto status = stub->DeliverEvent(testing::InternalContext().get(), bad, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorFields(status).size(), 5u);
}

// A NOTIFY wakes one worker per subscriber, not all of them: events published one at a time cost
// about one claim each, where waking all four workers cost four (three of them claimed nothing).
TEST_F(RelayIT, ANotifyWakesOneWorkerPerSubscriber) {
  const int port_a = testing::FreePort();
  const int port_b = testing::FreePort();
  TestSubscriber a(test_db_.url(), "sub_a", port_a, {"test.happened"});
  TestSubscriber b(test_db_.url(), "sub_b", port_b, {"test.happened"});
  const Subscriber sub_a{"a", "127.0.0.1:" + std::to_string(port_a)};
  const Subscriber sub_b{"b", "127.0.0.1:" + std::to_string(port_b)};
  RelayOptions options;
  options.workers_per_subscriber = 4;
  options.poll_interval = std::chrono::seconds(60);  // no poll tick: only NOTIFYs wake it
  Relay relay(*publisher_db_, "pub", {sub_a, sub_b}, testing::kTestInternalToken, options);
  std::jthread running([&](std::stop_token stop) { relay.Run(stop); });
  // The listener's first act is one catch-up claim per subscriber: then it is listening.
  ASSERT_TRUE(WaitUntil([&] { return relay.claims("a") >= 1 && relay.claims("b") >= 1; }));
  const int64_t before_a = relay.claims("a");
  const int64_t before_b = relay.claims("b");

  const int events = 20;
  for (int i = 0; i < events; ++i) {
    Publish({"order-" + std::to_string(i)}, 1, 1);
    ASSERT_TRUE(WaitUntil([&] {
      return Scalar("SELECT count(*) FROM pub.outbox_delivery WHERE state = 'delivered'") ==
             2 * (i + 1);
    })) << "event " << i;
  }
  running.request_stop();
  running.join();
  EXPECT_EQ(a.deliveries(), events);
  EXPECT_EQ(b.deliveries(), events);
  // One claim per event, with slack for a claim that raced the one before it. Waking every
  // worker cost four per event (about 80 here).
  for (const int64_t claims : {relay.claims("a") - before_a, relay.claims("b") - before_b}) {
    EXPECT_GE(claims, events);
    EXPECT_LE(claims, events + events / 2);
  }
}

// An event whose NOTIFY was lost is delivered at the next poll tick, and a tick that finds
// nothing due claims nothing (it looks with one autocommitted statement instead).
TEST_F(RelayIT, APollTickDeliversALostNotifyAndAnIdleTickClaimsNothing) {
  const int port_a = testing::FreePort();
  TestSubscriber a(test_db_.url(), "sub_a", port_a, {"test.happened"});
  const Subscriber sub_a{"a", "127.0.0.1:" + std::to_string(port_a)};
  writer_ = std::make_unique<OutboxWriter>(*publisher_db_, "pub", std::vector<std::string>{"a"});
  RelayOptions options;
  options.poll_interval = std::chrono::milliseconds(50);
  Relay relay(*publisher_db_, "pub", {sub_a}, testing::kTestInternalToken, options);
  std::jthread running([&](std::stop_token stop) { relay.Run(stop); });
  ASSERT_TRUE(WaitUntil([&] { return relay.claims("a") >= 1; }));  // the catch-up claim

  // Written without pg_notify, as if the notification had been lost.
  google::protobuf::Any payload;
  payload.PackFrom(google::protobuf::StringValue());
  publisher_db_->Write(Soon(), [&](pqxx::transaction_base& tx) {
    tx.exec_params(
        "WITH e AS (INSERT INTO pub.outbox (store_id, aggregate_id, sequence, type, payload) "
        "  VALUES ('store-1', 'order-1', 1, 'test.happened', $1) RETURNING event_id) "
        "INSERT INTO pub.outbox_delivery (store_id, event_id, subscriber, aggregate_id, sequence) "
        "SELECT 'store-1', event_id, 'a', 'order-1', 1 FROM e",
        pqxx::binarystring(payload.SerializeAsString()));
  });
  ASSERT_TRUE(WaitUntil([&] { return Scalar("SELECT count(*) FROM sub_a.applied") == 1; }));
  ASSERT_TRUE(WaitUntil([&] {
    return Scalar("SELECT count(*) FROM pub.outbox_delivery WHERE state = 'delivered'") == 1;
  }));
  std::this_thread::sleep_for(options.poll_interval * 2);  // a tick that saw it pending is over

  // Twenty ticks with nothing due: not one claim.
  const int64_t claims = relay.claims("a");
  std::this_thread::sleep_for(options.poll_interval * 20);
  EXPECT_EQ(relay.claims("a"), claims);
  running.request_stop();
}

// Every claim skips an aggregate's event while the one before it is pending, so the worker that
// acknowledges the one before claims it at once, whether it was there at the acknowledgement or
// committed between the acknowledgement and the commit (its NOTIFY wakes the worker that owns
// the aggregate, the one in that pass). No poll tick is needed.
TEST_F(RelayIT, AnAggregatesNextEventGoesWithoutWaitingForThePoll) {
  const int port_a = testing::FreePort();
  TestSubscriber a(test_db_.url(), "sub_a", port_a, {"test.happened"});
  const Subscriber sub_a{"a", "127.0.0.1:" + std::to_string(port_a)};
  writer_ = std::make_unique<OutboxWriter>(*publisher_db_, "pub", std::vector<std::string>{"a"});
  Publish({"order-1"}, 1, 3);  // 2 and 3 wait behind 1
  RelayOptions options;
  options.poll_interval = std::chrono::seconds(60);
  Relay relay(*publisher_db_, "pub", {sub_a}, testing::kTestInternalToken, options);
  std::jthread running([&](std::stop_token stop) { relay.Run(stop); });
  EXPECT_TRUE(WaitUntil([&] { return Scalar("SELECT count(*) FROM sub_a.applied") == 3; }));

  // Event 2 of order-2 commits while the pass that acknowledged event 1 has not committed yet:
  // a claim then would find it behind event 1.
  failpoint::Set("relay.before_commit", "sleep:1000");
  Publish({"order-2"}, 1, 1);
  ASSERT_TRUE(WaitUntil([&] { return Scalar("SELECT count(*) FROM sub_a.applied") == 4; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the acknowledgement is sent
  Publish({"order-2"}, 2, 2);
  EXPECT_TRUE(WaitUntil([&] { return Scalar("SELECT count(*) FROM sub_a.applied") == 5; }));
  failpoint::Clear();
  running.request_stop();
  running.join();
  ExpectAppliedInOrder("sub_a", 1, 5);
}

// Each worker claims its own partition of the aggregates and is woken by their NOTIFYs alone, so
// a backlog spread over the partitions is delivered by every worker at once: here four passes
// hold their claims open together (each an open transaction), two events each.
TEST_F(RelayIT, EachWorkerDeliversItsOwnPartitionAtOnce) {
  const int port_a = testing::FreePort();
  TestSubscriber a(test_db_.url(), "sub_a", port_a, {"test.happened"});
  const Subscriber sub_a{"a", "127.0.0.1:" + std::to_string(port_a)};
  writer_ = std::make_unique<OutboxWriter>(*publisher_db_, "pub", std::vector<std::string>{"a"});
  // Two aggregates of each of the four partitions, as Postgres hashes them.
  std::vector<std::string> aggregates;
  std::map<int, int> per_partition;
  for (int i = 0; aggregates.size() < 8; ++i) {
    const std::string id = "order-" + std::to_string(i);
    const int partition = Scalar("SELECT (hashtext('" + id + "') & 2147483647) % 4");
    if (per_partition[partition] < 2) {
      ++per_partition[partition];
      aggregates.push_back(id);
    }
  }
  RelayOptions options;
  options.workers_per_subscriber = 4;
  options.batch_size = 2;
  options.poll_interval = std::chrono::seconds(60);
  Database relay_db(test_db_.url(), RelayPoolSize(1, options));  // as the services give it
  relay_db.SetAvailable(true);
  Relay relay(relay_db, "pub", {sub_a}, testing::kTestInternalToken, options);
  std::jthread running([&](std::stop_token stop) { relay.Run(stop); });
  ASSERT_TRUE(WaitUntil([&] { return relay.claims("a") >= 4; }));  // the catch-up claims
  failpoint::Set("relay.before_commit", "sleep:1000");  // passes last long enough to be seen
  Publish(aggregates, 1, 1);
  EXPECT_TRUE(WaitUntil([&] {
    return Scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                  "AND backend_type = 'client backend' AND xact_start IS NOT NULL "
                  "AND pid <> pg_backend_pid()") == 4;
  }));
  EXPECT_TRUE(WaitUntil([&] { return Scalar("SELECT count(*) FROM sub_a.applied") == 8; }));
  failpoint::Clear();
  running.request_stop();
  running.join();
  ExpectAppliedInOrder("sub_a", 8, 1);
}

}  // namespace
}  // namespace loyalty::common
