#include "loyalty/common/events.hpp"

#include <google/protobuf/util/time_util.h>
#include <pqxx/except>

#include <algorithm>
#include <charconv>
#include <regex>
#include <stdexcept>

#include "loyalty/common/errors.hpp"
#include "loyalty/common/failpoint.hpp"
#include "loyalty/common/hex.hpp"
#include "loyalty/common/listen.hpp"
#include "loyalty/common/log.hpp"

namespace loyalty::common {

using loyalty::events::v1::DeliverEventRequest;
using loyalty::events::v1::DeliverEventResponse;
using loyalty::events::v1::Event;

namespace {

// Statement names carry the schema: one process may serve several schemas (tests do).
std::string Name(const char* statement, const std::string& schema) {
  return std::string(statement) + ":" + schema;
}

void CheckSubscriberName(const std::string& name) {
  if (!IsSubscriberName(name)) throw std::invalid_argument("bad subscriber name: " + name);
}

// Due rows of one subscriber that are the first pending event of their aggregate, so events
// arrive in sequence. The name is a literal, not a parameter: see the Relay constructor.
std::string DueRows(const std::string& s, const std::string& subscriber) {
  return "WHERE d.subscriber = '" + subscriber + "' AND d.state = 'pending' "
         "  AND d.next_attempt_at <= now() "
         "  AND NOT EXISTS (SELECT 1 FROM " + s + ".outbox_delivery e "
         "    WHERE e.store_id = d.store_id AND e.subscriber = d.subscriber "
         "      AND e.aggregate_id = d.aggregate_id AND e.state = 'pending' "
         "      AND e.sequence < d.sequence) ";
}

// An aggregate's hash as the NOTIFY carries it and the claims partition by it.
std::string AggregateHash(const std::string& column) {
  return "(hashtext(" + column + ") & 2147483647)";
}

}  // namespace

std::string OutboxChannel(const std::string& schema) { return "loyalty_outbox_" + schema; }

std::optional<int> NotifiedPartition(const std::string& payload, int workers) {
  int64_t hash = 0;
  const auto [end, error] = std::from_chars(payload.data(), payload.data() + payload.size(), hash);
  if (error != std::errc() || end != payload.data() + payload.size() || hash < 0 ||
      workers < 1) {
    return std::nullopt;
  }
  return static_cast<int>(hash % workers);
}

bool IsSubscriberName(const std::string& name) {
  static const std::regex kName("^[a-z][a-z0-9_]{0,62}$");
  return std::regex_match(name, kName);
}

OutboxWriter::OutboxWriter(Database& db, std::string schema, std::vector<std::string> subscribers)
    : schema_(std::move(schema)) {
  for (const auto& sub : subscribers) CheckSubscriberName(sub);
  subscribers_ = PgTextArray(subscribers);
  const std::string& s = schema_;
  db.Prepare(Name("outbox_append", s),
             "WITH e AS (INSERT INTO " + s + ".outbox (store_id, aggregate_id, sequence, type, payload) "
             "  VALUES ($1, $2, $3, $4, $5) RETURNING store_id, event_id, aggregate_id, sequence) "
             "INSERT INTO " + s + ".outbox_delivery (store_id, event_id, subscriber, aggregate_id, sequence) "
             "SELECT e.store_id, e.event_id, sub, e.aggregate_id, e.sequence "
             "FROM e, unnest($6::text[]) AS sub");
  db.Prepare(Name("outbox_append_many", s),
             "WITH e AS (INSERT INTO " + s + ".outbox (store_id, aggregate_id, sequence, type, payload) "
             "  SELECT $1, a, q::bigint, $4, decode(p, 'hex') FROM unnest(string_to_array($2, ' '), "
             "    string_to_array($3, ' '), string_to_array($5, ' ')) AS t(a, q, p) "
             "  RETURNING store_id, event_id, aggregate_id, sequence) "
             "INSERT INTO " + s + ".outbox_delivery (store_id, event_id, subscriber, aggregate_id, sequence) "
             "SELECT e.store_id, e.event_id, sub, e.aggregate_id, e.sequence "
             "FROM e, unnest($6::text[]) AS sub");
  db.Prepare(Name("outbox_notify_all", s), "SELECT pg_notify($1, '')");
  db.Prepare(Name("outbox_notify", s),
             "SELECT pg_notify($1, " + AggregateHash("$2::text") + "::text)");
}

void OutboxWriter::Append(pqxx::transaction_base& tx, const std::string& store_id,
                          const std::string& aggregate_id, int64_t sequence,
                          const std::string& type,
                          const google::protobuf::Message& payload) const {
  google::protobuf::Any any;
  any.PackFrom(payload);
  tx.exec_prepared(Name("outbox_append", schema_), store_id, aggregate_id, sequence, type,
                   pqxx::binarystring(any.SerializeAsString()), subscribers_);
  // Delivered when (and only if) the transaction commits.
  tx.exec_prepared(Name("outbox_notify", schema_), OutboxChannel(schema_), aggregate_id);
}

void OutboxWriter::AppendMany(pqxx::transaction_base& tx, const std::string& store_id,
                              const std::string& type, const std::vector<Pending>& events) const {
  if (events.empty()) return;
  std::vector<std::string> aggregates, sequences, payloads;
  for (const auto& e : events) {
    if (e.aggregate_id.find(' ') != std::string::npos) {
      throw std::logic_error("AppendMany: aggregate id with a space: " + e.aggregate_id);
    }
    google::protobuf::Any any;
    any.PackFrom(*e.payload);
    aggregates.push_back(e.aggregate_id);
    sequences.push_back(std::to_string(e.sequence));
    payloads.push_back(HexEncode(any.SerializeAsString()));
  }
  tx.exec_prepared(Name("outbox_append_many", schema_), store_id, SpaceSeparated(aggregates),
                   SpaceSeparated(sequences), type, SpaceSeparated(payloads), subscribers_);
  tx.exec_prepared(Name("outbox_notify_all", schema_), OutboxChannel(schema_));
}

std::chrono::milliseconds RelayBackoff(int attempts, std::chrono::milliseconds cap) {
  const int shift = std::clamp(attempts - 1, 0, 20);
  return std::min(cap, std::chrono::milliseconds(100LL << shift));
}

Relay::Relay(Database& db, std::string schema, std::vector<Subscriber> subscribers,
             std::string internal_token, RelayOptions options)
    : db_(db),
      schema_(std::move(schema)),
      internal_token_(std::move(internal_token)),
      options_(options) {
  const std::string& s = schema_;
  // The hot statements have no parameters (the subscriber, partition and batch size are written
  // in), so each connection plans them once and reuses the plan: with parameters Postgres planned
  // the claim afresh on every run once rows were pending (custom plans, 0.4-1 ms each).
  const int workers = std::max(1, options_.workers_per_subscriber);
  const std::string batch = std::to_string(options_.batch_size);
  for (auto& sub : subscribers) {
    CheckSubscriberName(sub.name);
    auto lane = std::make_unique<Lane>();
    for (int w = 0; w < workers; ++w) {
      auto worker = std::make_unique<Worker>();
      worker->claim = Name("relay_claim", s) + ":" + sub.name + ":" + batch + ":" +
                      std::to_string(w) + "/" + std::to_string(workers);
      db_.Prepare(worker->claim,
                  "SELECT d.store_id, d.event_id::text, o.type, o.aggregate_id, o.sequence, "
                  "  (extract(epoch FROM o.created_at) * 1000000)::bigint, o.payload, d.attempts "
                  "FROM " + s + ".outbox_delivery d "
                  "JOIN " + s + ".outbox o USING (store_id, event_id) " + DueRows(s, sub.name) +
                  "  AND " + AggregateHash("d.aggregate_id") + " % " + std::to_string(workers) +
                  " = " + std::to_string(w) + " "
                  "ORDER BY d.next_attempt_at LIMIT " + batch + " FOR UPDATE OF d SKIP LOCKED");
      lane->workers.push_back(std::move(worker));
    }
    // The same rows of every partition without locking them: an autocommitted look before a
    // poll tick's claims.
    lane->due = Name("relay_due", s) + ":" + sub.name;
    db_.Prepare(lane->due, "SELECT EXISTS (SELECT 1 FROM " + s + ".outbox_delivery d " +
                               DueRows(s, sub.name) + ")");
    lane->stub = loyalty::events::v1::EventSinkService::NewStub(
        InternalChannel(sub.address, sub.name, Retries::kNone));
    lane->subscriber = std::move(sub);
    lane->next_poll = std::chrono::steady_clock::now() + options_.poll_interval;
    lanes_.push_back(std::move(lane));
  }
  // Returns whether a later event of the aggregate is pending: acknowledging this one frees it.
  // Every claim so far skipped that event, so the worker that acknowledged claims it.
  db_.Prepare(Name("relay_delivered", s),
              "UPDATE " + s + ".outbox_delivery d SET state = 'delivered', finished_at = now(), "
              "attempts = d.attempts + 1 "
              "WHERE d.store_id = $1 AND d.event_id = $2::uuid AND d.subscriber = $3 "
              "RETURNING EXISTS (SELECT 1 FROM " + s + ".outbox_delivery n "
              "  WHERE n.store_id = d.store_id AND n.subscriber = d.subscriber "
              "    AND n.aggregate_id = d.aggregate_id AND n.state = 'pending' "
              "    AND n.sequence > d.sequence)");
  db_.Prepare(Name("relay_retry", s),
              "UPDATE " + s + ".outbox_delivery SET attempts = attempts + 1, last_error = $4, "
              "next_attempt_at = now() + make_interval(secs => $5::double precision / 1000) "
              "WHERE store_id = $1 AND event_id = $2::uuid AND subscriber = $3");
  db_.Prepare(Name("relay_dead", s),
              "WITH d AS (UPDATE " + s + ".outbox_delivery SET state = 'dead', finished_at = now(), "
              "  attempts = attempts + 1, last_error = $4 "
              "  WHERE store_id = $1 AND event_id = $2::uuid AND subscriber = $3 RETURNING 1) "
              "INSERT INTO " + s + ".dead_letter (store_id, event_id, subscriber, error) "
              "SELECT $1, $2::uuid, $3, $4 FROM d "
              // An event retried by an operator that dies again is undecided again.
              "ON CONFLICT (store_id, event_id, subscriber) DO UPDATE SET error = EXCLUDED.error, "
              "  dead_at = now(), resolution = NULL, resolved_at = NULL, resolved_by = NULL, "
              "  reason = NULL");
  // Every gauge of every subscriber in one statement, each part an index probe or an
  // index-only count over what is pending or undecided (V902), never over delivered rows.
  db_.Prepare(Name("relay_stats", s),
              "SELECT s.name, "
              "  (SELECT count(*) FROM " + s + ".outbox_delivery d "
              "    WHERE d.subscriber = s.name AND d.state = 'pending')::double precision, "
              "  COALESCE((SELECT extract(epoch FROM now() - min(d.created_at)) "
              "    FROM " + s + ".outbox_delivery d "
              "    WHERE d.subscriber = s.name AND d.state = 'pending'), 0)::double precision, "
              "  (SELECT count(*) FROM " + s + ".dead_letter l "
              "    WHERE l.subscriber = s.name AND l.resolution IS NULL)::double precision "
              "FROM unnest($1::text[]) AS s (name)");
}

// The statement timeout follows the deadline in power-of-two steps: the claim and the
// autocommitted looks share one deadline, so they share a step and never reset each other's.
Deadline Relay::PassDeadline() const {
  return Clock::now() + options_.deliver_timeout * (options_.batch_size + 1) +
         std::chrono::seconds(5);
}

int Relay::DeliverOnce(const Subscriber& subscriber) {
  for (auto& lane : lanes_) {
    if (lane->subscriber.name != subscriber.name) continue;
    int claimed = 0;
    for (auto& worker : lane->workers) claimed += Deliver(*lane, *worker).claimed;
    return claimed;
  }
  throw std::out_of_range("not a subscriber of this relay: " + subscriber.name);
}

int64_t Relay::claims(const std::string& subscriber) const {
  for (const auto& lane : lanes_) {
    if (lane->subscriber.name == subscriber) return lane->claims.load();
  }
  throw std::out_of_range("not a subscriber of this relay: " + subscriber);
}

namespace {
void FillEvent(const pqxx::row& row, Event& event) {
  event.set_store_id(row[0].as<std::string>());
  event.set_event_id(row[1].as<std::string>());
  event.set_type(row[2].as<std::string>());
  event.set_aggregate_id(row[3].as<std::string>());
  event.set_sequence(row[4].as<int64_t>());
  *event.mutable_occurred_at() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(row[5].as<int64_t>());
  event.mutable_payload()->ParseFromString(pqxx::binarystring(row[6]).str());
}
}  // namespace

Relay::Pass Relay::Deliver(Lane& lane, Worker& worker) {
  return db_.Write(PassDeadline(), [&](pqxx::transaction_base& tx) {
    Pass p;
    ++lane.claims;
    const auto rows = tx.exec_prepared(worker.claim);
    p.claimed = static_cast<int>(rows.size());
    p.more_due = p.claimed >= options_.batch_size;
    for (const auto& row : rows) {
      DeliverEventRequest request;
      FillEvent(row, *request.mutable_event());
      const grpc::Status status = Send(lane, request);
      // A crash here means the subscriber applied the event but we never recorded it:
      // the row stays pending and is delivered again.
      failpoint::Hit("relay.before_ack");
      if (Record(tx, lane, request.event(), row[7].as<int>(), status)) p.more_due = true;
    }
    // An event of an acknowledged aggregate committed from here on is this worker's to claim,
    // and its NOTIFY wakes this worker: it claims again once this pass has committed.
    failpoint::Hit("relay.before_commit");  // a test holds the pass open here
    return p;
  });
}

grpc::Status Relay::Send(Lane& lane, const DeliverEventRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(Clock::now() + options_.deliver_timeout);
  context.AddMetadata(kInternalTokenHeader, internal_token_);
  context.AddMetadata(kCorrelationHeader, request.event().event_id());
  DeliverEventResponse response;
  return lane.stub->DeliverEvent(&context, request, &response);
}

bool Relay::Record(pqxx::transaction_base& tx, Lane& lane, const Event& event, int attempts,
                   const grpc::Status& status) {
  const std::string& name = lane.subscriber.name;
  if (status.ok()) {
    return tx.exec_prepared1(Name("relay_delivered", schema_), event.store_id(), event.event_id(),
                             name)[0]
        .as<bool>();
  }
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    log::Error("event dead-lettered", {{"subscriber", name},
                                       {"event_id", event.event_id()},
                                       {"type", event.type()},
                                       {"error", status.error_message()}});
    tx.exec_prepared(Name("relay_dead", schema_), event.store_id(), event.event_id(), name,
                     status.error_message());
    return true;  // the aggregate's next event may be free now (dead letters are rare: look)
  }
  const auto wait = RelayBackoff(attempts + 1, options_.max_backoff);
  // A subscriber that is down fails every event of a backlog the same way.
  log::WarnEvery("relay delivery " + schema_ + " " + name + " " +
                     StatusCodeName(static_cast<int>(status.error_code())),
                 log::kRepeatInterval, "event delivery failed; will retry",
                 {{"subscriber", name}, {"event_id", event.event_id()},
                  {"code", static_cast<int>(status.error_code())}, {"retry_in_ms", wait.count()}});
  tx.exec_prepared(Name("relay_retry", schema_), event.store_id(), event.event_id(), name,
                   status.error_message(), wait.count());
  return false;
}

void Relay::Wake(const std::string& payload) {
  for (auto& lane : lanes_) {
    const auto partition =
        NotifiedPartition(payload, static_cast<int>(lane->workers.size()));
    if (!partition) {
      WakeAll(*lane);
      continue;
    }
    Worker& worker = *lane->workers[*partition];
    {
      // One claim sees everything committed before it, so NOTIFYs arriving together wake once.
      std::lock_guard lock(lane->mutex);
      worker.woken = true;
    }
    worker.cv.notify_one();
  }
}

void Relay::WakeAll(Lane& lane) {
  {
    std::lock_guard lock(lane.mutex);
    for (auto& worker : lane.workers) worker->woken = true;
  }
  for (auto& worker : lane.workers) worker->cv.notify_one();
}

Relay::Reason Relay::Await(std::stop_token stop, Lane& lane, Worker& worker) {
  std::unique_lock lock(lane.mutex);
  for (;;) {
    if (stop.stop_requested()) return Reason::kStopped;
    if (worker.woken) {
      worker.woken = false;
      return Reason::kWoken;
    }
    // The poll tick goes to whichever worker sees it first; the others sleep on.
    const auto now = std::chrono::steady_clock::now();
    if (now >= lane.next_poll) {
      lane.next_poll = now + options_.poll_interval;
      return Reason::kPollTick;
    }
    // A copy: wait_until reads its deadline again while lane.mutex is released, when another
    // worker may be moving next_poll (a data race ThreadSanitizer found in RelayIT). A worker
    // woken at the old tick finds it taken and sleeps on until the new one.
    const auto until = lane.next_poll;
    worker.cv.wait_until(lock, stop, until, [&] { return worker.woken; });
  }
}

bool Relay::AnyDue(Lane& lane) {
  return db_.Read(PassDeadline(), [&](pqxx::transaction_base& tx) {
    return tx.exec_prepared1(lane.due)[0].as<bool>();
  });
}

void Relay::Listen(std::stop_token stop) {
  // On (re)connecting, catch up on anything committed while nobody listened.
  ListenLoop(
      stop, db_.url(), OutboxChannel(schema_),
      [this](const std::string& payload) { Wake(payload); }, [this] { Wake(""); });
}

void Relay::Run(std::stop_token stop) {
  std::vector<std::jthread> threads;
  threads.emplace_back([this, stop](std::stop_token) { Listen(stop); });
  for (auto& lane : lanes_) {
    for (auto& worker : lane->workers) {
      threads.emplace_back([this, stop, l = lane.get(), w = worker.get()](std::stop_token) {
        Work(stop, *l, *w);
      });
    }
  }
  // The threads see `stop` themselves; jthreads join here once it is requested.
}

// A worker sleeps until asked to claim. After a pass it claims again at once only when it saw
// more due (a full batch, or an aggregate's next event freed by its acknowledgement). A poll
// tick that finds anything due asks every worker of the lane to claim its partition.
void Relay::Work(std::stop_token stop, Lane& lane, Worker& worker) {
  bool more_due = false;
  while (!stop.stop_requested()) {
    try {
      if (!more_due) {
        const Reason reason = Await(stop, lane, worker);
        if (reason == Reason::kStopped) return;
        if (reason == Reason::kPollTick) {
          // A tick usually finds nothing: one autocommitted statement says so, where empty
          // claims cost a transaction (BEGIN, SELECT, COMMIT) per partition.
          if (AnyDue(lane)) WakeAll(lane);
          continue;
        }
      }
      more_due = Deliver(lane, worker).more_due;
    } catch (const std::exception& e) {
      more_due = false;
      log::WarnEvery("relay pass " + schema_ + " " + lane.subscriber.name, log::kRepeatInterval,
                     "relay pass failed", {{"subscriber", lane.subscriber.name}, {"error", e.what()}});
    }
  }
}

std::vector<Metrics::Sample> Relay::Samples(double Stats::*value) {
  std::lock_guard lock(stats_mutex_);
  const auto now = std::chrono::steady_clock::now();
  // Until the migrations are applied (see Publisher) the tables may not exist: no samples.
  if (!db_.available()) return {};
  if (stats_.empty() || now - stats_read_ >= std::chrono::seconds(1)) {
    std::vector<std::string> names;
    for (const auto& lane : lanes_) names.push_back(lane->subscriber.name);
    stats_ = db_.Read(Clock::now() + std::chrono::seconds(2), [&](pqxx::transaction_base& tx) {
      std::vector<std::pair<std::string, Stats>> rows;
      for (const auto& row : tx.exec_prepared(Name("relay_stats", schema_), PgTextArray(names))) {
        rows.push_back({row[0].as<std::string>(),
                        {row[1].as<double>(), row[2].as<double>(), row[3].as<double>()}});
      }
      return rows;
    });
    stats_read_ = now;
  }
  std::vector<Metrics::Sample> samples;
  for (const auto& [name, stats] : stats_) {
    samples.push_back({"schema=\"" + LabelValue(schema_) + "\",subscriber=\"" + LabelValue(name) +
                           "\"",
                       stats.*value});
  }
  return samples;
}

void Relay::RegisterMetrics(Metrics& metrics) {
  metrics.AddGauge("loyalty_outbox_pending", "Event deliveries not yet acknowledged.",
                   [this] { return Samples(&Stats::pending); });
  metrics.AddGauge("loyalty_outbox_lag_seconds",
                   "Age of the oldest unacknowledged delivery (0 when none is pending).",
                   [this] { return Samples(&Stats::lag_seconds); });
  metrics.AddGauge("loyalty_outbox_dead_letters",
                   "Events a subscriber refused that no operator has retried or discarded yet.",
                   [this] { return Samples(&Stats::dead_letters); });
}

int PurgeEventTables(Database& db, const std::string& schema, std::chrono::hours retention) {
  const int hours = static_cast<int>(retention.count());
  const std::string& s = schema;
  return db.Write(Clock::now() + std::chrono::seconds(30), [&](pqxx::transaction_base& tx) {
    // Deliveries go with their event (ON DELETE CASCADE).
    auto outbox = tx.exec_params(
        "DELETE FROM " + s + ".outbox o WHERE o.created_at < now() - make_interval(hours => $1) "
        "AND NOT EXISTS (SELECT 1 FROM " + s + ".outbox_delivery d WHERE d.store_id = o.store_id "
        "  AND d.event_id = o.event_id AND d.state = 'pending') "
        "AND NOT EXISTS (SELECT 1 FROM " + s + ".dead_letter l WHERE l.store_id = o.store_id "
        "  AND l.event_id = o.event_id AND l.resolution IS NULL)",
        hours);
    auto letters = tx.exec_params(
        "DELETE FROM " + s + ".dead_letter "
        "WHERE resolved_at < now() - make_interval(hours => $1)",
        hours);
    auto inbox = tx.exec_params(
        "DELETE FROM " + s + ".inbox "
        "WHERE received_at < now() - make_interval(hours => $1) AND outcome = 'applied'",
        hours);
    return static_cast<int>(outbox.affected_rows() + letters.affected_rows() +
                            inbox.affected_rows());
  });
}

EventRetry RetryOfEvent(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const InvalidEvent&) {
    return EventRetry::kNever;
  } catch (const ApiError& e) {
    switch (e.code()) {
      case grpc::StatusCode::INVALID_ARGUMENT:
      case grpc::StatusCode::FAILED_PRECONDITION:
      case grpc::StatusCode::NOT_FOUND:
      case grpc::StatusCode::ALREADY_EXISTS:
      case grpc::StatusCode::OUT_OF_RANGE:
        return EventRetry::kNever;
      default:
        // UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, RESOURCE_EXHAUSTED, INTERNAL, and the ones a
        // deployment fixes without touching the event (UNAUTHENTICATED, PERMISSION_DENIED,
        // UNIMPLEMENTED during a rolling update).
        return EventRetry::kLater;
    }
  } catch (const pqxx::unique_violation&) {
    return EventRetry::kAtOnce;
  } catch (const pqxx::sql_error& e) {
    // Typed or not (libpqxx types only some states), the class decides.
    const std::string state = e.sqlstate();
    if (state == "23505") return EventRetry::kAtOnce;
    if (state.starts_with("22") || state.starts_with("23")) return EventRetry::kNever;
    return EventRetry::kLater;
  } catch (...) {
    // Lost connections, serialization failures and deadlocks (not sql_errors in libpqxx 6),
    // commits in doubt, and whatever we cannot name: never give up on an event we might apply.
    return EventRetry::kLater;
  }
}

namespace {

// Thrown inside the inbox's transaction when the handler should run again at once.
struct RunAgainAtOnce {};

// What a dead letter says of a handler's permanent failure: the refusal's reason and message, or
// the SQLSTATE; never SQL text or values (the subscriber's log has the whole message).
std::string Describe(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const InvalidEvent& e) {
    return e.what();
  } catch (const ApiError& e) {
    return e.reason() + ": " + e.what();
  } catch (const pqxx::sql_error& e) {
    return "the database refused the change (SQLSTATE " + e.sqlstate() + ")";
  } catch (...) {
    return "the event cannot be applied";
  }
}

// The whole message, for the log.
std::string WhatOf(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

// Runs the handler. A failure that can never pass becomes InvalidEvent; one worth another go at
// once (first attempt only) becomes RunAgainAtOnce; any other propagates unchanged.
void ApplyOrRefuse(pqxx::transaction_base& tx, const Event& event, const Inbox::Handler& handler,
                   bool first_attempt) {
  try {
    handler(tx, event);
  } catch (const InvalidEvent&) {
    throw;
  } catch (...) {
    const auto error = std::current_exception();
    switch (RetryOfEvent(error)) {
      case EventRetry::kLater:
        throw;
      case EventRetry::kAtOnce:
        if (first_attempt) throw RunAgainAtOnce{};
        break;
      case EventRetry::kNever:
        break;
    }
    log::Error("event refused for good", {{"event_id", event.event_id()},
                                          {"type", event.type()},
                                          {"error", WhatOf(error)}});
    throw InvalidEvent(Describe(error));
  }
}

}  // namespace

Inbox::Inbox(Database& db, std::string schema) : db_(db), schema_(std::move(schema)) {
  const std::string& s = schema_;
  db_.Prepare(Name("inbox_seen", s),
              "SELECT outcome FROM " + s + ".inbox WHERE store_id = $1 AND event_id = $2::uuid");
  db_.Prepare(Name("inbox_touch_aggregate", s),
              "INSERT INTO " + s + ".inbox_aggregate (store_id, aggregate_id, last_sequence) "
              "VALUES ($1, $2, 0) ON CONFLICT DO NOTHING");
  db_.Prepare(Name("inbox_lock_aggregate", s),
              "SELECT last_sequence FROM " + s + ".inbox_aggregate "
              "WHERE store_id = $1 AND aggregate_id = $2 FOR UPDATE");
  db_.Prepare(Name("inbox_record", s),
              "WITH a AS (UPDATE " + s + ".inbox_aggregate SET last_sequence = $4 "
              "  WHERE store_id = $1 AND aggregate_id = $3) "
              "INSERT INTO " + s + ".inbox (store_id, event_id, aggregate_id, sequence, outcome) "
              "VALUES ($1, $2::uuid, $3, $4, $5)");
  db_.Prepare(Name("inbox_applied_late", s),
              "UPDATE " + s + ".inbox SET outcome = 'applied', received_at = now() "
              "WHERE store_id = $1 AND event_id = $2::uuid");
}

bool Inbox::Receive(const Event& event, Deadline deadline, const Handler& handler) {
  enum class Past { kNone, kApplied, kRejected };
  // Locks the aggregate's row, then says what became of the event before. Locking first means
  // that a delivery racing another of the same event sees the other's outcome once it commits.
  auto look = [&](pqxx::transaction_base& tx) {
    tx.exec_prepared(Name("inbox_touch_aggregate", schema_), event.store_id(), event.aggregate_id());
    const auto last = tx.exec_prepared1(Name("inbox_lock_aggregate", schema_), event.store_id(),
                                        event.aggregate_id())[0]
                          .as<int64_t>();
    const auto seen =
        tx.exec_prepared(Name("inbox_seen", schema_), event.store_id(), event.event_id());
    if (!seen.empty()) {
      return seen[0][0].as<std::string>() == "applied" ? Past::kApplied : Past::kRejected;
    }
    if (event.sequence() <= last) return Past::kApplied;
    if (event.sequence() > last + 1) {
      throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "EVENT_OUT_OF_ORDER",
                     "event " + std::to_string(event.sequence()) + " of " + event.aggregate_id() +
                         " arrived before event " + std::to_string(last + 1));
    }
    return Past::kNone;
  };
  auto record = [&](pqxx::transaction_base& tx, const char* outcome) {
    tx.exec_prepared(Name("inbox_record", schema_), event.store_id(), event.event_id(),
                     event.aggregate_id(), event.sequence(), outcome);
  };
  try {
    for (bool first_attempt = true;; first_attempt = false) {
      try {
        return db_.Write(deadline, [&](pqxx::transaction_base& tx) {
          const Past past = look(tx);
          if (past == Past::kApplied) return true;
          ApplyOrRefuse(tx, event, handler, first_attempt);
          if (past == Past::kRejected) {
            // Rejected once, delivered again: an operator retried it once its cause was fixed
            // (loyalty.ops.v1.OperatorService). The aggregate's later events have flowed meanwhile.
            tx.exec_prepared(Name("inbox_applied_late", schema_), event.store_id(),
                             event.event_id());
          } else {
            record(tx, "applied");
          }
          return false;
        });
      } catch (const RunAgainAtOnce&) {
        // A unique key someone else just committed: a new transaction sees it (EventRetry).
      }
    }
  } catch (const InvalidEvent& e) {
    // The handler's work rolled back; record the rejection (once) so the aggregate's later
    // events flow.
    db_.Write(deadline, [&](pqxx::transaction_base& tx) {
      if (look(tx) == Past::kNone) record(tx, "rejected");
    });
    throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, "EVENT_REJECTED", e.what());
  }
}

InboxEventSink::InboxEventSink(ServiceHost& host, std::string schema)
    : host_(host), inbox_(host.db(), std::move(schema)) {}

void InboxEventSink::On(const std::string& type, Inbox::Handler handler) {
  handlers_[type] = std::move(handler);
}

grpc::ServerUnaryReactor* InboxEventSink::DeliverEvent(grpc::CallbackServerContext* context,
                                                       const DeliverEventRequest* request,
                                                       DeliverEventResponse* response) {
  return host_.Serve(context, "DeliverEvent", request->event().store_id(), [=, this](CallContext& call) {
    const Event& event = request->event();
    Validator v;
    v.Check(!event.store_id().empty(), "event.store_id", "is required");
    v.RequireUuid(event.event_id(), "event.event_id");
    v.Check(!event.aggregate_id().empty(), "event.aggregate_id", "is required");
    v.Check(event.sequence() > 0, "event.sequence", "must be positive");
    v.Check(handlers_.contains(event.type()), "event.type",
            "is not an event this service subscribes to: \"" + event.type() + "\"");
    v.ThrowIfInvalid();
    response->set_duplicate(inbox_.Receive(event, call.deadline, handlers_.at(event.type())));
  });
}

}  // namespace loyalty::common
