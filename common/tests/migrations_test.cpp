#include "loyalty/common/migrations.hpp"

#include <gtest/gtest.h>

namespace loyalty::common {
namespace {

TEST(MigrationName, ParsesVersionAndName) {
  auto parsed = ParseMigrationName("V012__add_tags.sql");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->version, 12);
  EXPECT_EQ(parsed->name, "add_tags");
  EXPECT_FALSE(ParseMigrationName("V1__too_short.sql"));
  EXPECT_FALSE(ParseMigrationName("V001_one_underscore.sql"));
  EXPECT_FALSE(ParseMigrationName("V001__Upper.sql"));
  EXPECT_FALSE(ParseMigrationName("V000__zero.sql"));
  EXPECT_FALSE(ParseMigrationName("V001__x.sql.bak"));
}

TEST(Checksum, IsSha256OfTheText) {
  EXPECT_EQ(Checksum(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Checksum("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(Checksum("CREATE TABLE a ();"), Checksum("CREATE TABLE a ( );"));
}

MigrationSet Set() {
  return {"customers",
          {{"V002__tags.sql", "ALTER TABLE c ADD tags text[];"},
           {"V001__customers.sql", "CREATE TABLE c (id text);"}}};
}

TEST(PlanMigrations, AppliesMissingFilesInVersionOrder) {
  auto set = Set();
  auto plan = PlanMigrations(set, {});
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0]->file, "V001__customers.sql");
  EXPECT_EQ(plan[1]->file, "V002__tags.sql");

  auto rest = PlanMigrations(set, {{1, Checksum("CREATE TABLE c (id text);")}});
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0]->file, "V002__tags.sql");
}

TEST(PlanMigrations, RefusesAnEditedAppliedFile) {
  auto set = Set();
  EXPECT_THROW(PlanMigrations(set, {{1, Checksum("CREATE TABLE c (id integer);")}}),
               MigrationError);
}

TEST(PlanMigrations, RefusesUnknownAppliedVersionsAndDuplicates) {
  auto set = Set();
  EXPECT_THROW(PlanMigrations(set, {{7, "x"}}), MigrationError);
  set.files.push_back({"V002__again.sql", "SELECT 1;"});
  EXPECT_THROW(PlanMigrations(set, {}), MigrationError);
  MigrationSet bad{"x", {{"001_no_prefix.sql", "SELECT 1;"}}};
  EXPECT_THROW(PlanMigrations(bad, {}), MigrationError);
}

TEST(PlanMigrations, CommonTablesJoinAServiceSet) {
  auto set = WithCommonTables(Set());
  auto plan = PlanMigrations(set, {});
  ASSERT_EQ(plan.size(), 5u);
  EXPECT_EQ(plan[2]->file, "V900__event_delivery.sql");
  EXPECT_EQ(plan[3]->file, "V901__idempotency.sql");
  EXPECT_EQ(plan[4]->file, "V902__dead_letter_resolution.sql");
}

}  // namespace
}  // namespace loyalty::common
