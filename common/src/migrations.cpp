#include "loyalty/common/migrations.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <regex>

#include "loyalty/common/hex.hpp"
#include "loyalty/common/log.hpp"

namespace loyalty::common {

}  // namespace loyalty::common

namespace loyalty::event_tables {
const common::MigrationSet& Migrations();  // generated from common/migrations/
}

namespace loyalty::common {

MigrationSet WithCommonTables(MigrationSet set) {
  for (const auto& file : event_tables::Migrations().files) set.files.push_back(file);
  return set;
}

std::optional<MigrationName> ParseMigrationName(std::string_view file) {
  static const std::regex kPattern(R"(^V([0-9]{3,})__([a-z0-9_]+)\.sql$)");
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_match(file.begin(), file.end(), match, kPattern)) return std::nullopt;
  MigrationName parsed;
  const auto digits = match[1].str();
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), parsed.version);
  if (ec != std::errc() || parsed.version <= 0) return std::nullopt;
  parsed.name = match[2].str();
  return parsed;
}

std::string Checksum(std::string_view sql) { return Sha256Hex(sql); }

std::vector<const Migration*> PlanMigrations(const MigrationSet& set,
                                             const std::vector<AppliedMigration>& applied) {
  std::map<int, const Migration*> by_version;
  for (const auto& file : set.files) {
    auto name = ParseMigrationName(file.file);
    if (!name) throw MigrationError("migration file name is not V<NNN>__<name>.sql: " + file.file);
    if (!by_version.emplace(name->version, &file).second) {
      throw MigrationError("two migration files share version " + std::to_string(name->version) +
                           " in schema " + set.schema);
    }
  }
  std::map<int, std::string> done;
  for (const auto& a : applied) done[a.version] = a.checksum;
  for (const auto& [version, checksum] : done) {
    auto it = by_version.find(version);
    if (it == by_version.end()) {
      throw MigrationError("schema " + set.schema + " has migration " + std::to_string(version) +
                           " that this binary does not know; is an older binary running?");
    }
    if (Checksum(it->second->sql) != checksum) {
      throw MigrationError("applied migration " + it->second->file + " in schema " + set.schema +
                           " was edited after it ran; add a new migration instead");
    }
  }
  std::vector<const Migration*> pending;
  for (const auto& [version, file] : by_version) {
    if (!done.contains(version)) pending.push_back(file);
  }
  return pending;
}

int ApplyMigrations(pqxx::connection& conn, const MigrationSet& set) {
  static const std::regex kSchema("^[a-z][a-z0-9_]*$");
  if (!std::regex_match(set.schema, kSchema)) {
    throw MigrationError("bad schema name: " + set.schema);
  }
  // The schema is a constant of the binary, checked above, never client input.
  const std::string schema = conn.quote_name(set.schema);
  const std::string lock_key = "loyalty.migrate." + set.schema;
  {
    pqxx::nontransaction tx(conn);
    tx.exec_params("SELECT pg_advisory_lock(hashtext($1))", lock_key);
  }
  struct Unlock {
    pqxx::connection& conn;
    std::string key;
    ~Unlock() {
      try {
        pqxx::nontransaction tx(conn);
        tx.exec_params("SELECT pg_advisory_unlock(hashtext($1))", key);
      } catch (...) {
        // The lock is the session's: it goes when the connection closes.
      }
    }
  } unlock{conn, lock_key};

  std::vector<AppliedMigration> applied;
  {
    pqxx::work tx(conn);
    tx.exec("CREATE SCHEMA IF NOT EXISTS " + schema);
    tx.exec("CREATE TABLE IF NOT EXISTS " + schema +
            ".schema_migrations (version integer PRIMARY KEY, file text NOT NULL, "
            "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    // Not tenant data: one row per migration file (see docs/operations.md, "Sharding").
    tx.exec("COMMENT ON TABLE " + schema + ".schema_migrations IS 'loyalty:reference'");
    for (const auto& row : tx.exec("SELECT version, checksum FROM " + schema + ".schema_migrations")) {
      applied.push_back({row[0].as<int>(), row[1].as<std::string>()});
    }
    tx.commit();
  }
  const auto pending = PlanMigrations(set, applied);
  for (const Migration* file : pending) {
    pqxx::work tx(conn);
    tx.exec("SET LOCAL search_path TO " + schema + ", public");
    tx.exec(file->sql);
    tx.exec_params("INSERT INTO " + schema +
                       ".schema_migrations (version, file, checksum) VALUES ($1, $2, $3)",
                   ParseMigrationName(file->file)->version, file->file, Checksum(file->sql));
    tx.commit();
    log::Info("applied migration", {{"schema", set.schema}, {"file", file->file}});
  }
  return static_cast<int>(pending.size());
}

}  // namespace loyalty::common
