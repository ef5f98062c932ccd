// Event delivery between services: a transactional outbox on the publisher's side, a relay that
// delivers each event to each subscriber over loyalty.events.v1.EventSinkService until it is
// acknowledged, and an inbox on the subscriber's side that applies each event exactly once.
// The tables are in common/migrations/V900__event_delivery.sql; the flow in docs/architecture.md.
#pragma once

#include <google/protobuf/message.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "loyalty/common/db.hpp"
#include "loyalty/common/metrics.hpp"
#include "loyalty/common/server.hpp"
#include "loyalty/events/v1/events.grpc.pb.h"

namespace loyalty::common {

// The LISTEN/NOTIFY channel of a schema's outbox.
std::string OutboxChannel(const std::string& schema);
// A NOTIFY on it carries the hash of the event's aggregate id (Postgres hashtext, made
// non-negative); a relay worker owns the aggregates whose hash modulo the number of workers is
// its partition. Returns that partition, or nullopt when the payload carries no hash (an empty
// NOTIFY asks every worker to look). Pure; unit-tested.
std::optional<int> NotifiedPartition(const std::string& payload, int workers);

// Subscriber names are recorded on delivery rows, written into the relay's SQL and into metric
// labels: lower case, digits and underscores, starting with a letter, at most 63 characters.
bool IsSubscriberName(const std::string& name);

// Writes events in the caller's transaction, one delivery row per subscriber, and wakes the relay
// when the transaction commits.
class OutboxWriter {
 public:
  OutboxWriter(Database& db, std::string schema, std::vector<std::string> subscribers);

  // `sequence` is the aggregate's own event counter (1, 2, ...), kept by the caller on the
  // aggregate's row: that row's lock orders the events, and purging the outbox cannot reset it.
  void Append(pqxx::transaction_base& tx, const std::string& store_id,
              const std::string& aggregate_id, int64_t sequence, const std::string& type,
              const google::protobuf::Message& payload) const;

  // Many events of one type in two statements whatever their number (a campaign's page): each
  // (aggregate id, sequence, payload); the aggregate ids hold no space. Its one NOTIFY is empty,
  // which wakes every worker (each still claims only its own partition).
  struct Pending {
    std::string aggregate_id;
    int64_t sequence = 1;
    const google::protobuf::Message* payload = nullptr;
  };
  void AppendMany(pqxx::transaction_base& tx, const std::string& store_id, const std::string& type,
                  const std::vector<Pending>& events) const;

 private:
  std::string schema_;
  std::string subscribers_;  // a Postgres text[] literal of the names
};

struct Subscriber {
  std::string name;     // recorded on each delivery row, e.g. "points"
  std::string address;  // host:port of its EventSinkService
};

struct RelayOptions {
  int batch_size = 16;
  // Workers delivering to each subscriber at once, each owning one partition of the aggregates
  // (by a hash of the aggregate id): it alone claims their events and only their NOTIFYs wake it.
  // One worker delivers one event at a time, so it caps a subscriber at about 1 / (handler
  // latency) events per second (~200/s): the benchmark's 225 orders/s fell 40 s behind with one.
  // Order per aggregate holds with any number: a worker only claims the first pending event of
  // an aggregate. Each worker holds a pooled connection while it delivers a batch.
  int workers_per_subscriber = 4;
  std::chrono::milliseconds poll_interval{1000};  // the fallback when no NOTIFY arrives
  std::chrono::milliseconds deliver_timeout{3000};
  std::chrono::milliseconds max_backoff{30000};
};

// Connections a relay's workers hold at most at once: the size to give its pool.
inline int RelayPoolSize(size_t subscribers, const RelayOptions& options = {}) {
  return std::max(1, static_cast<int>(subscribers) * options.workers_per_subscriber);
}

// How long to wait before the next attempt after `attempts` failures: doubling from 100 ms,
// capped. Pure; unit-tested.
std::chrono::milliseconds RelayBackoff(int attempts, std::chrono::milliseconds cap);

// Delivers a schema's outbox. Several replicas may run one each: rows are claimed with
// FOR UPDATE SKIP LOCKED and held while delivering, so a relay that dies between delivery and
// acknowledgement leaves the row pending and it is delivered again (the inbox makes that safe).
// Each subscriber has its own workers, so a stopped subscriber never holds up another.
// A subscriber's workers split its aggregates between them (OutboxPartition), so no two claim
// the same rows: with one shared claim each worker visited and skipped the rows the others held
// (80 rows visited to claim 16 under load, most of the claim's time in LockRows). The NOTIFY of
// an event names its partition and wakes that worker only.
class Relay {
 public:
  Relay(Database& db, std::string schema, std::vector<Subscriber> subscribers,
        std::string internal_token, RelayOptions options = {});

  // Runs until stop: workers_per_subscriber threads per subscriber plus one listening for NOTIFY.
  void Run(std::stop_token stop);
  // One pass of each of a subscriber's workers: each claims up to batch_size due rows of its
  // partition, delivers them, records the outcome. Returns how many were attempted. For tests.
  int DeliverOnce(const Subscriber& subscriber);
  // Claim statements run for a subscriber so far, whether they found rows or not (each is a
  // transaction): what waking the workers costs. For tests.
  int64_t claims(const std::string& subscriber) const;
  // Per schema and subscriber: pending deliveries, the age of the oldest, and undecided dead
  // letters (loyalty_outbox_pending, _lag_seconds, _dead_letters). One statement reads all of
  // them at most once a second, so a scrape costs one round trip (see Publisher).
  void RegisterMetrics(Metrics& metrics);

 private:
  // One worker of a subscriber; its index in Lane::workers is the partition it claims.
  struct Worker {
    std::string claim;    // the name of its prepared claim statement (see the constructor)
    bool woken = false;   // asked to claim (guarded by the lane's mutex)
    std::condition_variable_any cv;
  };
  // One subscriber's workers and what wakes them.
  struct Lane {
    Subscriber subscriber;
    std::unique_ptr<loyalty::events::v1::EventSinkService::Stub> stub;
    std::string due;  // the name of its prepared look for anything due
    std::mutex mutex;
    std::vector<std::unique_ptr<Worker>> workers;
    std::chrono::steady_clock::time_point next_poll;
    std::atomic<int64_t> claims{0};
  };
  enum class Reason { kWoken, kPollTick, kStopped };
  struct Pass {
    int claimed = 0;
    bool more_due = false;  // more is, or may be, due now: claim again without waiting
  };
  // One subscriber's gauges.
  struct Stats {
    double pending = 0;
    double lag_seconds = 0;
    double dead_letters = 0;
  };
  // One gauge's samples, from the last second's statement (or a new one).
  std::vector<Metrics::Sample> Samples(double Stats::*value);

  void Listen(std::stop_token stop);
  void Work(std::stop_token stop, Lane& lane, Worker& worker);
  // Sleeps until this worker is asked to claim or the lane's poll tick is due.
  Reason Await(std::stop_token stop, Lane& lane, Worker& worker);
  // After a NOTIFY: the worker of each subscriber that owns the payload's partition, or every
  // worker when the payload names none (a catch-up, an operator's retry).
  void Wake(const std::string& payload);
  void WakeAll(Lane& lane);
  bool AnyDue(Lane& lane);
  Pass Deliver(Lane& lane, Worker& worker);
  grpc::Status Send(Lane& lane, const loyalty::events::v1::DeliverEventRequest& request);
  // Records a delivery's outcome; returns whether the aggregate's next event may be due now.
  bool Record(pqxx::transaction_base& tx, Lane& lane, const loyalty::events::v1::Event& event,
              int attempts, const grpc::Status& status);
  Deadline PassDeadline() const;

  Database& db_;
  std::string schema_;
  std::string internal_token_;
  RelayOptions options_;
  std::vector<std::unique_ptr<Lane>> lanes_;  // one per subscriber, in their order
  std::mutex stats_mutex_;
  std::chrono::steady_clock::time_point stats_read_;
  std::vector<std::pair<std::string, Stats>> stats_;
};

// Deletes outbox events older than `retention` that are done with (delivered, or dead with the
// dead letter decided), dead letters decided that long ago, and applied inbox rows. Events of
// undecided dead letters stay, so that an operator can still retry them; rejected inbox rows
// stay, so that a retried event is applied rather than taken for a duplicate. Returns rows
// deleted. Safe to run on several replicas at once.
int PurgeEventTables(Database& db, const std::string& schema, std::chrono::hours retention);

// Thrown by an event handler when the event can never be applied; the relay dead-letters it.
class InvalidEvent : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The event's payload as `Payload`; InvalidEvent (dead-lettered) when it carries another message.
template <class Payload>
Payload UnpackEvent(const loyalty::events::v1::Event& event) {
  Payload payload;
  if (!event.payload().UnpackTo(&payload)) {
    throw InvalidEvent(event.type() + " does not carry a " + Payload::descriptor()->full_name());
  }
  return payload;
}

// What becomes of an event whose handler threw: decided here, and only here. Pure; unit-tested.
enum class EventRetry {
  // Transient, or not known to be permanent: the relay tries again after a backoff, for as long
  // as it takes (a database or service that is down, busy or slow; a serialization failure or
  // deadlock that outlasted Database::Write's own retries; a commit whose outcome is unknown).
  kLater,
  // A unique violation: Postgres raises it only once the other row has committed, so a check-then-
  // insert that lost a race passes when run again at once with a fresh snapshot. The inbox runs the
  // event once more at once; failing the same way again, it never will (kNever).
  kAtOnce,
  // Can never pass as it is: the event is invalid (InvalidEvent), the handler refused it
  // (ApiError INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND, ALREADY_EXISTS, OUT_OF_RANGE),
  // or the database refused the data (SQLSTATE class 22, data exception; class 23, integrity
  // constraint). It goes to the dead letters at once, where an operator can retry it once its
  // cause is fixed, and the aggregate's later events flow.
  kNever,
};
EventRetry RetryOfEvent(std::exception_ptr error);

// Applies each event once: the handler's effects and the inbox record commit together.
// Events of one aggregate must arrive in sequence; a gap answers FAILED_PRECONDITION (retry).
class Inbox {
 public:
  using Handler = std::function<void(pqxx::transaction_base&, const loyalty::events::v1::Event&)>;
  Inbox(Database& db, std::string schema);

  // Returns true when the event had been applied before. Throws ApiError: INVALID_ARGUMENT
  // when the handler's failure can never pass (RetryOfEvent: kNever; recorded as rejected, so
  // the sequence moves on); any other failure propagates, for the relay to retry later.
  bool Receive(const loyalty::events::v1::Event& event, Deadline deadline, const Handler& handler);

 private:
  Database& db_;
  std::string schema_;
};

// A ready EventSinkService: validates the envelope and hands each event type to its handler
// through an Inbox. Unknown types are INVALID_ARGUMENT.
class InboxEventSink : public loyalty::events::v1::EventSinkService::CallbackService {
 public:
  InboxEventSink(ServiceHost& host, std::string schema);
  void On(const std::string& type, Inbox::Handler handler);

  grpc::ServerUnaryReactor* DeliverEvent(grpc::CallbackServerContext* context,
                                         const loyalty::events::v1::DeliverEventRequest* request,
                                         loyalty::events::v1::DeliverEventResponse* response) override;

 private:
  ServiceHost& host_;
  Inbox inbox_;
  std::map<std::string, Inbox::Handler> handlers_;
};

}  // namespace loyalty::common
