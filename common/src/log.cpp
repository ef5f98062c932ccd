#include "loyalty/common/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>
#include <spdlog/spdlog.h>

namespace loyalty::common::log {
namespace {

thread_local Context tls_context;
std::string g_service = "unknown";
Throttle g_throttle;

void Write(spdlog::level::level_enum level, std::string_view message, const nlohmann::json& extra) {
  if (!spdlog::default_logger_raw()->should_log(level)) return;
  spdlog::default_logger_raw()->log(level, "{}", Fields(message, extra));
}

}  // namespace

void Init(const std::string& service, const std::string& level) {
  g_service = service;
  auto logger = spdlog::stdout_logger_mt("loyalty");
  // The pattern supplies time and level; Fields() supplies the rest, already escaped.
  logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})",
                      spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  // Warnings and errors reach the file at once; the rest is flushed every second, so the per-call
  // lines cost no write system call each (a flushed line per call cost 13 µs of a 108 µs leaf).
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(1));
}

ScopedContext::ScopedContext(Context context) : previous_(std::move(tls_context)) {
  tls_context = std::move(context);
}

ScopedContext::~ScopedContext() { tls_context = std::move(previous_); }

const Context& Current() { return tls_context; }

std::string Fields(std::string_view message, const nlohmann::json& extra) {
  nlohmann::json line = nlohmann::json::object();
  line["service"] = g_service;
  if (!tls_context.method.empty()) line["method"] = tls_context.method;
  if (!tls_context.correlation_id.empty()) line["correlation_id"] = tls_context.correlation_id;
  if (!tls_context.store_id.empty()) line["store_id"] = tls_context.store_id;
  line["msg"] = std::string(message);
  if (extra.is_object()) {
    for (const auto& [key, value] : extra.items()) line[key] = value;
  }
  // Invalid UTF-8 (e.g. from a database message) is replaced rather than thrown on.
  std::string dumped = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return dumped.substr(1, dumped.size() - 2);  // the pattern adds the braces
}

void Debug(std::string_view message, const nlohmann::json& extra) {
  Write(spdlog::level::debug, message, extra);
}
void Flush() { spdlog::default_logger_raw()->flush(); }

void Info(std::string_view message, const nlohmann::json& extra) {
  Write(spdlog::level::info, message, extra);
}
void Warn(std::string_view message, const nlohmann::json& extra) {
  Write(spdlog::level::warn, message, extra);
}
void Error(std::string_view message, const nlohmann::json& extra) {
  Write(spdlog::level::err, message, extra);
}

std::optional<int64_t> Throttle::Admit(const std::string& key, Level level,
                                       std::string_view message, const Context& context,
                                       const nlohmann::json& extra, Clock::duration interval,
                                       Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto [it, first] = entries_.try_emplace(key);
  Entry& e = it->second;
  e.interval = interval;
  e.last = now;
  if (!first && now - e.written < interval) {
    ++e.suppressed;
    e.pending = {level, std::string(message), context, extra, 0, {}};
    return std::nullopt;
  }
  const int64_t left_out = e.suppressed;
  e.written = now;
  e.suppressed = 0;
  return left_out;
}

std::vector<Throttle::Summary> Throttle::Due(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  std::vector<Summary> due;
  for (auto& [key, e] : entries_) {
    if (e.suppressed == 0 || now - e.written < e.interval) continue;
    due.push_back(e.pending);
    due.back().suppressed = e.suppressed;
    due.back().since_last = now - e.last;
    e.written = now;
    e.suppressed = 0;
  }
  return due;
}

namespace {

void WriteAt(Level level, std::string_view message, const nlohmann::json& extra) {
  if (level == Level::kError) {
    Error(message, extra);
  } else {
    Warn(message, extra);
  }
}

void Every(Level level, const std::string& key, std::chrono::milliseconds interval,
           std::string_view message, const nlohmann::json& extra) {
  const auto left_out = g_throttle.Admit(key, level, message, Current(), extra, interval,
                                         Throttle::Clock::now());
  if (!left_out) return;
  if (*left_out == 0) return WriteAt(level, message, extra);
  nlohmann::json fields = extra;
  fields["suppressed"] = *left_out;
  WriteAt(level, message, fields);
}

}  // namespace

void WarnEvery(const std::string& key, std::chrono::milliseconds interval,
               std::string_view message, const nlohmann::json& extra) {
  Every(Level::kWarn, key, interval, message, extra);
}

void ErrorEvery(const std::string& key, std::chrono::milliseconds interval,
                std::string_view message, const nlohmann::json& extra) {
  Every(Level::kError, key, interval, message, extra);
}

void FlushRepeated() {
  for (auto& s : g_throttle.Due(Throttle::Clock::now())) {
    nlohmann::json fields = s.extra.is_object() ? s.extra : nlohmann::json::object();
    fields["suppressed"] = s.suppressed;
    fields["last_seconds_ago"] = std::chrono::duration<double>(s.since_last).count();
    ScopedContext scope(s.context);
    WriteAt(s.level, s.message, fields);
  }
}

}  // namespace loyalty::common::log
