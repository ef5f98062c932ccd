#include "loyalty/common/config.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace loyalty::common {

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

void EnvReader::Reject(const std::string& name, const std::string& why) {
  errors_.push_back(name + ": " + why);
}

std::string EnvReader::String(const std::string& name, const std::string& fallback) {
  auto value = lookup_(name);
  return value && !value->empty() ? *value : fallback;
}

std::string EnvReader::Required(const std::string& name) {
  auto value = lookup_(name);
  if (!value || value->empty()) {
    Reject(name, "is required and not set");
    return {};
  }
  return *value;
}

int EnvReader::Int(const std::string& name, int fallback, int min, int max) {
  auto value = lookup_(name);
  if (!value || value->empty()) return fallback;
  int parsed = 0;
  const char* end = value->data() + value->size();
  auto [ptr, ec] = std::from_chars(value->data(), end, parsed);
  if (ec != std::errc() || ptr != end) {
    Reject(name, "must be an integer, got \"" + *value + "\"");
    return fallback;
  }
  if (parsed < min || parsed > max) {
    Reject(name, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                   ", got " + *value);
    return fallback;
  }
  return parsed;
}

std::string EnvReader::Address(const std::string& name, const std::string& fallback) {
  std::string value = String(name, fallback);
  auto colon = value.rfind(':');
  int port = 0;
  const char* end = value.data() + value.size();
  if (colon == std::string::npos || colon == 0 ||
      std::from_chars(value.data() + colon + 1, end, port).ptr != end || port <= 0 ||
      port > 65535) {
    Reject(name, "must be host:port, got \"" + value + "\"");
  }
  return value;
}

void EnvReader::ThrowIfErrors() const {
  if (errors_.empty()) return;
  std::string message = "invalid configuration:";
  for (const auto& error : errors_) message += "\n  " + error;
  throw ConfigError(message);
}

ServiceConfig ReadServiceConfig(EnvReader& reader, const ServiceDefaults& defaults) {
  ServiceConfig config;
  config.service = defaults.service;
  config.grpc_port = reader.Int("LOYALTY_GRPC_PORT", defaults.grpc_port, 1, 65535);
  config.metrics_port = reader.Int("LOYALTY_METRICS_PORT", defaults.metrics_port, 0, 65535);
  config.database_url = reader.String("LOYALTY_DATABASE_URL", kDefaultDatabaseUrl);
  config.internal_token = reader.String("LOYALTY_INTERNAL_TOKEN", kDefaultInternalToken);
  config.db_pool_size = reader.Int("LOYALTY_DB_POOL_SIZE", config.db_pool_size, 1, 256);
  config.worker_threads = reader.Int("LOYALTY_WORKER_THREADS", config.worker_threads, 1, 512);
  config.worker_queue = reader.Int("LOYALTY_WORKER_QUEUE", config.worker_queue, 1, 1 << 20);
  config.shutdown_grace =
      std::chrono::seconds(reader.Int("LOYALTY_SHUTDOWN_GRACE_SECONDS", 10, 0, 3600));
  config.default_deadline = std::chrono::milliseconds(
      reader.Int("LOYALTY_DEFAULT_DEADLINE_MS", 5000, 1, 600000));
  config.log_level = reader.String("LOYALTY_LOG_LEVEL", "info");
  static const std::vector<std::string> kLevels = {"trace", "debug", "info", "warn", "error"};
  if (std::find(kLevels.begin(), kLevels.end(), config.log_level) == kLevels.end()) {
    reader.Reject("LOYALTY_LOG_LEVEL", "must be one of trace, debug, info, warn, error, got \"" +
                                           config.log_level + "\"");
  }
  if (config.internal_token.size() < 16) {
    // A short shared secret is guessable; refuse it rather than run open.
    reader.Reject("LOYALTY_INTERNAL_TOKEN", "must be at least 16 characters");
  }
  return config;
}

}  // namespace loyalty::common
