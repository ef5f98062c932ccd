#include "webhooks/webhook_store.hpp"

#include <utility>

namespace loyalty::gateway::webhooks {

namespace {

constexpr const char* kColumns =
    "store_id, endpoint_id, url, event_types, secret, "
    "CASE WHEN previous_secret_expires > now() THEN coalesce(previous_secret, '') ELSE '' END, "
    "CASE WHEN previous_secret_expires > now() "
    "THEN (extract(epoch from previous_secret_expires) * 1000000)::bigint ELSE 0 END, "
    "enabled, disabled_reason, cursor, attempts, "
    "(extract(epoch from created_at) * 1000000)::bigint";

EndpointRow ToEndpoint(const pqxx::row& r) {
  EndpointRow e;
  e.store_id = r[0].as<std::string>();
  e.endpoint_id = r[1].as<std::string>();
  e.url = r[2].as<std::string>();
  e.event_types = common::ParsePgTextArray(r[3]);
  e.secret = r[4].as<std::string>();
  e.previous_secret = r[5].as<std::string>();
  e.previous_expires_micros = r[6].as<int64_t>();
  e.enabled = r[7].as<bool>();
  e.disabled_reason = r[8].as<std::string>();
  e.cursor = r[9].as<std::string>();
  e.attempts = r[10].as<int>();
  e.created_micros = r[11].as<int64_t>();
  return e;
}

// Every statement, registered both with the pool and with a dispatcher's own connection.
const std::vector<std::pair<std::string, std::string>>& Statements() {
  static const std::vector<std::pair<std::string, std::string>> kStatements = {
      {"wh_insert",
       "INSERT INTO gateway.webhook_endpoints (store_id, endpoint_id, url, event_types, secret, "
       "cursor) VALUES ($1, $2, $3, $4::text[], $5, $6)"},
      {"wh_list", std::string("SELECT ") + kColumns +
                      " FROM gateway.webhook_endpoints WHERE store_id = $1 "
                      "ORDER BY created_at, endpoint_id"},
      {"wh_get", std::string("SELECT ") + kColumns +
                     " FROM gateway.webhook_endpoints WHERE store_id = $1 AND endpoint_id = $2 "
                     "FOR UPDATE"},
      {"wh_rotate",
       "UPDATE gateway.webhook_endpoints SET previous_secret = secret, secret = $3, "
       "previous_secret_expires = now() + make_interval(secs => $4) "
       "WHERE store_id = $1 AND endpoint_id = $2"},
      {"wh_set_enabled",
       "UPDATE gateway.webhook_endpoints SET enabled = $3, disabled_reason = $4, "
       "attempts = CASE WHEN $3 THEN 0 ELSE attempts END, "
       "next_attempt_at = CASE WHEN $3 THEN now() ELSE next_attempt_at END "
       "WHERE store_id = $1 AND endpoint_id = $2"},
      {"wh_replay",
       "UPDATE gateway.webhook_endpoints SET cursor = $3, attempts = 0, next_attempt_at = now() "
       "WHERE store_id = $1 AND endpoint_id = $2"},
      {"wh_attempts",
       "SELECT attempt_id, endpoint_id, webhook_id, event_cursor, event_type, attempt, status, "
       "response_code, latency_ms, error, (extract(epoch from created_at) * 1000000)::bigint "
       "FROM gateway.webhook_attempts WHERE store_id = $1 AND endpoint_id = $2 "
       "AND ($3 = 0 OR attempt_id < $3) ORDER BY attempt_id DESC LIMIT $4"},
      {"wh_due",
       "SELECT store_id, endpoint_id FROM gateway.webhook_endpoints "
       "WHERE enabled AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1"},
      {"wh_due_one", std::string("SELECT ") + kColumns +
                         " FROM gateway.webhook_endpoints WHERE store_id = $1 AND endpoint_id = $2 "
                         "AND enabled AND next_attempt_at <= now()"},
      // A session-level lock: held without a transaction, so that no transaction stays open
      // during the HTTP request (an open transaction with an xid holds back the points event
      // log's visibility horizon for every store), and released by Postgres when the session
      // dies (a killed dispatcher frees its endpoints at once).
      {"wh_try_lock",
       "SELECT pg_try_advisory_lock(hashtextextended('loyalty.webhooks/' || $1 || '/' || $2, 0))"},
      {"wh_unlock",
       "SELECT pg_advisory_unlock(hashtextextended('loyalty.webhooks/' || $1 || '/' || $2, 0))"},
      // Both only when the cursor is still the one the attempt started from: a ReplayWebhooks
      // during the attempt wins.
      {"wh_advance",
       "UPDATE gateway.webhook_endpoints SET cursor = $3, attempts = $4, "
       "next_attempt_at = clock_timestamp() + make_interval(secs => $5::double precision / 1000) "
       "WHERE store_id = $1 AND endpoint_id = $2 AND cursor = $6"},
      {"wh_disable",
       "UPDATE gateway.webhook_endpoints SET cursor = $3, attempts = $4, enabled = false, "
       "disabled_reason = $5 WHERE store_id = $1 AND endpoint_id = $2 AND cursor = $6"},
      {"wh_record_attempt",
       "INSERT INTO gateway.webhook_attempts (store_id, endpoint_id, webhook_id, event_cursor, "
       "event_type, attempt, status, response_code, latency_ms, error) "
       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"},
  };
  return kStatements;
}

}  // namespace

WebhookStore::WebhookStore(common::Database& db) {
  for (const auto& [name, sql] : Statements()) db.Prepare(name, sql);
}

void PrepareDispatcher(pqxx::connection& conn) {
  for (const auto& [name, sql] : Statements()) conn.prepare(name, sql);
}

void WebhookStore::Insert(pqxx::transaction_base& tx, const EndpointRow& row) const {
  tx.exec_prepared("wh_insert", row.store_id, row.endpoint_id, row.url,
                   common::PgTextArray(row.event_types), row.secret, row.cursor);
}

std::vector<EndpointRow> WebhookStore::List(pqxx::transaction_base& tx,
                                            const std::string& store_id) const {
  std::vector<EndpointRow> rows;
  for (const auto& r : tx.exec_prepared("wh_list", store_id)) rows.push_back(ToEndpoint(r));
  return rows;
}

std::optional<EndpointRow> WebhookStore::Get(pqxx::transaction_base& tx,
                                             const std::string& store_id,
                                             const std::string& endpoint_id) const {
  const auto r = tx.exec_prepared("wh_get", store_id, endpoint_id);
  if (r.empty()) return std::nullopt;
  return ToEndpoint(r[0]);
}

void WebhookStore::Rotate(pqxx::transaction_base& tx, const std::string& store_id,
                          const std::string& endpoint_id, const std::string& secret,
                          int64_t previous_valid_seconds) const {
  tx.exec_prepared("wh_rotate", store_id, endpoint_id, secret, previous_valid_seconds);
}

void WebhookStore::SetEnabled(pqxx::transaction_base& tx, const std::string& store_id,
                              const std::string& endpoint_id, bool enabled,
                              const std::string& reason) const {
  tx.exec_prepared("wh_set_enabled", store_id, endpoint_id, enabled, reason);
}

void WebhookStore::Replay(pqxx::transaction_base& tx, const std::string& store_id,
                          const std::string& endpoint_id, const std::string& after) const {
  tx.exec_prepared("wh_replay", store_id, endpoint_id, after);
}

std::vector<AttemptRow> WebhookStore::Attempts(pqxx::transaction_base& tx,
                                               const std::string& store_id,
                                               const std::string& endpoint_id, int64_t before_id,
                                               int limit) const {
  std::vector<AttemptRow> rows;
  for (const auto& r : tx.exec_prepared("wh_attempts", store_id, endpoint_id, before_id, limit)) {
    AttemptRow a;
    a.attempt_id = r[0].as<int64_t>();
    a.endpoint_id = r[1].as<std::string>();
    a.webhook_id = r[2].as<std::string>();
    a.event_cursor = r[3].as<std::string>();
    a.event_type = r[4].as<std::string>();
    a.attempt = r[5].as<int>();
    a.status = r[6].as<std::string>();
    a.response_code = r[7].as<int>();
    a.latency_ms = r[8].as<int64_t>();
    a.error = r[9].as<std::string>();
    a.created_micros = r[10].as<int64_t>();
    rows.push_back(std::move(a));
  }
  return rows;
}

std::vector<std::pair<std::string, std::string>> WebhookStore::Due(pqxx::transaction_base& tx,
                                                                   int limit) const {
  std::vector<std::pair<std::string, std::string>> due;
  for (const auto& r : tx.exec_prepared("wh_due", limit)) {
    due.emplace_back(r[0].as<std::string>(), r[1].as<std::string>());
  }
  return due;
}

std::optional<EndpointRow> WebhookStore::DueOne(pqxx::transaction_base& tx,
                                                const std::string& store_id,
                                                const std::string& endpoint_id) const {
  const auto r = tx.exec_prepared("wh_due_one", store_id, endpoint_id);
  if (r.empty()) return std::nullopt;
  return ToEndpoint(r[0]);
}

bool WebhookStore::TryLock(pqxx::transaction_base& tx, const std::string& store_id,
                           const std::string& endpoint_id) const {
  return tx.exec_prepared1("wh_try_lock", store_id, endpoint_id)[0].as<bool>();
}

void WebhookStore::Unlock(pqxx::transaction_base& tx, const std::string& store_id,
                          const std::string& endpoint_id) const {
  tx.exec_prepared("wh_unlock", store_id, endpoint_id);
}

bool WebhookStore::Advance(pqxx::transaction_base& tx, const EndpointRow& row,
                           const std::string& cursor, int attempts, int64_t next_in_ms) const {
  return tx.exec_prepared("wh_advance", row.store_id, row.endpoint_id, cursor, attempts,
                          next_in_ms, row.cursor)
             .affected_rows() == 1;
}

void WebhookStore::Disable(pqxx::transaction_base& tx, const EndpointRow& row,
                           const std::string& cursor, int attempts,
                           const std::string& reason) const {
  tx.exec_prepared("wh_disable", row.store_id, row.endpoint_id, cursor, attempts, reason,
                   row.cursor);
}

void WebhookStore::RecordAttempt(pqxx::transaction_base& tx, const std::string& store_id,
                                 const AttemptRow& row) const {
  tx.exec_prepared("wh_record_attempt", store_id, row.endpoint_id, row.webhook_id,
                   row.event_cursor, row.event_type, row.attempt, row.status, row.response_code,
                   row.latency_ms, row.error);
}

}  // namespace loyalty::gateway::webhooks
