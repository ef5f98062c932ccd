#include "loyalty/common/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>
#include <spdlog/spdlog.h>

namespace loyalty::common::log {
namespace {

thread_local Context tls_context;
std::string g_service = "unknown";

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

}  // namespace loyalty::common::log
