#include "webhooks/webhook_dispatcher.hpp"

#include <algorithm>
#include <optional>

#include "loyalty/common/log.hpp"
#include "loyalty/common/time.hpp"
#include "loyalty/common/worker_pool.hpp"

namespace loyalty::gateway::webhooks {

namespace {
// How long one endpoint's batch may keep sending before its lock goes back (the events of one
// ListEvents page at most): other endpoints wait behind a busy one no longer than this.
constexpr auto kBatchTime = std::chrono::seconds(1);
// How often a batch commits what it delivered: what a crash may send again.
constexpr auto kCommitEvery = std::chrono::milliseconds(100);
}  // namespace

void Dispatcher::Run(std::stop_token stop) {
  std::mt19937_64 random(std::random_device{}());
  std::unique_ptr<pqxx::connection> conn;
  while (!stop.stop_requested() && !gw_.host().draining()) {
    bool worked = false;
    try {
      if (!conn || !conn->is_open()) {
        conn = common::Connect(gw_.host().db().url());
        PrepareDispatcher(*conn);
      }
      worked = Step(*conn, random);
    } catch (const std::exception& e) {
      common::log::WarnEvery("webhooks", std::chrono::seconds(10),
                             "webhook dispatch failed; will retry", {{"error", e.what()}});
      conn.reset();  // a broken connection is replaced; a healthy one costs a reconnect
      common::SleepUnlessStopped(stop, std::chrono::seconds(1));
      continue;
    }
    if (!worked) {
      common::SleepUnlessStopped(stop, std::chrono::milliseconds(options_.poll_ms / 2 + 1));
    }
  }
}

bool Dispatcher::Step(pqxx::connection& conn, std::mt19937_64& random) {
  std::vector<std::pair<std::string, std::string>> due;
  {
    pqxx::nontransaction read(conn);
    due = store_.Due(read, 16);
  }
  for (const auto& [store_id, endpoint_id] : due) {
    {
      pqxx::nontransaction lock(conn);
      if (!store_.TryLock(lock, store_id, endpoint_id)) continue;  // another dispatcher has it
    }
    // An exception leaves the lock held: Run then drops the connection, which releases it.
    const bool worked = Attempt(conn, store_id, endpoint_id, random);
    pqxx::nontransaction unlock(conn);
    store_.Unlock(unlock, store_id, endpoint_id);
    if (worked) return true;
  }
  return false;
}

bool Dispatcher::Attempt(pqxx::connection& conn, const std::string& store_id,
                         const std::string& endpoint_id, std::mt19937_64& random) {
  // Read again under the lock: another dispatcher may have just handled the endpoint.
  std::optional<EndpointRow> row;
  {
    pqxx::nontransaction read(conn);
    row = store_.DueOne(read, store_id, endpoint_id);
  }
  if (!row) return false;
  // Each write is a short transaction of its own, after the request: none is open during it.
  auto write = [&](const std::function<void(pqxx::transaction_base&)>& fn) {
    pqxx::work tx(conn);
    fn(tx);
    tx.commit();
  };

  common::CallContext call;
  call.method = "webhooks";
  call.correlation_id = "webhooks-" + row->endpoint_id;
  call.internal_token = gw_.host().config().internal_token;
  call.deadline = common::Clock::now() + std::chrono::seconds(10);
  points::v1::ListEventsRequest req;
  req.set_store_id(row->store_id);
  req.set_after(row->cursor);
  req.set_limit(100);
  points::v1::ListEventsResponse resp;
  auto ctx = common::DownstreamContext(call);
  const auto status = gw_.points().ListEvents(ctx.get(), req, &resp);
  if (!status.ok()) {
    // The points service comes back; the cursor loses nothing.
    write([&](auto& tx) { store_.Advance(tx, *row, row->cursor, row->attempts, 1000); });
    return true;
  }
  // The events after the cursor, in log order: those the filter does not want move the cursor
  // without a request; the wanted ones are sent one after the other until one fails or the
  // batch's time is up. Delivered attempts commit with the cursor after them at least every
  // kCommitEvery (a crash sends again only what was delivered since: at-least-once).
  const auto until = std::chrono::steady_clock::now() + kBatchTime;
  auto committed_at = std::chrono::steady_clock::now();
  std::string cursor = row->cursor;  // after every event settled
  std::vector<AttemptRow> delivered;  // not committed yet
  bool sent_any = false;
  std::optional<Sender> sender;  // connected at the first event wanted
  std::vector<std::string> secrets = {row->secret};
  if (!row->previous_secret.empty()) secrets.push_back(row->previous_secret);
  const auto record_delivered = [&](pqxx::transaction_base& tx) {
    for (const auto& a : delivered) store_.RecordAttempt(tx, row->store_id, a);
  };
  // False when a replay moved the cursor meanwhile: it wins, and this batch stops.
  const auto commit = [&](int64_t next_in_ms) {
    bool advanced = false;
    write([&](pqxx::transaction_base& tx) {
      record_delivered(tx);
      advanced = store_.Advance(tx, *row, cursor, 0, next_in_ms);
    });
    delivered.clear();
    row->cursor = cursor;
    row->attempts = 0;
    committed_at = std::chrono::steady_clock::now();
    return advanced;
  };
  for (const auto& e : resp.events()) {
    if (!Wanted(row->event_types, e.type())) {
      cursor = e.cursor();
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    if (sent_any && now >= until) break;
    if (!delivered.empty() && now - committed_at >= kCommitEvery && !commit(0)) return true;
    const std::string body = ApiJson(e);
    const std::string id = WebhookId(e.cursor());
    const int64_t timestamp = common::NowMicros() / 1000000;
    const std::map<std::string, std::string> headers = {
        {"webhook-id", id},
        {"webhook-timestamp", std::to_string(timestamp)},
        {"webhook-signature", SignatureHeader(secrets, id, timestamp, body)},
        {"user-agent", "loyalty-webhooks/1"}};
    if (!sender) sender.emplace(row->url, options_.send);
    const SendResult sent = sender->Post(headers, body);

    AttemptRow attempt;
    attempt.endpoint_id = row->endpoint_id;
    attempt.webhook_id = id;
    attempt.event_cursor = e.cursor();
    attempt.event_type = e.type();
    attempt.attempt = (sent_any ? 0 : row->attempts) + 1;
    attempt.response_code = sent.status;
    attempt.latency_ms = sent.latency_ms;
    attempt.error = sent.error;
    sent_any = true;
    if (sent.status < 200 || sent.status > 299) {
      attempt.status = sent.refused ? "refused" : sent.status == 410 ? "gone" : "failed";
      write([&](pqxx::transaction_base& tx) {
        record_delivered(tx);
        Failed(tx, *row, cursor, attempt, sent, random);
      });
      return true;
    }
    attempt.status = "delivered";
    delivered.push_back(std::move(attempt));
    cursor = e.cursor();
  }
  // What is left, and when to look again: at once after a full page or a delivery (more may
  // have come meanwhile), else after the poll interval.
  const bool more = resp.events_size() == req.limit() || sent_any;
  if (!delivered.empty() || cursor != row->cursor || !more) commit(more ? 0 : options_.poll_ms);
  return true;
}

void Dispatcher::Failed(pqxx::transaction_base& tx, const EndpointRow& row,
                        const std::string& cursor, const AttemptRow& attempt,
                        const SendResult& sent, std::mt19937_64& random) {
  store_.RecordAttempt(tx, row.store_id, attempt);
  if (sent.status == 410) {
    // The receiver says the endpoint is gone for good. The cursor stays before this event, so
    // enabling the endpoint again sends it first.
    store_.Disable(tx, row, cursor, attempt.attempt, "the receiver answered 410 Gone");
    common::log::Warn("webhook endpoint disabled: 410 Gone",
                      {{"store_id", row.store_id}, {"endpoint_id", row.endpoint_id}});
    return;
  }
  const double unit = std::uniform_real_distribution<double>(0.0, 1.0)(random);
  const auto delay = RetryDelay(attempt.attempt + 1, options_.retry_scale, unit);
  if (!delay) {
    const std::string why = "gave up on " + attempt.webhook_id + " after " +
                            std::to_string(attempt.attempt) +
                            " attempts over the retry schedule; last: " + sent.error;
    store_.Disable(tx, row, cursor, attempt.attempt, why);
    common::log::Warn("webhook endpoint disabled: retries exhausted",
                      {{"store_id", row.store_id}, {"endpoint_id", row.endpoint_id},
                       {"reason", why}});
    return;
  }
  // Retry-After is the receiver's own figure: honoured as sent (not scaled), up to a day.
  int64_t wait_ms = delay->count();
  if (sent.retry_after) {
    const int64_t asked = std::min<int64_t>(sent.retry_after->count(), 86400) * 1000;
    wait_ms = std::max<int64_t>(wait_ms, asked);
  }
  store_.Advance(tx, row, cursor, attempt.attempt, wait_ms);
}

}  // namespace loyalty::gateway::webhooks
