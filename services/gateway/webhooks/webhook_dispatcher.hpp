// The webhook dispatcher: a ServiceHost background loop per worker. Each step takes a due
// endpoint's session advisory lock (pg_try_advisory_lock, no transaction open) and holds it for
// the whole attempt, so that another worker or another gateway replica never sends the same
// attempt and an endpoint has at most one request in flight: its events go out strictly in log
// order (hence in order per customer). Under the lock a batch goes out: the page of events after
// the cursor, one request after the other over one keep-alive connection (webhook_sender.hpp),
// until one fails or a second has passed. No transaction stays open during a request: one with
// an xid would hold back the points event log's horizon (ListEvents shows events below the
// oldest running xid) for every store.
// Delivered attempts commit with the cursor after them at least every 100 ms, a failed one at
// once with the next due time; a crash before a commit leaves the endpoint as it was, Postgres
// drops the dead session's lock, and what was delivered since the last commit is sent again
// (at-least-once, the same webhook-ids).
#pragma once

#include <functional>
#include <random>
#include <stop_token>

#include "gateway.hpp"
#include "webhooks/webhook_sender.hpp"
#include "webhooks/webhook_store.hpp"

namespace loyalty::gateway::webhooks {

struct DispatcherOptions {
  int workers = 2;            // LOYALTY_WEBHOOK_WORKERS; 0: this gateway sends no webhooks
  int poll_ms = 500;          // LOYALTY_WEBHOOK_POLL_MS: how often an idle endpoint looks again
  double retry_scale = 1.0;   // LOYALTY_WEBHOOK_RETRY_SCALE: tests shrink the schedule
  SendOptions send;           // LOYALTY_WEBHOOKS_ALLOW_PRIVATE
};

class Dispatcher {
 public:
  Dispatcher(Gateway& gateway, DispatcherOptions options)
      : gw_(gateway), options_(options), store_(gateway.db()) {}

  // One worker's loop; returns soon after stop is requested.
  void Run(std::stop_token stop);

 private:
  // Handles one due endpoint; false when none was due (or all were taken).
  bool Step(pqxx::connection& conn, std::mt19937_64& random);
  // One batch of attempts at one endpoint, under its lock; false when it was no longer due.
  bool Attempt(pqxx::connection& conn, const std::string& store_id,
               const std::string& endpoint_id, std::mt19937_64& random);

  // A failed attempt: recorded, and the endpoint retried later from `cursor` (before the event),
  // or disabled (410 Gone, or the retry schedule exhausted).
  void Failed(pqxx::transaction_base& tx, const EndpointRow& row, const std::string& cursor,
              const AttemptRow& attempt, const SendResult& sent, std::mt19937_64& random);

  Gateway& gw_;
  DispatcherOptions options_;
  WebhookStore store_;
};

}  // namespace loyalty::gateway::webhooks
