// Structured logging: one JSON object per line on stdout, built with a JSON library so that every
// message is escaped. Each line carries service, method, correlation id and store id from the
// calling thread's context, set by the RPC wrapper (see server.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty::common::log {

void Init(const std::string& service, const std::string& level);

// What the current thread is working on; empty fields are left out of the line.
struct Context {
  std::string method;
  std::string correlation_id;
  std::string store_id;
};

// Sets the thread's context for its lifetime and restores the previous one after.
class ScopedContext {
 public:
  explicit ScopedContext(Context context);
  ~ScopedContext();
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;

 private:
  Context previous_;
};

const Context& Current();

// The JSON fields of one line, without the time stamp and level; exposed for tests.
std::string Fields(std::string_view message, const nlohmann::json& extra);

void Debug(std::string_view message, const nlohmann::json& extra = nlohmann::json::object());
// Writes out what is buffered (lines below warn are flushed every second otherwise).
void Flush();
void Info(std::string_view message, const nlohmann::json& extra = nlohmann::json::object());
void Warn(std::string_view message, const nlohmann::json& extra = nlohmann::json::object());
void Error(std::string_view message, const nlohmann::json& extra = nlohmann::json::object());

// ---- repeated failures ---------------------------------------------------------------------
// A failure that repeats while something stays broken (the database down, a subscriber gone)
// would write the same line many times a second: a 5 s database outage wrote ~1,000. These write
// it the first time, then leave identical ones out for `interval` and write one line saying how
// many were left out ("suppressed": N, with the last one's fields and "last_seconds_ago").
// `key` names the failure from a small fixed set (a loop, a subscriber, a method and code), never
// a request or an event: keys are kept for the life of the process.
inline constexpr std::chrono::seconds kRepeatInterval{10};

enum class Level { kWarn, kError };

// Which occurrences to write. Pure (the caller passes the time); unit-tested.
class Throttle {
 public:
  using Clock = std::chrono::steady_clock;
  // What was left out under one key since its last line.
  struct Summary {
    Level level = Level::kWarn;
    std::string message;
    Context context;       // the last occurrence's, e.g. its method and correlation id
    nlohmann::json extra;  // the last occurrence's fields
    int64_t suppressed = 0;
    Clock::duration since_last{};  // from the last occurrence to `now`
  };

  // Whether to write this occurrence: then how many earlier ones were left out and not yet
  // summarised (0 normally); nullopt: leave it out, counted for the summary.
  std::optional<int64_t> Admit(const std::string& key, Level level, std::string_view message,
                               const Context& context, const nlohmann::json& extra,
                               Clock::duration interval, Clock::time_point now);
  // Summaries of the keys with occurrences left out whose interval has passed; each counts as
  // that key's line, so the next summary comes an interval later at the earliest.
  std::vector<Summary> Due(Clock::time_point now);

 private:
  struct Entry {
    Clock::duration interval{};
    Clock::time_point written;
    Clock::time_point last;
    int64_t suppressed = 0;
    Summary pending;
  };
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

void WarnEvery(const std::string& key, std::chrono::milliseconds interval, std::string_view message,
               const nlohmann::json& extra = nlohmann::json::object());
void ErrorEvery(const std::string& key, std::chrono::milliseconds interval,
                std::string_view message, const nlohmann::json& extra = nlohmann::json::object());
// Writes the summaries that are due. ServiceHost calls it every second, so what an outage left
// out is counted soon after it ends rather than at the next failure.
void FlushRepeated();

}  // namespace loyalty::common::log
