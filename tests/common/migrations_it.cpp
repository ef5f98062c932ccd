// Migrations against a real Postgres: idempotent, safe when runners race, edits refused.
#include <gtest/gtest.h>

#include <thread>

#include "loyalty/common/db.hpp"
#include "loyalty/common/migrations.hpp"
#include "test_env.hpp"

namespace loyalty::common {
namespace {

MigrationSet Set() {
  return {"shop",
          {{"V001__items.sql", "CREATE TABLE items (store_id text, id text, PRIMARY KEY (store_id, id));"},
           {"V002__counter.sql",
            "CREATE TABLE runs (store_id text PRIMARY KEY, n integer);"
            "INSERT INTO runs VALUES ('s', 1);"}}};
}

int Count(const std::string& url, const std::string& sql) {
  auto conn = Connect(url);
  pqxx::nontransaction tx(*conn);
  return tx.exec1(sql)[0].as<int>();
}

TEST(MigrationsIT, ApplyTwiceChangesNothingTheSecondTime) {
  testing::TestDatabase db;
  auto conn = Connect(db.url());
  EXPECT_EQ(ApplyMigrations(*conn, Set()), 2);
  EXPECT_EQ(ApplyMigrations(*conn, Set()), 0);
  EXPECT_EQ(Count(db.url(), "SELECT count(*) FROM shop.schema_migrations"), 2);
  // The data-changing migration ran once.
  EXPECT_EQ(Count(db.url(), "SELECT count(*) FROM shop.runs"), 1);
}

TEST(MigrationsIT, RacingRunnersApplyEachFileOnce) {
  testing::TestDatabase db;
  constexpr int kRunners = 6;
  std::vector<std::thread> runners;
  std::atomic<int> applied{0};
  std::atomic<int> failed{0};
  for (int i = 0; i < kRunners; ++i) {
    runners.emplace_back([&] {
      try {
        auto conn = Connect(db.url());
        applied += ApplyMigrations(*conn, Set());
      } catch (const std::exception&) {
        ++failed;
      }
    });
  }
  for (auto& t : runners) t.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(applied, 2) << "each file applied by exactly one runner";
  EXPECT_EQ(Count(db.url(), "SELECT count(*) FROM shop.runs"), 1);
}

TEST(MigrationsIT, AnEditedAppliedFileIsRefused) {
  testing::TestDatabase db;
  auto conn = Connect(db.url());
  ApplyMigrations(*conn, Set());
  auto edited = Set();
  edited.files[0].sql += " -- edited";
  EXPECT_THROW(ApplyMigrations(*conn, edited), MigrationError);
  // A new file is fine.
  auto extended = Set();
  extended.files.push_back({"V003__more.sql", "ALTER TABLE items ADD COLUMN name text;"});
  EXPECT_EQ(ApplyMigrations(*conn, extended), 1);
}

}  // namespace
}  // namespace loyalty::common
