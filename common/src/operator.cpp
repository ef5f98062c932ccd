#include "loyalty/common/operator.hpp"

#include <google/protobuf/util/time_util.h>


#include "loyalty/common/events.hpp"
#include "loyalty/common/page_token.hpp"

namespace loyalty::common {

using google::protobuf::util::TimeUtil;
namespace ops = loyalty::ops::v1;

namespace {

// Statement names carry the schema, as in events.cpp.
std::string Name(const char* statement, const std::string& schema) {
  return std::string(statement) + ":" + schema;
}

// A letter with what is known of its event; the event's rows may have been purged before
// undecided letters kept them (see PurgeEventTables).
std::string LetterColumns(const std::string& s) {
  return "SELECT l.store_id, l.event_id::text, l.subscriber, COALESCE(o.type, ''), "
         "  COALESCE(o.aggregate_id, ''), COALESCE(o.sequence, 0), l.error, "
         "  (extract(epoch FROM l.dead_at) * 1000000)::bigint, COALESCE(d.attempts, 0), "
         "  COALESCE(l.resolution, ''), "
         "  COALESCE((extract(epoch FROM l.resolved_at) * 1000000)::bigint, 0), "
         "  COALESCE(l.resolved_by, ''), COALESCE(l.reason, '') "
         "FROM " + s + ".dead_letter l "
         "LEFT JOIN " + s + ".outbox o ON o.store_id = l.store_id AND o.event_id = l.event_id "
         "LEFT JOIN " + s + ".outbox_delivery d ON d.store_id = l.store_id "
         "  AND d.event_id = l.event_id AND d.subscriber = l.subscriber ";
}

ops::Resolution ToResolution(const std::string& value) {
  if (value == "retried") return ops::RESOLUTION_RETRIED;
  if (value == "discarded") return ops::RESOLUTION_DISCARDED;
  return ops::RESOLUTION_UNSPECIFIED;
}

ops::DeadLetter ToLetter(const pqxx::row& r) {
  ops::DeadLetter l;
  l.set_store_id(r[0].as<std::string>());
  l.set_event_id(r[1].as<std::string>());
  l.set_subscriber(r[2].as<std::string>());
  l.set_event_type(r[3].as<std::string>());
  l.set_aggregate_id(r[4].as<std::string>());
  l.set_sequence(r[5].as<int64_t>());
  l.set_error(r[6].as<std::string>());
  *l.mutable_dead_at() = TimeUtil::MicrosecondsToTimestamp(r[7].as<int64_t>());
  l.set_attempts(r[8].as<int32_t>());
  l.set_resolution(ToResolution(r[9].as<std::string>()));
  if (l.resolution() != ops::RESOLUTION_UNSPECIFIED) {
    *l.mutable_resolved_at() = TimeUtil::MicrosecondsToTimestamp(r[10].as<int64_t>());
  }
  l.set_resolved_by(r[11].as<std::string>());
  l.set_reason(r[12].as<std::string>());
  return l;
}

// Where a page starts: after this letter in (dead_at, event_id, subscriber) order. The first
// page starts before every letter.
struct PageKey {
  int64_t dead_at_us = 0;
  std::string event_id = "00000000-0000-0000-0000-000000000000";
  std::string subscriber;
};

// Page tokens in common/page_token's form: the last letter's dead_at and "<event id>/<subscriber>".
constexpr std::string_view kTokenKind = "dead_letters";

std::string PageToken(const ops::DeadLetter& last) {
  return page_token::Encode(
      kTokenKind, page_token::FormatTimeId({TimeUtil::TimestampToMicroseconds(last.dead_at()),
                                            last.event_id() + "/" + last.subscriber()},
                                           '/'));
}

// A token of PageToken's making; nullopt for anything else.
std::optional<PageKey> ParsePageToken(const std::string& token) {
  const auto cursor = page_token::Decode(kTokenKind, token);
  if (!cursor) return std::nullopt;
  const auto at = page_token::ParseTimeId(*cursor, '/');
  const size_t slash = at ? at->id.find('/') : std::string::npos;
  if (slash == std::string::npos) return std::nullopt;
  PageKey key{at->micros, at->id.substr(0, slash), at->id.substr(slash + 1)};
  Validator v;
  if (!v.RequireUuid(key.event_id, "page_token") || !IsSubscriberName(key.subscriber)) {
    return std::nullopt;
  }
  return key;
}

void CheckSubscriber(Validator& v, const std::string& subscriber) {
  v.Check(IsSubscriberName(subscriber), "subscriber",
          subscriber.empty() ? "is required" : "is not a subscriber name (e.g. \"points\")");
}

}  // namespace

OperatorService::OperatorService(ServiceHost& host, std::string schema)
    : host_(host), schema_(std::move(schema)), idempotency_(host.db(), schema_) {
  const std::string& s = schema_;
  Database& db = host_.db();
  db.Prepare(Name("dead_list", s),
             LetterColumns(s) +
                 "WHERE l.store_id = $1 AND ($2 = '' OR l.subscriber = $2) "
                 "  AND ($3 OR l.resolution IS NULL) "
                 "  AND (l.dead_at, l.event_id, l.subscriber) > "
                 "      (timestamptz 'epoch' + $4::double precision * interval '1 microsecond', $5::uuid, $6) "
                 "ORDER BY l.dead_at, l.event_id, l.subscriber LIMIT $7");
  db.Prepare(Name("dead_lock", s),
             LetterColumns(s) +
                 "WHERE l.store_id = $1 AND l.event_id = $2::uuid AND l.subscriber = $3 "
                 "FOR UPDATE OF l");
  // Back into delivery as if new: due now, attempts from 0 (so the backoff starts short).
  // Nothing happens when the event itself was purged.
  db.Prepare(Name("dead_retry", s),
             "WITH d AS (UPDATE " + s + ".outbox_delivery SET state = 'pending', attempts = 0, "
             "  next_attempt_at = now(), finished_at = NULL, last_error = NULL "
             "  WHERE store_id = $1 AND event_id = $2::uuid AND subscriber = $3 "
             "    AND state = 'dead' RETURNING 1) "
             "UPDATE " + s + ".dead_letter SET resolution = 'retried', resolved_at = now(), "
             "  resolved_by = $4, reason = $5 "
             "WHERE store_id = $1 AND event_id = $2::uuid AND subscriber = $3 "
             "  AND EXISTS (SELECT 1 FROM d)");
  db.Prepare(Name("dead_discard", s),
             "UPDATE " + s + ".dead_letter SET resolution = 'discarded', resolved_at = now(), "
             "  resolved_by = $4, reason = $5 "
             "WHERE store_id = $1 AND event_id = $2::uuid AND subscriber = $3");
  // Wakes the relay at once when the retry commits, rather than at its next poll.
  db.Prepare(Name("dead_notify", s), "SELECT pg_notify($1, '')");
}

grpc::ServerUnaryReactor* OperatorService::ListDeadLetters(
    grpc::CallbackServerContext* context, const ops::ListDeadLettersRequest* request,
    ops::ListDeadLettersResponse* response) {
  return host_.Serve(context, "ListDeadLetters", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    if (!request->subscriber().empty()) CheckSubscriber(v, request->subscriber());
    v.Check(request->page_size() >= 0 && request->page_size() <= 500, "page_size",
            "must be 0 to 500");
    PageKey after;
    if (!request->page_token().empty()) {
      const auto parsed = ParsePageToken(request->page_token());
      if (v.Check(parsed.has_value(), "page_token", "is not a token this service gave")) {
        after = *parsed;
      }
    }
    v.ThrowIfInvalid();
    const int size = request->page_size() > 0 ? request->page_size() : 100;
    host_.db().Read(call.deadline, [&](pqxx::transaction_base& tx) {
      const auto rows = tx.exec_prepared(Name("dead_list", schema_), request->store_id(),
                                         request->subscriber(), request->include_resolved(),
                                         after.dead_at_us, after.event_id, after.subscriber,
                                         size + 1);
      for (const auto& row : rows) {
        if (response->dead_letters_size() == size) {
          response->set_next_page_token(PageToken(response->dead_letters(size - 1)));
          break;
        }
        *response->add_dead_letters() = ToLetter(row);
      }
    });
  });
}

template <class Request, class Response>
grpc::ServerUnaryReactor* OperatorService::Decide(grpc::CallbackServerContext* context,
                                                  const char* method, const Request* request,
                                                  Response* response, const std::string& decision,
                                                  bool reason_required) {
  return host_.Serve(context, method, request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    v.RequireId(request->request_id(), "request_id");
    v.RequireUuid(request->event_id(), "event_id");
    CheckSubscriber(v, request->subscriber());
    v.RequireId(request->actor(), "actor");
    if (reason_required) v.Check(!request->reason().empty(), "reason", "is required");
    v.Check(request->reason().size() <= 500, "reason", "at most 500 characters");
    v.ThrowIfInvalid();
    const std::string& store = request->store_id();
    host_.db().Write(call.deadline, [&](pqxx::transaction_base& tx) {
      if (idempotency_.Begin(tx, store, method, request->request_id(), *request, response)) return;
      auto lock = [&] {
        return tx.exec_prepared(Name("dead_lock", schema_), store, request->event_id(),
                                request->subscriber());
      };
      const auto rows = lock();
      if (rows.empty()) {
        throw ApiError(grpc::StatusCode::NOT_FOUND, "DEAD_LETTER_NOT_FOUND",
                       "the store has no dead letter of this event for this subscriber");
      }
      const ops::DeadLetter before = ToLetter(rows[0]);
      const std::string was = before.resolution() == ops::RESOLUTION_RETRIED     ? "retried"
                              : before.resolution() == ops::RESOLUTION_DISCARDED ? "discarded"
                                                                                 : "";
      if (was.empty()) {
        const auto changed =
            tx.exec_prepared(Name(decision == "retried" ? "dead_retry" : "dead_discard", schema_),
                             store, request->event_id(), request->subscriber(), request->actor(),
                             request->reason());
        if (changed.affected_rows() == 0) {
          throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "EVENT_PURGED",
                         "the event is no longer in the outbox (purged after the retention "
                         "period) and cannot be delivered again; discard the letter");
        }
        if (decision == "retried") {
          tx.exec_prepared(Name("dead_notify", schema_), OutboxChannel(schema_));
        }
      } else if (was != decision) {
        // Retried and discarded exclude each other: a retried event is on its way again, a
        // discarded one was given up on (and may have been purged since).
        throw ApiError(grpc::StatusCode::FAILED_PRECONDITION,
                       was == "retried" ? "DEAD_LETTER_RETRIED" : "DEAD_LETTER_DISCARDED",
                       "the dead letter was already " + was + " by " + before.resolved_by());
      }
      *response->mutable_dead_letter() = ToLetter(lock()[0]);
      idempotency_.Finish(tx, store, method, request->request_id(), *response);
    });
  });
}

grpc::ServerUnaryReactor* OperatorService::RetryDeadLetter(
    grpc::CallbackServerContext* context, const ops::RetryDeadLetterRequest* request,
    ops::RetryDeadLetterResponse* response) {
  return Decide(context, "RetryDeadLetter", request, response, "retried", false);
}

grpc::ServerUnaryReactor* OperatorService::DiscardDeadLetter(
    grpc::CallbackServerContext* context, const ops::DiscardDeadLetterRequest* request,
    ops::DiscardDeadLetterResponse* response) {
  return Decide(context, "DiscardDeadLetter", request, response, "discarded", true);
}

}  // namespace loyalty::common
