// PostgreSQL access: a bounded connection pool, statements prepared by name on every connection,
// and transactions that retry only serialization failures and deadlocks.
#pragma once

#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace loyalty::common {

// The ErrorInfo reason of a call refused because the process has not yet reached its database
// (it serves gRPC before its migrations are checked): nothing was done, retry it.
inline constexpr const char* kStartingReason = "SERVICE_STARTING";

// A list as one text parameter, for `string_to_array($n, ' ')` in a prepared statement: one
// statement for a whole list, and no SQL built from its values. The values hold no space (ids,
// codes, periods).
inline std::string SpaceSeparated(const std::vector<std::string>& values) {
  std::string joined;
  for (const auto& v : values) {
    if (!joined.empty()) joined += ' ';
    joined += v;
  }
  return joined;
}


using Clock = std::chrono::system_clock;
using Deadline = Clock::time_point;

// When to retry a transaction, and how long to wait first. Pure; unit-tested.
struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds base_delay{5};
  std::chrono::milliseconds max_delay{200};

  // Only serialization failures (40001) and deadlocks (40P01) are safe to retry: the transaction
  // was rolled back as a whole. A broken commit (outcome unknown) is not.
  static bool IsRetryable(std::exception_ptr error);
  // "Full jitter": uniform in [0, min(max_delay, base_delay * 2^(attempt-1))].
  std::chrono::milliseconds Backoff(int attempt, std::mt19937_64& rng) const;
};

enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

// The statement timeout for `left_ms` before a deadline: the largest power of two of
// milliseconds not above it, so between half of what is left and all of it. Calls with similar
// deadlines share a value, and a connection already set to it needs no statement to set it again
// (a set_config per call cost more than the SELECT it guarded). Throws DEADLINE_EXCEEDED when
// nothing is left.
int64_t StatementTimeoutMs(int64_t left_ms);

struct PoolStats {
  int in_use = 0;
  int idle = 0;
  int capacity = 0;
  int64_t conflicts = 0;  // transactions that failed 40001/40P01 (retried, or ABORTED at the end)
};

class Database {
 public:
  Database(std::string url, int pool_size, RetryPolicy retry = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Registers a named statement (repository constructors do). Every connection prepares each
  // registered statement once, before its next use after the registration.
  void Prepare(const std::string& name, const std::string& sql);

  // Until migrations are applied, queries fail fast with UNAVAILABLE.
  void SetAvailable(bool available);
  bool available() const;

  // Runs fn(tx) in a transaction and commits; retries the whole of fn on 40001/40P01. The
  // statement timeout is the time left before `deadline`. fn must be safe to run more than once.
  template <class Fn>
  auto Write(Deadline deadline, Fn&& fn, Isolation isolation = Isolation::kReadCommitted);

  // Runs fn(tx) outside a transaction block: one round trip per statement, each autocommitted,
  // for plain reads and single-statement writes.
  template <class Fn>
  auto Read(Deadline deadline, Fn&& fn);

  PoolStats Stats() const;
  const std::string& url() const { return url_; }

 private:
  class Lease;
  struct Pooled {
    std::unique_ptr<pqxx::connection> conn;
    size_t prepared = 0;  // how many of statements_ this connection has prepared
    int64_t timeout_ms = 0;  // the session's statement_timeout as we last set it; 0: unknown
  };
  Lease Acquire(Deadline deadline);
  void Release(Pooled pooled, bool broken);
  Pooled Ready(Pooled pooled);
  // Sets the session's statement timeout for `deadline` unless it already has that value (see
  // StatementTimeoutMs); returns the value to record once the setting is sure to have stuck
  // (at once outside a transaction block, after COMMIT inside one).
  static int64_t SetStatementTimeout(pqxx::transaction_base& tx, int64_t current_ms,
                                     Deadline deadline);
  void WaitBeforeRetry(int attempt, Deadline deadline);

  std::string url_;
  int capacity_;
  RetryPolicy retry_;
  std::atomic<int64_t> conflicts_{0};
  mutable std::mutex mutex_;
  std::condition_variable released_;
  std::vector<Pooled> idle_;
  int open_ = 0;
  bool available_ = false;
  std::vector<std::pair<std::string, std::string>> statements_;  // name, SQL; append-only
};

class Database::Lease {
 public:
  Lease(Database* db, Pooled pooled) : db_(db), pooled_(std::move(pooled)) {}
  Lease(Lease&&) = default;
  ~Lease() {
    if (pooled_.conn) db_->Release(std::move(pooled_), broken_);
  }
  pqxx::connection& conn() { return *pooled_.conn; }
  int64_t& timeout_ms() { return pooled_.timeout_ms; }
  void MarkBroken() { broken_ = true; }

 private:
  Database* db_;
  Pooled pooled_;
  bool broken_ = false;
};

template <class Fn>
auto Database::Write(Deadline deadline, Fn&& fn, Isolation isolation) {
  for (int attempt = 1;; ++attempt) {
    auto lease = Acquire(deadline);
    try {
      auto run = [&](pqxx::transaction_base& tx) {
        // A rollback undoes the setting: record it only once committed.
        const int64_t timeout = SetStatementTimeout(tx, lease.timeout_ms(), deadline);
        if constexpr (std::is_void_v<decltype(fn(tx))>) {
          fn(tx);
          tx.commit();
          lease.timeout_ms() = timeout;
        } else {
          auto result = fn(tx);
          tx.commit();
          lease.timeout_ms() = timeout;
          return result;
        }
      };
      if (isolation == Isolation::kSerializable) {
        pqxx::transaction<pqxx::serializable> tx(lease.conn());
        return run(tx);
      }
      if (isolation == Isolation::kRepeatableRead) {
        pqxx::transaction<pqxx::repeatable_read> tx(lease.conn());
        return run(tx);
      }
      pqxx::work tx(lease.conn());
      return run(tx);
    } catch (const pqxx::broken_connection&) {
      lease.MarkBroken();
      throw;
    } catch (const pqxx::in_doubt_error&) {
      lease.MarkBroken();
      throw;
    } catch (const pqxx::transaction_rollback&) {
      if (RetryPolicy::IsRetryable(std::current_exception())) ++conflicts_;
      if (!RetryPolicy::IsRetryable(std::current_exception()) || attempt >= retry_.max_attempts) {
        throw;
      }
    }
    WaitBeforeRetry(attempt, deadline);
  }
}

template <class Fn>
auto Database::Read(Deadline deadline, Fn&& fn) {
  auto lease = Acquire(deadline);
  try {
    pqxx::nontransaction tx(lease.conn());
    lease.timeout_ms() = SetStatementTimeout(tx, lease.timeout_ms(), deadline);
    return fn(static_cast<pqxx::transaction_base&>(tx));
  } catch (const pqxx::broken_connection&) {
    lease.MarkBroken();
    throw;
  }
}

// A Postgres text[] literal of `items`, for a `$n::text[]` parameter (libpqxx 6 has no array
// parameters). Every element is quoted and escaped.
std::string PgTextArray(const std::vector<std::string>& items);
// A Postgres integer array literal ("{1,2,3}") of `items`, for a `$n::bigint[]` or `int[]` parameter.
template <class Int>
std::string PgIntArray(const std::vector<Int>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(items[i]);
  }
  out += '}';
  return out;
}
// The elements of a text[] column.
std::vector<std::string> ParsePgTextArray(const pqxx::field& field);

// Opens a single connection with a short connect timeout (health checks, migrations, LISTEN).
std::unique_ptr<pqxx::connection> Connect(const std::string& url);

}  // namespace loyalty::common
