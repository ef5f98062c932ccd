#include "gateway_store.hpp"

#include "loyalty/common/hex.hpp"

namespace loyalty::gateway {

namespace {

constexpr const char* kKeyColumns =
    "store_id, key_id, kind, role, key_hash, display_name, rate_limit_per_second, "
    "(extract(epoch from created_at) * 1000000)::bigint, revoked_at IS NOT NULL, "
    "coalesce((extract(epoch from revoked_at) * 1000000)::bigint, 0)";

KeyRow ToKey(const pqxx::row& r) {
  KeyRow k;
  k.store_id = r[0].as<std::string>();
  k.key_id = r[1].as<std::string>();
  k.kind = r[2].as<std::string>();
  k.role = r[3].as<std::string>();
  k.key_hash = r[4].as<std::string>();
  k.display_name = r[5].as<std::string>();
  k.rate_limit_per_second = r[6].as<int>();
  k.created_micros = r[7].as<int64_t>();
  k.revoked = r[8].as<bool>();
  k.revoked_micros = r[9].as<int64_t>();
  return k;
}

StoreRow ToStore(const pqxx::row& r) {
  StoreRow s;
  s.store_id = r[0].as<std::string>();
  s.name = r[1].as<std::string>();
  s.currency_code = r[2].as<std::string>();
  s.time_zone = r[3].as<std::string>();
  s.request_hash = r[4].as<std::string>();
  s.created_micros = r[5].as<int64_t>();
  return s;
}

constexpr const char* kStoreColumns =
    "store_id, name, currency_code, time_zone, '', "
    "(extract(epoch from created_at) * 1000000)::bigint";

}  // namespace

GatewayStore::GatewayStore(common::Database& db) {
  db.Prepare("gw_claim_store_request",
             "INSERT INTO gateway.create_store_requests (request_id, request_hash, store_id) "
             "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING");
  db.Prepare("gw_insert_store",
             "INSERT INTO gateway.stores (store_id, name, currency_code, time_zone) "
             "VALUES ($1, $2, $3, $4)");
  db.Prepare("gw_store_by_request",
             "SELECT s.store_id, s.name, s.currency_code, s.time_zone, r.request_hash, "
             "(extract(epoch from s.created_at) * 1000000)::bigint "
             "FROM gateway.create_store_requests r JOIN gateway.stores s USING (store_id) "
             "WHERE r.request_id = $1");
  db.Prepare("gw_get_store",
             std::string("SELECT ") + kStoreColumns + " FROM gateway.stores WHERE store_id = $1");
  db.Prepare("gw_known_time_zone", "SELECT 1 FROM pg_timezone_names WHERE name = $1");
  db.Prepare("gw_insert_key",
             "INSERT INTO gateway.api_keys (store_id, key_id, kind, role, key_hash, display_name, "
             "rate_limit_per_second) VALUES ($1, $2, $3, $4, $5, $6, $7)");
  db.Prepare("gw_key_grants",
             std::string("SELECT ") + kKeyColumns + " FROM gateway.api_keys WHERE key_id = $1");
  db.Prepare("gw_store_keys", std::string("SELECT ") + kKeyColumns +
                                  " FROM gateway.api_keys WHERE store_id = $1 "
                                  "ORDER BY created_at, key_id");
  db.Prepare("gw_revoke_key",
             "UPDATE gateway.api_keys SET revoked_at = coalesce(revoked_at, now()) "
             "WHERE key_id = $2 AND EXISTS (SELECT 1 FROM gateway.api_keys g "
             "WHERE g.store_id = $1 AND g.key_id = $2)");
  db.Prepare("gw_insert_audit",
             "INSERT INTO gateway.audit_log (store_id, actor_key_id, method, request_json, "
             "before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6)");
  db.Prepare("gw_list_audit",
             "SELECT audit_id, (extract(epoch from created_at) * 1000000)::bigint, actor_key_id, "
             "method, request_json, before_json, after_json FROM gateway.audit_log "
             "WHERE store_id = $1 AND ($2 = 0 OR audit_id < $2) ORDER BY audit_id DESC LIMIT $3");
}

bool GatewayStore::InsertStore(pqxx::transaction_base& tx, const StoreRow& s,
                               const std::string& request_id) const {
  // The claim first: a concurrent duplicate waits on it, then finds it taken.
  if (tx.exec_prepared("gw_claim_store_request", request_id, s.request_hash, s.store_id)
          .affected_rows() == 0) {
    return false;
  }
  tx.exec_prepared("gw_insert_store", s.store_id, s.name, s.currency_code, s.time_zone);
  return true;
}

std::optional<StoreRow> GatewayStore::StoreByRequest(pqxx::transaction_base& tx,
                                                     const std::string& request_id) const {
  auto r = tx.exec_prepared("gw_store_by_request", request_id);
  if (r.empty()) return std::nullopt;
  return ToStore(r[0]);
}

std::optional<StoreRow> GatewayStore::GetStore(pqxx::transaction_base& tx,
                                               const std::string& store_id) const {
  auto r = tx.exec_prepared("gw_get_store", store_id);
  if (r.empty()) return std::nullopt;
  return ToStore(r[0]);
}

bool GatewayStore::KnownTimeZone(pqxx::transaction_base& tx, const std::string& time_zone) const {
  return !tx.exec_prepared("gw_known_time_zone", time_zone).empty();
}

void GatewayStore::InsertKey(pqxx::transaction_base& tx, const KeyRow& k) const {
  tx.exec_prepared("gw_insert_key", k.store_id, k.key_id, k.kind, k.role, k.key_hash,
                   k.display_name, k.rate_limit_per_second);
}

std::vector<KeyRow> GatewayStore::KeyGrants(pqxx::transaction_base& tx,
                                            const std::string& key_id) const {
  std::vector<KeyRow> out;
  for (const auto& r : tx.exec_prepared("gw_key_grants", key_id)) out.push_back(ToKey(r));
  return out;
}

std::vector<KeyRow> GatewayStore::StoreKeys(pqxx::transaction_base& tx,
                                            const std::string& store_id) const {
  std::vector<KeyRow> out;
  for (const auto& r : tx.exec_prepared("gw_store_keys", store_id)) out.push_back(ToKey(r));
  return out;
}

bool GatewayStore::RevokeKey(pqxx::transaction_base& tx, const std::string& store_id,
                             const std::string& key_id) const {
  return tx.exec_prepared("gw_revoke_key", store_id, key_id).affected_rows() > 0;
}

void GatewayStore::InsertAudit(pqxx::transaction_base& tx, const std::string& store_id,
                               const AuditRow& a) const {
  tx.exec_prepared("gw_insert_audit", store_id, a.actor_key_id, a.method, a.request_json,
                   a.before_json, a.after_json);
}

std::vector<AuditRow> GatewayStore::ListAudit(pqxx::transaction_base& tx,
                                              const std::string& store_id, int64_t before_id,
                                              int limit) const {
  std::vector<AuditRow> out;
  for (const auto& r : tx.exec_prepared("gw_list_audit", store_id, before_id, limit)) {
    AuditRow a;
    a.audit_id = r[0].as<int64_t>();
    a.created_micros = r[1].as<int64_t>();
    a.actor_key_id = r[2].as<std::string>();
    a.method = r[3].as<std::string>();
    a.request_json = r[4].as<std::string>();
    a.before_json = r[5].as<std::string>();
    a.after_json = r[6].as<std::string>();
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace loyalty::gateway
