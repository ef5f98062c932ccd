// Configuration from LOYALTY_* environment variables, validated once at start.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace loyalty::common {

// Reads one variable; tests pass a map instead of the real environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnv();

// Thrown when variables are invalid; what() names every bad variable, one per line.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Collects errors so that one start-up reports every bad variable at once.
class EnvReader {
 public:
  explicit EnvReader(EnvLookup lookup) : lookup_(std::move(lookup)) {}

  std::string String(const std::string& name, const std::string& fallback);
  std::string Required(const std::string& name);
  int Int(const std::string& name, int fallback, int min, int max);
  // Host and port, e.g. "127.0.0.1:50052".
  std::string Address(const std::string& name, const std::string& fallback);
  // Records a problem found by the caller's own check.
  void Reject(const std::string& name, const std::string& why);
  // Throws ConfigError listing every problem seen so far.
  void ThrowIfErrors() const;

 private:
  EnvLookup lookup_;
  std::vector<std::string> errors_;
};

// Settings every server shares. Service-specific ones are read by the service's main.
struct ServiceConfig {
  std::string service;          // e.g. "customers"
  int grpc_port = 0;            // LOYALTY_GRPC_PORT
  int metrics_port = 0;         // LOYALTY_METRICS_PORT; 0 turns /metrics off
  std::string database_url;     // LOYALTY_DATABASE_URL (libpq URL or key=value string)
  std::string internal_token;   // LOYALTY_INTERNAL_TOKEN, shared by the services
  int db_pool_size = 8;         // LOYALTY_DB_POOL_SIZE
  int worker_threads = 8;       // LOYALTY_WORKER_THREADS: threads that run handlers' blocking work
  int worker_queue = 1024;      // LOYALTY_WORKER_QUEUE: calls waiting beyond this get RESOURCE_EXHAUSTED
  std::chrono::seconds shutdown_grace{10};  // LOYALTY_SHUTDOWN_GRACE_SECONDS
  std::chrono::milliseconds default_deadline{5000};  // LOYALTY_DEFAULT_DEADLINE_MS, for calls without one
  std::string log_level = "info";           // LOYALTY_LOG_LEVEL
};

struct ServiceDefaults {
  std::string service;
  int grpc_port;
  int metrics_port;
};

// Reads the shared settings; `reader` keeps collecting errors for the caller's own variables.
ServiceConfig ReadServiceConfig(EnvReader& reader, const ServiceDefaults& defaults);

// The local-development defaults: the values `./dev up` uses.
inline constexpr const char* kDefaultDatabaseUrl = "postgresql://loyalty@127.0.0.1:55432/loyalty";
inline constexpr const char* kDefaultInternalToken = "dev-internal-token";

}  // namespace loyalty::common
