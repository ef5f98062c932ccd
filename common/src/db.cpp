#include "loyalty/common/db.hpp"

#include <algorithm>

#include "loyalty/common/errors.hpp"

namespace loyalty::common {

bool RetryPolicy::IsRetryable(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const pqxx::serialization_failure&) {
    return true;
  } catch (const pqxx::deadlock_detected&) {
    return true;
  } catch (...) {
    return false;
  }
}

std::chrono::milliseconds RetryPolicy::Backoff(int attempt, std::mt19937_64& rng) const {
  const int shift = std::clamp(attempt - 1, 0, 20);
  const auto ceiling = std::min<long long>(max_delay.count(), base_delay.count() << shift);
  std::uniform_int_distribution<long long> pick(0, ceiling);
  return std::chrono::milliseconds(pick(rng));
}

std::string PgTextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::vector<std::string> ParsePgTextArray(const pqxx::field& field) {
  std::vector<std::string> items;
  if (field.is_null()) return items;
  auto parser = field.as_array();
  for (auto item = parser.get_next(); item.first != pqxx::array_parser::done;
       item = parser.get_next()) {
    if (item.first == pqxx::array_parser::string_value) items.push_back(item.second);
  }
  return items;
}

std::unique_ptr<pqxx::connection> Connect(const std::string& url) {
  return std::make_unique<pqxx::connection>(url);
}

Database::Database(std::string url, int pool_size, RetryPolicy retry)
    : url_(std::move(url)), capacity_(pool_size), retry_(retry) {}

Database::~Database() = default;

void Database::Prepare(const std::string& name, const std::string& sql) {
  std::lock_guard lock(mutex_);
  for (const auto& [existing, text] : statements_) {
    if (existing == name) {
      if (text != sql) throw std::logic_error("statement " + name + " registered twice");
      return;
    }
  }
  statements_.emplace_back(name, sql);
}

void Database::SetAvailable(bool available) {
  std::lock_guard lock(mutex_);
  available_ = available;
}

bool Database::available() const {
  std::lock_guard lock(mutex_);
  return available_;
}

// Opens the connection if needed and prepares statements registered since it last did.
Database::Pooled Database::Ready(Pooled pooled) {
  if (!pooled.conn) pooled.conn = Connect(url_);
  std::vector<std::pair<std::string, std::string>> missing;
  {
    std::lock_guard lock(mutex_);
    missing.assign(statements_.begin() + static_cast<long>(pooled.prepared), statements_.end());
  }
  for (const auto& [name, sql] : missing) pooled.conn->prepare(name, sql);
  pooled.prepared += missing.size();
  return pooled;
}

Database::Lease Database::Acquire(Deadline deadline) {
  std::unique_lock lock(mutex_);
  if (!available_) {
    throw ApiError(grpc::StatusCode::UNAVAILABLE, kStartingReason,
                   "the service is starting; retry");
  }
  for (;;) {
    Pooled pooled;
    if (!idle_.empty()) {
      pooled = std::move(idle_.back());
      idle_.pop_back();
    } else if (open_ < capacity_) {
      ++open_;
    } else {
      if (released_.wait_until(lock, deadline) == std::cv_status::timeout) {
        throw ApiError(grpc::StatusCode::UNAVAILABLE, "DATABASE_POOL_EXHAUSTED",
                       "no database connection became free in time; retry");
      }
      continue;
    }
    lock.unlock();
    try {
      return Lease(this, Ready(std::move(pooled)));
    } catch (...) {
      lock.lock();
      --open_;
      released_.notify_one();
      throw;
    }
  }
}

void Database::Release(Pooled pooled, bool broken) {
  std::lock_guard lock(mutex_);
  if (broken || !pooled.conn->is_open()) {
    --open_;
  } else {
    idle_.push_back(std::move(pooled));
  }
  released_.notify_one();
}

PoolStats Database::Stats() const {
  std::lock_guard lock(mutex_);
  const int idle = static_cast<int>(idle_.size());
  return {open_ - idle, idle, capacity_, conflicts_.load()};
}

int64_t StatementTimeoutMs(int64_t left_ms) {
  if (left_ms <= 0) {
    throw ApiError(grpc::StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED",
                   "the call's deadline passed");
  }
  int64_t timeout = 1;
  while (timeout <= left_ms / 2) timeout *= 2;
  return timeout;
}

int64_t Database::SetStatementTimeout(pqxx::transaction_base& tx, int64_t current_ms,
                                      Deadline deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  const int64_t want = StatementTimeoutMs(left);
  if (want != current_ms) {
    tx.exec_params("SELECT set_config('statement_timeout', $1, false)", std::to_string(want));
  }
  return want;
}

void Database::WaitBeforeRetry(int attempt, Deadline deadline) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto delay = retry_.Backoff(attempt, rng);
  if (Clock::now() + delay >= deadline) {
    throw ApiError(grpc::StatusCode::ABORTED, "CONCURRENT_UPDATE",
                   "a concurrent update conflicted and no time is left to retry");
  }
  std::this_thread::sleep_for(delay);
}

}  // namespace loyalty::common
