// The one way every service is started: configuration, logging, migrations, a gRPC server with
// health and reflection, per-call logging and metrics, internal-token checks, background loops
// and a graceful SIGTERM. A service's main() only wires its handlers (see RunServiceMain).
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "loyalty/common/channels.hpp"
#include "loyalty/common/config.hpp"
#include "loyalty/common/db.hpp"
#include "loyalty/common/errors.hpp"
#include "loyalty/common/log.hpp"
#include "loyalty/common/metrics.hpp"
#include "loyalty/common/migrations.hpp"
#include "loyalty/common/worker_pool.hpp"

namespace loyalty::common {

// Metadata keys between services.
inline constexpr const char* kCorrelationHeader = "x-correlation-id";
inline constexpr const char* kInternalTokenHeader = "x-loyalty-internal-token";
// Health service name that reports only that the process works (Kubernetes liveness);
// the default name "" is readiness: database reachable and migrations applied.
inline constexpr const char* kLivenessService = "liveness";
// The ErrorInfo reason of a call refused because the service is shutting down: retry it (the
// next process or another replica serves it).
inline constexpr const char* kShuttingDownReason = "SHUTTING_DOWN";

// What a handler knows about the call it serves.
struct CallContext {
  std::string method;
  std::string correlation_id;
  std::string store_id;
  Deadline deadline;
  std::string internal_token;  // this service's own token, for downstream calls
};

// Finishes an asynchronous call (ServiceHost::ServeAsync) with its status; effective once.
using Done = std::function<void(const grpc::Status&)>;

// A client context for a call to another service: the caller's deadline less a margin to answer
// in (a tenth of the time left, at most 50 ms), its correlation id and the internal token.
std::unique_ptr<grpc::ClientContext> DownstreamContext(const CallContext& call);

// Constant-time comparison for secrets.
bool SecretsEqual(const std::string& a, const std::string& b);

// A unary reactor that counts its call as in flight until gRPC is done with it (the answer sent),
// so that shutdown closes connections only after every answer has left.
class CountedUnaryReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit CountedUnaryReactor(std::atomic<int>& in_flight) : in_flight_(in_flight) {
    ++in_flight_;
  }
  void OnDone() override {
    --in_flight_;
    delete this;
  }

 private:
  std::atomic<int>& in_flight_;
};

class ServiceHost {
 public:
  ServiceHost(ServiceConfig config, MigrationSet migrations);
  ~ServiceHost();
  ServiceHost(const ServiceHost&) = delete;
  ServiceHost& operator=(const ServiceHost&) = delete;

  const ServiceConfig& config() const { return config_; }
  Database& db() { return db_; }
  Metrics& metrics() { return metrics_; }

  // The gateway authenticates its callers itself; the internal services require the token.
  void SetRequireInternalToken(bool require) { require_internal_token_ = require; }
  void AddService(grpc::Service* service);
  // TLS (or other) credentials for the gRPC port; plaintext by default.
  void SetServerCredentials(std::shared_ptr<grpc::ServerCredentials> credentials);
  // A second, plaintext port that serves only health (and reflection of it), for probes that
  // cannot speak TLS. 0: none.
  void SetHealthPort(int port) { health_port_ = port; }
  // A loop run on its own thread from Start() until shutdown (the outbox relay, jobs).
  // It runs only once the database is ready, and must return soon after stop is requested.
  void AddBackground(std::string name, std::function<void(std::stop_token)> loop);
  // A background loop that runs `job(call, now_micros)` every `interval` on one replica at a
  // time (a session advisory lock named "loyalty.<name>"), with an internal call context of a
  // minute for its downstream calls. What the job throws is logged; the next round retries.
  void AddSingletonJob(std::string name, std::chrono::seconds interval,
                       std::function<void(const CallContext&, int64_t)> job);

  // Runs `handler(call)` on the worker pool and finishes the call with OK, or with the status
  // mapped from whatever it throws. `store_id` is only used for logs.
  template <class Handler>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, const char* method,
                                  const std::string& store_id, Handler handler);

  // Like Serve, for a handler that waits on downstream calls without parking a worker thread:
  // `handler(call, done)` starts its calls and returns; `done(status)` (a Done, callable from any
  // thread, effective once) finishes the call, typically from the last callback. If the handler
  // throws before handing off, the call finishes with the mapped status, as Serve does.
  template <class Handler>
  grpc::ServerUnaryReactor* ServeAsync(grpc::CallbackServerContext* context, const char* method,
                                       const std::string& store_id, Handler handler);

  // Starts serving; returns at once. The port is known after this (for port 0 in tests).
  void Start();
  // A channel into this very server, without the network (or TLS): for the gateway's HTTP/JSON
  // front, whose calls then take the gRPC path itself. Throws UNAVAILABLE before Start().
  std::shared_ptr<grpc::Channel> InProcessChannel();
  int port() const { return port_; }
  // Readiness off; calls in flight finish (within the grace period) while new ones wait; the
  // waiting ones are then refused with UNAVAILABLE and the connections closed, so no caller sees
  // CANCELLED (docs/operations.md "Health, shutdown and migrations"). Stops background loops.
  // Idempotent.
  void Shutdown();
  // True once Shutdown has begun: a long-running call (an event stream) ends with UNAVAILABLE so
  // that its client resumes on the next process.
  bool draining() const { return draining_.load(); }
  // Holds the drain open for a call that is not served through Serve/ServeAsync (a stream) until
  // the guard is destroyed: take one in the reactor's constructor, drop it in OnDone.
  class InFlightGuard {
   public:
    explicit InFlightGuard(ServiceHost& host) : in_flight_(host.in_flight_) { ++in_flight_; }
    ~InFlightGuard() { --in_flight_; }
    InFlightGuard(const InFlightGuard&) = delete;
    InFlightGuard& operator=(const InFlightGuard&) = delete;

   private:
    std::atomic<int>& in_flight_;
  };
  // Start(), wait for SIGTERM or SIGINT (blocked by BlockShutdownSignals), Shutdown().
  int Run();

 private:
  CallContext BeginCall(grpc::CallbackServerContext* context, const char* method,
                        const std::string& store_id) const;
  std::optional<grpc::Status> Admit(const grpc::CallbackServerContext& context) const;
  grpc::Status RunHandler(const CallContext& call, const std::function<void()>& body) const;
  void Finish(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
              const CallContext& call,
              std::chrono::steady_clock::time_point started, const grpc::Status& status);
  // Serves the call now, or (while draining) keeps it to be refused when the drain ends.
  bool AdmitWhileDraining(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                          const std::shared_ptr<CallContext>& call,
                          std::chrono::steady_clock::time_point started);
  void Drain(Deadline until);
  void ReadinessLoop(std::stop_token stop);
  void StartBackgroundLoops();
  bool CheckDatabase();

  ServiceConfig config_;
  MigrationSet migrations_;
  Database db_;
  Metrics metrics_;
  WorkerPool workers_;
  bool require_internal_token_ = true;
  std::vector<grpc::Service*> services_;
  std::vector<std::pair<std::string, std::function<void(std::stop_token)>>> background_;
  std::vector<std::jthread> background_threads_;
  std::jthread readiness_thread_;
  // Sets readiness on every server's health service.
  void SetReady(bool ready);

  std::shared_ptr<grpc::ServerCredentials> credentials_;
  int health_port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::Server> health_server_;
  std::unique_ptr<MetricsServer> metrics_server_;
  std::unique_ptr<pqxx::connection> health_conn_;
  std::atomic<bool> migrated_{false};
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> started_{false};
  bool shut_down_ = false;
  // The drain (Shutdown): calls whose answers gRPC has not finished sending, whether served or
  // held; the held ones; and whether new calls are now refused at once.
  std::atomic<int> in_flight_{0};
  std::atomic<bool> draining_{false};
  std::mutex held_mutex_;
  std::vector<std::function<void()>> held_;  // each refuses one held call
  bool refusing_ = false;
  int port_ = 0;
};

template <class Handler>
grpc::ServerUnaryReactor* ServiceHost::Serve(grpc::CallbackServerContext* context,
                                             const char* method, const std::string& store_id,
                                             Handler handler) {
  // A synchronous handler is an asynchronous one that is done when it returns.
  return ServeAsync(context, method, store_id,
                    [handler](CallContext& call, const Done& done) mutable {
                      handler(call);
                      done(grpc::Status::OK);
                    });
}

template <class Handler>
grpc::ServerUnaryReactor* ServiceHost::ServeAsync(grpc::CallbackServerContext* context,
                                                  const char* method, const std::string& store_id,
                                                  Handler handler) {
  const auto started = std::chrono::steady_clock::now();
  auto* reactor = new CountedUnaryReactor(in_flight_);
  auto call = std::make_shared<CallContext>(BeginCall(context, method, store_id));
  if (!AdmitWhileDraining(context, reactor, call, started)) return reactor;
  if (auto refused = Admit(*context)) {
    Finish(context, reactor, *call, started, *refused);
    return reactor;
  }
  auto finished = std::make_shared<std::atomic<bool>>(false);
  Done done = [this, context, reactor, call, started, finished](const grpc::Status& status) {
    if (!finished->exchange(true)) Finish(context, reactor, *call, started, status);
  };
  const bool queued = workers_.TrySubmit([this, call, handler, done]() mutable {
    const auto status = RunHandler(*call, [&] { handler(*call, done); });
    if (!status.ok()) done(status);
  });
  if (!queued) {
    done(ApiError(grpc::StatusCode::RESOURCE_EXHAUSTED, "OVERLOADED",
                  "the service is overloaded; retry with backoff")
             .ToStatus());
  }
  return reactor;
}

// Runs `step` and finishes the call with `done` if it throws: for the callbacks of ServeAsync
// handlers, which run on gRPC's threads where nothing else would catch.
template <class Step>
void RunStep(const Done& done, Step&& step) {
  try {
    step();
  } catch (...) {
    done(StatusFromException(std::current_exception()));
  }
}

// Blocks SIGTERM and SIGINT in the calling thread (and so in every thread it starts later), so
// that ServiceHost::Run can sigwait for them. Call first thing in main().
void BlockShutdownSignals();

// The whole main() of a service: parses flags (--migrate-only, --help), reads configuration
// (exit 2 naming bad variables), sets up logging, then either applies migrations and exits, or
// lets `wire` register handlers and runs until SIGTERM. `read_extra` reads service-specific
// variables into the same error report before anything starts. What `wire` returns owns the
// service's objects and lives until the server has stopped.
using Wiring = std::function<std::shared_ptr<void>(ServiceHost&)>;
int RunServiceMain(int argc, char** argv, const ServiceDefaults& defaults, MigrationSet migrations,
                   const std::function<void(EnvReader&)>& read_extra, const Wiring& wire);

}  // namespace loyalty::common
