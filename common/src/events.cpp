#include "loyalty/common/events.hpp"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <regex>

#include "loyalty/common/errors.hpp"
#include "loyalty/common/failpoint.hpp"
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

}  // namespace

std::string OutboxChannel(const std::string& schema) { return "loyalty_outbox_" + schema; }

OutboxWriter::OutboxWriter(Database& db, std::string schema, std::vector<std::string> subscribers)
    : schema_(std::move(schema)) {
  static const std::regex kName("^[a-z][a-z0-9_]*$");
  for (const auto& sub : subscribers) {
    if (!std::regex_match(sub, kName)) throw std::invalid_argument("bad subscriber name: " + sub);
  }
  subscribers_ = PgTextArray(subscribers);
  const std::string& s = schema_;
  db.Prepare(Name("outbox_append", s),
             "WITH e AS (INSERT INTO " + s + ".outbox (store_id, aggregate_id, sequence, type, payload) "
             "  VALUES ($1, $2, $3, $4, $5) RETURNING store_id, event_id, aggregate_id, sequence) "
             "INSERT INTO " + s + ".outbox_delivery (store_id, event_id, subscriber, aggregate_id, sequence) "
             "SELECT e.store_id, e.event_id, sub, e.aggregate_id, e.sequence "
             "FROM e, unnest($6::text[]) AS sub");
  db.Prepare(Name("outbox_notify", s), "SELECT pg_notify($1, '')");
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
  tx.exec_prepared(Name("outbox_notify", schema_), OutboxChannel(schema_));
}

std::chrono::milliseconds RelayBackoff(int attempts, std::chrono::milliseconds cap) {
  const int shift = std::clamp(attempts - 1, 0, 20);
  return std::min(cap, std::chrono::milliseconds(100LL << shift));
}

Relay::Relay(Database& db, std::string schema, std::vector<Subscriber> subscribers,
             std::string internal_token, RelayOptions options)
    : db_(db),
      schema_(std::move(schema)),
      subscribers_(std::move(subscribers)),
      internal_token_(std::move(internal_token)),
      options_(options) {
  const std::string& s = schema_;
  // Due rows of one subscriber, skipping rows another relay holds, and only the first pending
  // event of each aggregate, so events arrive in sequence.
  db_.Prepare(Name("relay_claim", s),
              "SELECT d.store_id, d.event_id::text, o.type, o.aggregate_id, o.sequence, "
              "  (extract(epoch FROM o.created_at) * 1000000)::bigint, o.payload, d.attempts "
              "FROM " + s + ".outbox_delivery d JOIN " + s + ".outbox o USING (store_id, event_id) "
              "WHERE d.subscriber = $1 AND d.state = 'pending' AND d.next_attempt_at <= now() "
              "  AND NOT EXISTS (SELECT 1 FROM " + s + ".outbox_delivery e "
              "    WHERE e.store_id = d.store_id AND e.subscriber = d.subscriber "
              "      AND e.aggregate_id = d.aggregate_id AND e.state = 'pending' "
              "      AND e.sequence < d.sequence) "
              "ORDER BY d.next_attempt_at LIMIT $2 FOR UPDATE OF d SKIP LOCKED");
  db_.Prepare(Name("relay_delivered", s),
              "UPDATE " + s + ".outbox_delivery SET state = 'delivered', finished_at = now(), "
              "attempts = attempts + 1 WHERE store_id = $1 AND event_id = $2::uuid AND subscriber = $3");
  db_.Prepare(Name("relay_retry", s),
              "UPDATE " + s + ".outbox_delivery SET attempts = attempts + 1, last_error = $4, "
              "next_attempt_at = now() + make_interval(secs => $5::double precision / 1000) "
              "WHERE store_id = $1 AND event_id = $2::uuid AND subscriber = $3");
  db_.Prepare(Name("relay_dead", s),
              "WITH d AS (UPDATE " + s + ".outbox_delivery SET state = 'dead', finished_at = now(), "
              "  attempts = attempts + 1, last_error = $4 "
              "  WHERE store_id = $1 AND event_id = $2::uuid AND subscriber = $3 RETURNING 1) "
              "INSERT INTO " + s + ".dead_letter (store_id, event_id, subscriber, error) "
              "SELECT $1, $2::uuid, $3, $4 FROM d ON CONFLICT DO NOTHING");
  db_.Prepare(Name("relay_lag", s),
              "SELECT subscriber, count(*), "
              "  COALESCE(extract(epoch FROM now() - min(created_at)), 0)::double precision "
              "FROM " + s + ".outbox_delivery WHERE state = 'pending' GROUP BY subscriber");
  for (const auto& sub : subscribers_) {
    stubs_[sub.name] = loyalty::events::v1::EventSinkService::NewStub(InternalChannel(sub.address));
  }
}

int Relay::DeliverOnce(const Subscriber& subscriber) {
  auto& stub = *stubs_.at(subscriber.name);
  const auto deadline =
      Clock::now() + options_.deliver_timeout * (options_.batch_size + 1) + std::chrono::seconds(5);
  return db_.Write(deadline, [&](pqxx::transaction_base& tx) {
    const auto rows = tx.exec_prepared(Name("relay_claim", schema_), subscriber.name,
                                       options_.batch_size);
    for (const auto& row : rows) {
      DeliverEventRequest request;
      Event& event = *request.mutable_event();
      event.set_store_id(row[0].as<std::string>());
      event.set_event_id(row[1].as<std::string>());
      event.set_type(row[2].as<std::string>());
      event.set_aggregate_id(row[3].as<std::string>());
      event.set_sequence(row[4].as<int64_t>());
      *event.mutable_occurred_at() =
          google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(row[5].as<int64_t>());
      event.mutable_payload()->ParseFromString(pqxx::binarystring(row[6]).str());
      const int attempts = row[7].as<int>();

      grpc::ClientContext context;
      context.set_deadline(Clock::now() + options_.deliver_timeout);
      context.AddMetadata(kInternalTokenHeader, internal_token_);
      context.AddMetadata(kCorrelationHeader, event.event_id());
      DeliverEventResponse response;
      const grpc::Status status = stub.DeliverEvent(&context, request, &response);

      // A crash here means the subscriber applied the event but we never recorded it:
      // the row stays pending and is delivered again.
      failpoint::Hit("relay.before_ack");
      if (status.ok()) {
        tx.exec_prepared(Name("relay_delivered", schema_), event.store_id(), event.event_id(),
                         subscriber.name);
      } else if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
        log::Error("event dead-lettered", {{"subscriber", subscriber.name},
                                           {"event_id", event.event_id()},
                                           {"type", event.type()},
                                           {"error", status.error_message()}});
        tx.exec_prepared(Name("relay_dead", schema_), event.store_id(), event.event_id(),
                         subscriber.name, status.error_message());
      } else {
        const auto wait = RelayBackoff(attempts + 1, options_.max_backoff);
        log::Warn("event delivery failed; will retry",
                  {{"subscriber", subscriber.name}, {"event_id", event.event_id()},
                   {"code", static_cast<int>(status.error_code())},
                   {"retry_in_ms", wait.count()}});
        tx.exec_prepared(Name("relay_retry", schema_), event.store_id(), event.event_id(),
                         subscriber.name, status.error_message(), wait.count());
      }
    }
    return static_cast<int>(rows.size());
  });
}

namespace {
class Wakeup : public pqxx::notification_receiver {
 public:
  Wakeup(pqxx::connection_base& conn, const std::string& channel, std::function<void()> wake)
      : pqxx::notification_receiver(conn, channel), wake_(std::move(wake)) {}
  void operator()(const std::string&, int) override { wake_(); }

 private:
  std::function<void()> wake_;
};
}  // namespace

void Relay::Wake() {
  {
    std::lock_guard lock(wake_mutex_);
    ++wake_count_;
  }
  woken_.notify_all();
}

void Relay::Listen(std::stop_token stop) {
  while (!stop.stop_requested()) {
    try {
      auto conn = Connect(db_.url());
      Wakeup wakeup(*conn, OutboxChannel(schema_), [this] { Wake(); });
      Wake();  // catch up on anything committed while we were not listening
      while (!stop.stop_requested()) conn->await_notification(0, 200000);
    } catch (const std::exception& e) {
      log::Warn("outbox listener lost its connection", {{"error", e.what()}});
      SleepUnlessStopped(stop, std::chrono::seconds(1));
    }
  }
}

void Relay::Run(std::stop_token stop) {
  std::vector<std::jthread> threads;
  threads.emplace_back([this, stop](std::stop_token) { Listen(stop); });
  for (const auto& sub : subscribers_) {
    for (int w = 0; w < std::max(1, options_.workers_per_subscriber); ++w) {
      threads.emplace_back([this, stop, &sub](std::stop_token) { Work(stop, sub); });
    }
  }
  // The threads see `stop` themselves; jthreads join here once it is requested.
}

void Relay::Work(std::stop_token stop, const Subscriber& sub) {
  while (!stop.stop_requested()) {
    uint64_t seen;
    {
      std::lock_guard lock(wake_mutex_);
      seen = wake_count_;
    }
    int delivered = 0;
    try {
      delivered = DeliverOnce(sub);
    } catch (const std::exception& e) {
      log::Warn("relay pass failed", {{"subscriber", sub.name}, {"error", e.what()}});
    }
    if (delivered >= options_.batch_size) continue;  // more may be due right now
    std::unique_lock lock(wake_mutex_);
    woken_.wait_for(lock, stop, options_.poll_interval, [&] { return wake_count_ != seen; });
  }
}

void Relay::RegisterMetrics(Metrics& metrics) {
  auto read = [this](int column) {
    return db_.Read(Clock::now() + std::chrono::seconds(2), [&](pqxx::transaction_base& tx) {
      std::vector<Metrics::Sample> samples;
      for (const auto& sub : subscribers_) {
        double value = 0;
        for (const auto& row : tx.exec_prepared(Name("relay_lag", schema_))) {
          if (row[0].as<std::string>() == sub.name) value = row[column].as<double>();
        }
        samples.push_back({"subscriber=\"" + LabelValue(sub.name) + "\"", value});
      }
      return samples;
    });
  };
  metrics.AddGauge("loyalty_outbox_pending", "Event deliveries not yet acknowledged.",
                   [read] { return read(1); });
  metrics.AddGauge("loyalty_outbox_lag_seconds", "Age of the oldest unacknowledged delivery.",
                   [read] { return read(2); });
}

int PurgeEventTables(Database& db, const std::string& schema, std::chrono::hours retention) {
  const int hours = static_cast<int>(retention.count());
  return db.Write(Clock::now() + std::chrono::seconds(30), [&](pqxx::transaction_base& tx) {
    // Deliveries go with their event (ON DELETE CASCADE); an event with any pending delivery stays.
    auto outbox = tx.exec_params(
        "DELETE FROM " + schema + ".outbox o WHERE o.created_at < now() - make_interval(hours => $1) "
        "AND NOT EXISTS (SELECT 1 FROM " + schema + ".outbox_delivery d WHERE d.store_id = o.store_id "
        "AND d.event_id = o.event_id AND d.state = 'pending')",
        hours);
    auto inbox = tx.exec_params(
        "DELETE FROM " + schema + ".inbox WHERE received_at < now() - make_interval(hours => $1)",
        hours);
    return static_cast<int>(outbox.affected_rows() + inbox.affected_rows());
  });
}

Inbox::Inbox(Database& db, std::string schema) : db_(db), schema_(std::move(schema)) {
  const std::string& s = schema_;
  db_.Prepare(Name("inbox_seen", s),
              "SELECT 1 FROM " + s + ".inbox WHERE store_id = $1 AND event_id = $2::uuid");
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
}

bool Inbox::Receive(const Event& event, Deadline deadline, const Handler& handler) {
  // Locks the aggregate's row and decides: true = already applied, false = apply now.
  auto seen_before = [&](pqxx::transaction_base& tx) {
    if (!tx.exec_prepared(Name("inbox_seen", schema_), event.store_id(), event.event_id()).empty()) {
      return true;
    }
    tx.exec_prepared(Name("inbox_touch_aggregate", schema_), event.store_id(), event.aggregate_id());
    const auto last = tx.exec_prepared1(Name("inbox_lock_aggregate", schema_), event.store_id(),
                                        event.aggregate_id())[0]
                          .as<int64_t>();
    if (event.sequence() <= last) return true;
    if (event.sequence() > last + 1) {
      throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "EVENT_OUT_OF_ORDER",
                     "event " + std::to_string(event.sequence()) + " of " + event.aggregate_id() +
                         " arrived before event " + std::to_string(last + 1));
    }
    return false;
  };
  auto record = [&](pqxx::transaction_base& tx, const char* outcome) {
    tx.exec_prepared(Name("inbox_record", schema_), event.store_id(), event.event_id(),
                     event.aggregate_id(), event.sequence(), outcome);
  };
  try {
    return db_.Write(deadline, [&](pqxx::transaction_base& tx) {
      if (seen_before(tx)) return true;
      handler(tx, event);
      record(tx, "applied");
      return false;
    });
  } catch (const InvalidEvent& e) {
    // The handler's work rolled back; record the rejection so the aggregate's later events flow.
    db_.Write(deadline, [&](pqxx::transaction_base& tx) {
      if (!seen_before(tx)) record(tx, "rejected");
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
    static const std::regex kUuid(
        "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
    const Event& event = request->event();
    Validator v;
    v.Check(!event.store_id().empty(), "event.store_id", "is required");
    v.Check(std::regex_match(event.event_id(), kUuid), "event.event_id", "must be a lower-case UUID");
    v.Check(!event.aggregate_id().empty(), "event.aggregate_id", "is required");
    v.Check(event.sequence() > 0, "event.sequence", "must be positive");
    v.Check(handlers_.contains(event.type()), "event.type",
            "is not an event this service subscribes to: \"" + event.type() + "\"");
    v.ThrowIfInvalid();
    response->set_duplicate(inbox_.Receive(event, call.deadline, handlers_.at(event.type())));
  });
}

}  // namespace loyalty::common
