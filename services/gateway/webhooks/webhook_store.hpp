// The webhook tables' SQL (migrations/V004__webhooks.sql), named and prepared in the constructor.
#pragma once

#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "loyalty/common/db.hpp"

namespace loyalty::gateway::webhooks {

struct EndpointRow {
  std::string store_id;
  std::string endpoint_id;
  std::string url;
  std::vector<std::string> event_types;
  std::string secret;
  std::string previous_secret;        // "" when none signs any more
  int64_t previous_expires_micros = 0;  // 0 when none
  bool enabled = true;
  std::string disabled_reason;
  std::string cursor;
  int attempts = 0;
  int64_t created_micros = 0;
};

struct AttemptRow {
  int64_t attempt_id = 0;
  std::string endpoint_id;
  std::string webhook_id;
  std::string event_cursor;
  std::string event_type;
  int attempt = 0;
  std::string status;  // delivered | failed | refused | gone
  int response_code = 0;
  int64_t latency_ms = 0;
  std::string error;
  int64_t created_micros = 0;
};

class WebhookStore {
 public:
  explicit WebhookStore(common::Database& db);

  void Insert(pqxx::transaction_base& tx, const EndpointRow& row) const;
  std::vector<EndpointRow> List(pqxx::transaction_base& tx, const std::string& store_id) const;
  // Locks the row (FOR UPDATE) so that admin changes and the dispatcher take turns.
  std::optional<EndpointRow> Get(pqxx::transaction_base& tx, const std::string& store_id,
                                 const std::string& endpoint_id) const;
  void Rotate(pqxx::transaction_base& tx, const std::string& store_id,
              const std::string& endpoint_id, const std::string& secret,
              int64_t previous_valid_seconds) const;
  // Enabling resets the retry schedule and makes the endpoint due at once.
  void SetEnabled(pqxx::transaction_base& tx, const std::string& store_id,
                  const std::string& endpoint_id, bool enabled, const std::string& reason) const;
  // Moves the cursor and makes the endpoint due at once with a fresh schedule.
  void Replay(pqxx::transaction_base& tx, const std::string& store_id,
              const std::string& endpoint_id, const std::string& after) const;
  std::vector<AttemptRow> Attempts(pqxx::transaction_base& tx, const std::string& store_id,
                                   const std::string& endpoint_id, int64_t before_id,
                                   int limit) const;

  // The dispatcher's side (on its own connection, outside transactions). Endpoints due now.
  std::vector<std::pair<std::string, std::string>> Due(pqxx::transaction_base& tx,
                                                       int limit) const;
  // The endpoint if it is still enabled and due (read again once locked).
  std::optional<EndpointRow> DueOne(pqxx::transaction_base& tx, const std::string& store_id,
                                    const std::string& endpoint_id) const;
  // A session advisory lock per endpoint: one dispatcher (thread or gateway) at a time.
  bool TryLock(pqxx::transaction_base& tx, const std::string& store_id,
               const std::string& endpoint_id) const;
  void Unlock(pqxx::transaction_base& tx, const std::string& store_id,
              const std::string& endpoint_id) const;
  // After an attempt: the new cursor, failed attempts and when to look again (ms from now);
  // nothing when the cursor moved since `row` was read (a replay): then false.
  bool Advance(pqxx::transaction_base& tx, const EndpointRow& row, const std::string& cursor,
               int attempts, int64_t next_in_ms) const;
  void Disable(pqxx::transaction_base& tx, const EndpointRow& row, const std::string& cursor,
               int attempts, const std::string& reason) const;
  void RecordAttempt(pqxx::transaction_base& tx, const std::string& store_id,
                     const AttemptRow& row) const;
};

// The statements, for a dispatcher's own connection.
void PrepareDispatcher(pqxx::connection& conn);

}  // namespace loyalty::gateway::webhooks
