// Versioned SQL migrations: each service applies its own V<NNN>__<name>.sql files into its own
// schema, records each with a checksum, and refuses to start if an applied file was edited.
#pragma once

#include <pqxx/pqxx>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty::common {

struct Migration {
  std::string file;  // e.g. "V001__customers.sql"
  std::string sql;   // runs with search_path set to the schema: it names no schema itself
};

struct MigrationSet {
  std::string schema;
  std::vector<Migration> files;
};

// Tables every service has in its own schema: event delivery (outbox, deliveries, dead letters,
// inbox) and idempotency records, from common/migrations/; their versions start at 900.
MigrationSet WithCommonTables(MigrationSet set);

struct MigrationName {
  int version = 0;
  std::string name;
};
// "V012__add_tags.sql" → {12, "add_tags"}; nullopt when the name does not follow the pattern.
std::optional<MigrationName> ParseMigrationName(std::string_view file);

// Hex SHA-256 of the file's text.
std::string Checksum(std::string_view sql);

struct AppliedMigration {
  int version = 0;
  std::string checksum;
};

class MigrationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Which files still need applying, in version order. Throws MigrationError when a file name is
// malformed, two files share a version, an applied file's checksum changed, or the database has a
// version this binary does not know (a newer binary migrated it). Pure; unit-tested.
std::vector<const Migration*> PlanMigrations(const MigrationSet& set,
                                             const std::vector<AppliedMigration>& applied);

// Applies what PlanMigrations says, each file in its own transaction, while holding a session
// advisory lock for the schema so that concurrent replicas wait instead of racing.
// Returns how many files were applied.
int ApplyMigrations(pqxx::connection& conn, const MigrationSet& set);

}  // namespace loyalty::common
