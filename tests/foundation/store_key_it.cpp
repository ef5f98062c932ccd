// Every table of every service keys its rows by store: each primary key and unique index includes
// store_id (or the table is marked a reference table), so the schema could be distributed by
// store with Citus's create_distributed_table(..., 'store_id').
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "test_env.hpp"

namespace loyalty {
namespace {

const std::vector<std::string> kServices = {"customers", "orders", "points", "recommendations",
                                            "gateway"};

// "schema.table: why" for each table of `schemas` that breaks the rule.
std::vector<std::string> Violations(pqxx::connection& conn, const std::string& schemas) {
  pqxx::nontransaction tx(conn);
  std::vector<std::string> found;
  const auto rows = tx.exec_params(R"(
    WITH t AS (
      SELECT c.oid, n.nspname || '.' || c.relname AS name
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY ($1::text[])
        AND coalesce(obj_description(c.oid, 'pg_class'), '') <> 'loyalty:reference')
    SELECT t.name || ': no primary key' FROM t
    WHERE NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = t.oid AND i.indisprimary)
    UNION ALL
    SELECT t.name || ': unique index ' || ic.relname || ' lacks store_id'
    FROM t JOIN pg_index i ON i.indrelid = t.oid AND i.indisunique
    JOIN pg_class ic ON ic.oid = i.indexrelid
    WHERE NOT EXISTS (
      SELECT 1 FROM pg_attribute a
      WHERE a.attrelid = t.oid AND a.attname = 'store_id' AND a.attnum = ANY (i.indkey))
    ORDER BY 1)",
                                   schemas);
  for (const auto& row : rows) found.push_back(row[0].as<std::string>());
  return found;
}

TEST(StoreKeyIT, EveryServiceTableIsKeyedByStore) {
  testing::TestDatabase db;
  for (const auto& service : kServices) {
    const std::string command = "LOYALTY_DATABASE_URL='" + db.url() +
                                "' LOYALTY_INTERNAL_TOKEN=test-internal-token-0123456789 " +
                                LOYALTY_BIN_DIR "/loyalty-" + service + " --migrate-only >/dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0) << service;
  }
  pqxx::connection conn(db.url());
  std::string schemas = "{";
  for (const auto& s : kServices) schemas += (schemas.size() > 1 ? "," : "") + s;
  schemas += "}";
  EXPECT_EQ(Violations(conn, schemas), std::vector<std::string>{});
  pqxx::nontransaction tx(conn);
  EXPECT_GE(tx.exec1("SELECT count(*) FROM pg_tables WHERE schemaname = ANY ('" + schemas +
                     "'::text[])")[0]
                .as<int>(),
            20)
      << "the check really looked at the services' tables";
}

TEST(StoreKeyIT, TheCheckFindsATableKeyedWithoutTheStore) {
  testing::TestDatabase db;
  pqxx::connection conn(db.url());
  {
    pqxx::work tx(conn);
    tx.exec("CREATE SCHEMA scratch");
    tx.exec("CREATE TABLE scratch.good (store_id text, id text, PRIMARY KEY (store_id, id))");
    tx.exec("CREATE TABLE scratch.bad_pk (store_id text, id text PRIMARY KEY)");
    tx.exec("CREATE TABLE scratch.bad_unique (store_id text, id text, code text, "
            "PRIMARY KEY (store_id, id), UNIQUE (code))");
    tx.exec("CREATE TABLE scratch.no_pk (store_id text)");
    tx.exec("CREATE TABLE scratch.reference (code text PRIMARY KEY)");
    tx.exec("COMMENT ON TABLE scratch.reference IS 'loyalty:reference'");
    tx.commit();
  }
  EXPECT_EQ(Violations(conn, "{scratch}"),
            (std::vector<std::string>{"scratch.bad_pk: unique index bad_pk_pkey lacks store_id",
                                      "scratch.bad_unique: unique index bad_unique_code_key lacks "
                                      "store_id",
                                      "scratch.no_pk: no primary key"}));
}

}  // namespace
}  // namespace loyalty
