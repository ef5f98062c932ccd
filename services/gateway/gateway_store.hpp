// Every SQL statement of the gateway, named and prepared in the constructor.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "loyalty/common/db.hpp"

namespace loyalty::gateway {

struct StoreRow {
  std::string store_id;
  std::string name;
  std::string currency_code;
  std::string time_zone;
  std::string request_hash;
  int64_t created_micros = 0;
};

struct KeyRow {
  std::string store_id;
  std::string key_id;
  std::string kind;  // storefront | admin
  std::string role;  // '' | viewer | editor | owner
  std::string key_hash;
  std::string display_name;
  int rate_limit_per_second = 0;
  int64_t created_micros = 0;
  bool revoked = false;
  int64_t revoked_micros = 0;
};

struct AuditRow {
  int64_t audit_id = 0;
  int64_t created_micros = 0;
  std::string actor_key_id;
  std::string method;
  std::string request_json;
  std::string before_json;
  std::string after_json;
};

class GatewayStore {
 public:
  explicit GatewayStore(common::Database& db);

  // Claims the request id and inserts the store; false when the request id is taken.
  bool InsertStore(pqxx::transaction_base& tx, const StoreRow& store,
                   const std::string& request_id) const;
  std::optional<StoreRow> StoreByRequest(pqxx::transaction_base& tx,
                                         const std::string& request_id) const;
  std::optional<StoreRow> GetStore(pqxx::transaction_base& tx, const std::string& store_id) const;

  bool KnownTimeZone(pqxx::transaction_base& tx, const std::string& time_zone) const;

  void InsertKey(pqxx::transaction_base& tx, const KeyRow& key) const;
  // Every grant of a key (one row per store).
  std::vector<KeyRow> KeyGrants(pqxx::transaction_base& tx, const std::string& key_id) const;
  std::vector<KeyRow> StoreKeys(pqxx::transaction_base& tx, const std::string& store_id) const;
  // Revokes every grant of a key granted to `store_id`; false when it is not one of its keys.
  bool RevokeKey(pqxx::transaction_base& tx, const std::string& store_id,
                 const std::string& key_id) const;

  void InsertAudit(pqxx::transaction_base& tx, const std::string& store_id,
                   const AuditRow& row) const;
  // Newest first, audit_id < before_id (0: from the newest).
  std::vector<AuditRow> ListAudit(pqxx::transaction_base& tx, const std::string& store_id,
                                  int64_t before_id, int limit) const;
};

}  // namespace loyalty::gateway
