// The pool and the transaction helper against a real Postgres.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <thread>

#include "loyalty/common/db.hpp"
#include "loyalty/common/errors.hpp"
#include "loyalty/common/migrations.hpp"
#include "test_env.hpp"

namespace loyalty::common {
namespace {

Deadline In(std::chrono::milliseconds ms) { return Clock::now() + ms; }

class DatabaseIT : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conn = Connect(test_db_.url());
    ApplyMigrations(*conn, {"acct",
                            {{"V001__balances.sql",
                              "CREATE TABLE balances (store_id text, id text, amount bigint, "
                              "PRIMARY KEY (store_id, id));"
                              "INSERT INTO balances VALUES ('s', 'a', 0), ('s', 'b', 0);"}}});
  }
  testing::TestDatabase test_db_;
};

TEST_F(DatabaseIT, SerializationConflictIsRetriedAndSucceeds) {
  Database db(test_db_.url(), 4);
  db.SetAvailable(true);
  std::atomic<int> attempts{0};
  std::barrier both_read(2);
  // Two serializable transactions read both rows and write one each (write skew): Postgres
  // aborts one with 40001; the helper must run it again and both increments must land.
  auto transfer = [&](const char* id) {
    bool first = true;
    db.Write(In(std::chrono::seconds(10)), [&](pqxx::transaction_base& tx) {
      ++attempts;
      tx.exec("SELECT sum(amount) FROM acct.balances");
      if (first) {
        first = false;
        both_read.arrive_and_wait();
      }
      tx.exec_params("UPDATE acct.balances SET amount = amount + 1 WHERE id = $1", id);
      if (std::string(id) == "b") std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }, Isolation::kSerializable);
  };
  std::thread a([&] { transfer("a"); });
  std::thread b([&] { transfer("b"); });
  a.join();
  b.join();
  EXPECT_GE(attempts.load(), 3) << "one transaction must have been retried";
  auto total = db.Read(In(std::chrono::seconds(5)), [](pqxx::transaction_base& tx) {
    return tx.exec1("SELECT sum(amount) FROM acct.balances")[0].as<int>();
  });
  EXPECT_EQ(total, 2);
}

TEST_F(DatabaseIT, OtherErrorsAreNotRetried) {
  Database db(test_db_.url(), 2);
  db.SetAvailable(true);
  int attempts = 0;
  EXPECT_THROW(db.Write(In(std::chrono::seconds(5)),
                        [&](pqxx::transaction_base& tx) {
                          ++attempts;
                          tx.exec("INSERT INTO acct.balances VALUES ('s', 'a', 1)");
                        }),
               pqxx::unique_violation);
  EXPECT_EQ(attempts, 1);
}

TEST_F(DatabaseIT, StatementTimeoutFollowsTheDeadline) {
  Database db(test_db_.url(), 2);
  db.SetAvailable(true);
  const auto started = std::chrono::steady_clock::now();
  try {
    db.Write(In(std::chrono::milliseconds(300)),
             [](pqxx::transaction_base& tx) { tx.exec("SELECT pg_sleep(5)"); });
    FAIL() << "expected a timeout";
  } catch (...) {
    auto status = StatusFromException(std::current_exception());
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}

TEST_F(DatabaseIT, PoolIsBoundedAndReusesConnections) {
  Database db(test_db_.url(), 2);
  db.SetAvailable(true);
  std::barrier hold(3);
  std::vector<std::thread> holders;
  for (int i = 0; i < 2; ++i) {
    holders.emplace_back([&] {
      db.Write(In(std::chrono::seconds(5)), [&](pqxx::transaction_base& tx) {
        tx.exec("SELECT 1");
        hold.arrive_and_wait();  // both connections busy
        hold.arrive_and_wait();
      });
    });
  }
  hold.arrive_and_wait();
  EXPECT_EQ(db.Stats().in_use, 2);
  try {
    db.Read(In(std::chrono::milliseconds(200)),
            [](pqxx::transaction_base& tx) { return tx.exec("SELECT 1").size(); });
    FAIL() << "a third connection must not be opened";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.reason(), "DATABASE_POOL_EXHAUSTED");
  }
  hold.arrive_and_wait();
  for (auto& t : holders) t.join();
  EXPECT_EQ(db.Stats().idle, 2);
  EXPECT_EQ(db.Stats().in_use, 0);
}

TEST_F(DatabaseIT, NotAvailableUntilMigrated) {
  Database db(test_db_.url(), 1);
  try {
    db.Read(In(std::chrono::seconds(1)), [](pqxx::transaction_base& tx) { return tx.exec("SELECT 1").size(); });
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), grpc::StatusCode::UNAVAILABLE);
  }
}

}  // namespace
}  // namespace loyalty::common
