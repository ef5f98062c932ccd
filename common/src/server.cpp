#include "loyalty/common/server.hpp"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <random>

#include "loyalty/common/failpoint.hpp"
#include "loyalty/common/log.hpp"
#include "loyalty/common/db.hpp"
#include "loyalty/common/worker_pool.hpp"
#include "loyalty/common/time.hpp"

namespace loyalty::common {
namespace {

// A successful call at least this slow is logged at info; faster ones at debug.
constexpr double kSlowCallMs = 250.0;

// How long a call arriving during the drain is held before it is refused: long enough for the
// calls in flight to finish (then the refusal and the closed connection reach the client
// together, so its retry goes to the next process), short against the caller's deadline.
constexpr auto kMaxHold = std::chrono::seconds(1);

// Polls `done` every millisecond until it holds or `until`; false on timeout.
template <class Predicate>
bool WaitFor(Predicate done, Clock::time_point until) {
  while (!done()) {
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

std::string NewCorrelationId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string id(16, '0');
  uint64_t bits = rng();
  for (auto& c : id) {
    c = kHex[bits & 0xf];
    bits >>= 4;
  }
  return id;
}

std::string Metadata(const grpc::CallbackServerContext& context, const char* key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(key);
  if (it == metadata.end()) return {};
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

bool SecretsEqual(const std::string& a, const std::string& b) {
  // Length is not secret (tokens have fixed formats); content is compared in constant time.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::unique_ptr<grpc::ClientContext> DownstreamContext(const CallContext& call) {
  auto context = std::make_unique<grpc::ClientContext>();
  // A tenth of the time left, up to 50 ms, is kept for our own answer: a downstream call that
  // runs out of time fails early enough for us to say which service it was (or answer without
  // it), instead of the caller's own deadline striking first.
  const auto left = call.deadline - Clock::now();
  const auto margin = std::clamp<Clock::duration>(left / 10, Clock::duration::zero(),
                                                  std::chrono::milliseconds(50));
  context->set_deadline(call.deadline - margin);
  context->AddMetadata(kCorrelationHeader, call.correlation_id);
  context->AddMetadata(kInternalTokenHeader, call.internal_token);
  return context;
}

ServiceHost::ServiceHost(ServiceConfig config, MigrationSet migrations)
    : config_(std::move(config)),
      migrations_(std::move(migrations)),
      db_(config_.database_url, config_.db_pool_size),
      workers_(config_.worker_threads, config_.worker_queue) {
  metrics_.AddGauge("loyalty_db_pool_connections", "Database connections by state.", [this] {
    auto stats = db_.Stats();
    return std::vector<Metrics::Sample>{{"state=\"in_use\"", double(stats.in_use)},
                                        {"state=\"idle\"", double(stats.idle)}};
  });
  metrics_.AddCounter("loyalty_db_conflicts_total",
                      "Transactions that failed with a serialization failure or deadlock "
                      "(40001/40P01): retried, or answered ABORTED CONCURRENT_UPDATE.",
                      [this] {
                        return std::vector<Metrics::Sample>{{"", double(db_.Stats().conflicts)}};
                      });
  metrics_.AddGauge("loyalty_worker_queue_length", "Calls waiting for a worker thread.", [this] {
    return std::vector<Metrics::Sample>{{"", double(workers_.queued())}};
  });
}

ServiceHost::~ServiceHost() { Shutdown(); }

void ServiceHost::AddService(grpc::Service* service) { services_.push_back(service); }

void ServiceHost::SetServerCredentials(std::shared_ptr<grpc::ServerCredentials> credentials) {
  credentials_ = std::move(credentials);
}

void ServiceHost::SetReady(bool ready) {
  for (auto* server : {server_.get(), health_server_.get()}) {
    if (server != nullptr) server->GetHealthCheckService()->SetServingStatus("", ready);
  }
}

void ServiceHost::AddBackground(std::string name, std::function<void(std::stop_token)> loop) {
  background_.emplace_back(std::move(name), std::move(loop));
}

void ServiceHost::AddSingletonJob(std::string name, std::chrono::seconds interval,
                                  std::function<void(const CallContext&, int64_t)> job) {
  AddBackground(name, [this, name, interval, job = std::move(job)](std::stop_token stop) {
    const std::string lock_name = "loyalty." + name;
    std::unique_ptr<pqxx::connection> conn;
    while (SleepUnlessStopped(stop, interval)) {
      try {
        if (!conn || !conn->is_open()) conn = Connect(db().url());
        pqxx::nontransaction lock(*conn);
        if (!lock.exec_params1("SELECT pg_try_advisory_lock(hashtext($1))", lock_name)[0]
                 .as<bool>()) {
          continue;  // another replica runs it
        }
        CallContext call;
        call.method = name;
        call.correlation_id = "scheduler";
        call.deadline = Clock::now() + std::chrono::seconds(60);
        call.internal_token = config().internal_token;
        try {
          job(call, NowMicros());
        } catch (const std::exception& e) {
          log::Warn(name + " failed; will retry", {{"error", e.what()}});
        }
        lock.exec_params("SELECT pg_advisory_unlock(hashtext($1))", lock_name);
      } catch (const std::exception& e) {
        // The scheduler's own connection broke (a Postgres restart): a new one next round.
        log::Warn(name + " scheduler lost its connection", {{"error", e.what()}});
        conn.reset();
      }
    }
  });
}

CallContext ServiceHost::BeginCall(grpc::CallbackServerContext* context, const char* method,
                                   const std::string& store_id) const {
  CallContext call;
  call.method = method;
  call.correlation_id = Metadata(*context, kCorrelationHeader);
  if (call.correlation_id.empty() || call.correlation_id.size() > 128) {
    call.correlation_id = NewCorrelationId();
  }
  call.store_id = store_id;
  call.deadline = context->deadline();
  // A call without a deadline (gRPC reports one at the end of time) gets the default, so nothing
  // downstream waits forever. A deadline the caller chose is kept: a large import may need more
  // than the default, and capping it failed such calls that would have succeeded.
  if (call.deadline > Clock::now() + std::chrono::hours(24 * 365)) {
    call.deadline = Clock::now() + config_.default_deadline;
  }
  call.internal_token = config_.internal_token;
  return call;
}

std::optional<grpc::Status> ServiceHost::Admit(const grpc::CallbackServerContext& context) const {
  if (!require_internal_token_) return std::nullopt;
  if (SecretsEqual(Metadata(context, kInternalTokenHeader), config_.internal_token)) {
    return std::nullopt;
  }
  return ApiError(grpc::StatusCode::UNAUTHENTICATED, "INTERNAL_TOKEN_REQUIRED",
                  "this service only accepts calls from the platform's own services")
      .ToStatus();
}

grpc::Status ServiceHost::RunHandler(const CallContext& call,
                                     const std::function<void()>& body) const {
  log::ScopedContext scope({call.method, call.correlation_id, call.store_id});
  try {
    failpoint::Hit("rpc.before_handler");
    body();
    return grpc::Status::OK;
  } catch (...) {
    return StatusFromException(std::current_exception());
  }
}

void ServiceHost::Finish(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                         const CallContext& call,
                         std::chrono::steady_clock::time_point started,
                         const grpc::Status& status) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // An answer after the deadline reaches the caller as DEADLINE_EXCEEDED, not as what we say:
  // count and log it as what the caller saw.
  const bool late = status.ok() && Clock::now() > call.deadline;
  const auto code = late ? grpc::StatusCode::DEADLINE_EXCEEDED : status.error_code();
  metrics_.RecordRpc(call.method, code, seconds);
  log::ScopedContext scope({call.method, call.correlation_id, call.store_id});
  nlohmann::json fields = {{"code", static_cast<int>(code)}, {"duration_ms", seconds * 1000.0}};
  if (!status.ok()) {
    fields["error"] = status.error_message();
    fields["reason"] = ErrorReason(status);
  }
  if (late) {
    log::Warn("rpc answered after its deadline", fields);
  } else if (status.ok()) {
    // Every call is counted in the metrics; a line is kept for the slow ones (all at debug).
    if (seconds * 1000.0 >= kSlowCallMs) {
      log::Info("rpc", fields);
    } else {
      log::Debug("rpc", fields);
    }
  } else if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
             status.error_code() == grpc::StatusCode::NOT_FOUND) {
    log::Info("rpc", fields);
  } else {
    // Failures of ours (the database down, a service unreachable) come in floods of identical
    // lines: one per method, code and reason is written per interval, the rest counted. Every
    // call is still counted in the metrics.
    const std::string key = "rpc " + call.method + " " +
                            StatusCodeName(static_cast<int>(status.error_code())) + " " +
                            fields["reason"].get<std::string>();
    log::WarnEvery(key, log::kRepeatInterval, "rpc", fields);
  }
  // A refusal while starting or shutting down is the exception: this process does not serve
  // yet or any more, nothing was done, and the retry (a moment later, or on another replica)
  // is what it invites. A restarted service answered calls that arrived before it had checked
  // its database with a pushback, and checkout's quote failed (ResilienceIT, restart).
  const std::string reason = status.ok() ? "" : ErrorReason(status);
  if (!status.ok() && require_internal_token_ && reason != kShuttingDownReason &&
      reason != kStartingReason) {
    // Our answer to another of our services, which has already spent its own retries within the
    // deadline: its channel must not try again (it retries only calls that never got an answer).
    // gRPC's retry policy honours a negative server pushback as "do not retry".
    context->AddTrailingMetadata("grpc-retry-pushback-ms", "-1");
  }
  reactor->Finish(status);
}

bool ServiceHost::CheckDatabase() {
  try {
    if (!health_conn_ || !health_conn_->is_open()) health_conn_ = Connect(config_.database_url);
    if (!migrated_) {
      const int applied = ApplyMigrations(*health_conn_, migrations_);
      log::Info("migrations up to date", {{"schema", migrations_.schema}, {"applied", applied}});
      migrated_ = true;
      db_.SetAvailable(true);
      StartBackgroundLoops();
    }
    pqxx::nontransaction tx(*health_conn_);
    tx.exec("SELECT 1");
    return true;
  } catch (const MigrationError& e) {
    // Not a blip: an edited or unknown migration needs a human. Stay NOT_SERVING and say why.
    log::ErrorEvery("migrations refused", log::kRepeatInterval, "migrations refused",
                    {{"error", e.what()}});
    return false;
  } catch (const std::exception& e) {
    health_conn_.reset();
    log::WarnEvery("database check", log::kRepeatInterval, "database check failed",
                   {{"error", e.what()}});
    return false;
  }
}

void ServiceHost::StartBackgroundLoops() {
  for (auto& [name, loop] : background_) {
    background_threads_.emplace_back([name = name, loop = loop](std::stop_token stop) {
      log::Info("background loop started", {{"loop", name}});
      while (!stop.stop_requested()) {
        try {
          loop(stop);
        } catch (const std::exception& e) {
          log::ErrorEvery("background loop " + name, log::kRepeatInterval,
                          "background loop failed; restarting", {{"loop", name}, {"error", e.what()}});
          SleepUnlessStopped(stop, std::chrono::seconds(1));
        }
      }
    });
  }
}

void ServiceHost::ReadinessLoop(std::stop_token stop) {
  bool last = false;
  bool first = true;
  for (int tick = 1; !stop.stop_requested(); ++tick) {
    // Hand freed heap pages back to the system every 10 s: glibc keeps what a burst of calls
    // freed in its per-thread arenas, so an idle service would stay at its peak size (the
    // benchmark's idle services were 38-40 MiB after load instead of ~28).
    if (tick % 10 == 0) malloc_trim(0);
    log::FlushRepeated();
    const bool ready = CheckDatabase() && !shutting_down_;
    if (ready != last || first) {
      SetReady(ready);
      log::Info(ready ? "ready" : "not ready");
      last = ready;
      first = false;
    }
    SleepUnlessStopped(stop, std::chrono::seconds(1));
  }
}

void ServiceHost::Start() {
  grpc::EnableDefaultHealthCheckService(true);
  // Linking alone is not enough: --as-needed drops the plugin unless it is referenced.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second process on the same port would start and take
  // half of the connections. A port that is taken must fail the start instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort("0.0.0.0:" + std::to_string(config_.grpc_port),
                           credentials_ ? credentials_ : grpc::InsecureServerCredentials(), &port_);
  for (auto* service : services_) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  if (!server_) {
    throw std::runtime_error("cannot listen for gRPC on port " + std::to_string(config_.grpc_port));
  }
  if (health_port_ != 0) {
    // Its own server: only health and reflection (which also makes it a server with a real
    // service, as gRPC requires), never the API in plaintext.
    grpc::ServerBuilder health_builder;
    health_builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    health_builder.AddListeningPort("0.0.0.0:" + std::to_string(health_port_),
                                    grpc::InsecureServerCredentials());
    health_server_ = health_builder.BuildAndStart();
    if (!health_server_) {
      throw std::runtime_error("cannot listen for health on port " + std::to_string(health_port_));
    }
  }
  for (auto* server : {server_.get(), health_server_.get()}) {
    if (server == nullptr) continue;
    server->GetHealthCheckService()->SetServingStatus("", false);
    server->GetHealthCheckService()->SetServingStatus(kLivenessService, true);
  }
  if (config_.metrics_port != 0) {
    metrics_server_ = std::make_unique<MetricsServer>(metrics_, config_.metrics_port);
  }
  readiness_thread_ = std::jthread([this](std::stop_token stop) { ReadinessLoop(stop); });
  started_ = true;
  log::Info("listening", {{"grpc_port", port_},
                         {"tls", credentials_ != nullptr},
                         {"health_port", health_port_},
                         {"metrics_port", config_.metrics_port}});
}

std::shared_ptr<grpc::Channel> ServiceHost::InProcessChannel() {
  if (!started_) {
    throw ApiError(grpc::StatusCode::UNAVAILABLE, "STARTING",
                   "the " + config_.service + " service is starting; retry");
  }
  grpc::ChannelArguments args;
  return server_->InProcessChannel(args);
}

bool ServiceHost::AdmitWhileDraining(grpc::CallbackServerContext* context,
                                     grpc::ServerUnaryReactor* reactor,
                                     const std::shared_ptr<CallContext>& call,
                                     std::chrono::steady_clock::time_point started) {
  // The reactor counted the call before this check, so a drain that begins after it waits for
  // the call (Drain sets draining_ first, then reads the count).
  if (!draining_.load()) return true;
  auto refuse = [this, context, reactor, call, started] {
    Finish(context, reactor, *call, started,
           ApiError(grpc::StatusCode::UNAVAILABLE, kShuttingDownReason,
                    "the " + config_.service + " service is restarting; retry")
               .ToStatus());
  };
  std::unique_lock lock(held_mutex_);
  if (refusing_) {
    lock.unlock();
    refuse();
  } else {
    held_.push_back(std::move(refuse));
  }
  return false;
}

// Why not just grpc::Server::Shutdown: gRPC 1.51 tells clients to go away (GOAWAY) only when they
// next read, and kills as CANCELLED every call that arrives in between. A client that was idle
// when we stopped reads only when it sends its next call, so that call was always CANCELLED. So:
// hold new calls while those in flight finish, refuse the held ones with a retryable UNAVAILABLE,
// and once every answer has left, close the connections at once.
void ServiceHost::Drain(Deadline until) {
  draining_ = true;
  const auto hold_until = std::min(until, Clock::now() + kMaxHold);
  std::vector<std::function<void()>> held;
  WaitFor(
      [&] {
        std::lock_guard lock(held_mutex_);
        return in_flight_.load() == static_cast<int>(held_.size());
      },
      hold_until);
  {
    std::lock_guard lock(held_mutex_);
    refusing_ = true;
    held.swap(held_);
  }
  for (auto& refuse : held) refuse();
  if (!WaitFor([&] { return in_flight_.load() == 0; }, until)) {
    log::Warn("calls still running at the end of the grace period are cancelled",
              {{"calls", in_flight_.load()}});
  }
  log::Info("drained", {{"held_and_refused", held.size()}});
}

void ServiceHost::Shutdown() {
  if (shut_down_ || !server_) return;
  shut_down_ = true;
  shutting_down_ = true;
  log::Info("draining", {{"grace_seconds", config_.shutdown_grace.count()}});
  const auto until = Clock::now() + config_.shutdown_grace;
  SetReady(false);
  readiness_thread_.request_stop();
  if (readiness_thread_.joinable()) readiness_thread_.join();
  Drain(until);
  // Nothing is in flight now (or the grace is over): close the connections without waiting for
  // clients to acknowledge a GOAWAY; their next call fails UNAVAILABLE and goes elsewhere.
  server_->Shutdown(Clock::now());
  workers_.Stop();
  for (auto& t : background_threads_) t.request_stop();
  background_threads_.clear();  // jthread joins
  server_->Wait();
  if (health_server_) {
    health_server_->Shutdown(Clock::now());
    health_server_->Wait();
  }
  metrics_server_.reset();
  log::Info("stopped");
  log::Flush();
}

int ServiceHost::Run() {
  Start();
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int received = 0;
  sigwait(&signals, &received);
  log::Info("signal received", {{"signal", received}});
  Shutdown();
  return 0;
}

void BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int RunServiceMain(int argc, char** argv, const ServiceDefaults& defaults, MigrationSet migrations,
                   const std::function<void(EnvReader&)>& read_extra, const Wiring& wire) {
  BlockShutdownSignals();
  // glibc gives each thread that allocates its own arena, up to 8 per core; with gRPC's and
  // the worker pool's threads that multiplies the memory a service holds for little speed.
  mallopt(M_ARENA_MAX, 4);
  bool migrate_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--migrate-only") {
      migrate_only = true;
    } else {
      std::cerr << "usage: " << argv[0] << " [--migrate-only]\n"
                << "Configuration comes from LOYALTY_* environment variables; see the README.\n";
      return arg == "--help" ? 0 : 2;
    }
  }
  // libpq's own connect timeout, so a dead host cannot stall health checks.
  setenv("PGCONNECT_TIMEOUT", "3", 0);
  ServiceConfig config;
  try {
    EnvReader reader(ProcessEnv());
    config = ReadServiceConfig(reader, defaults);
    read_extra(reader);
    if (auto spec = ProcessEnv()("LOYALTY_FAILPOINTS")) {
      try {
        failpoint::Configure(*spec);
      } catch (const std::invalid_argument& e) {
        reader.Reject("LOYALTY_FAILPOINTS", e.what());
      }
    }
    reader.ThrowIfErrors();
  } catch (const ConfigError& e) {
    std::cerr << "loyalty-" << defaults.service << ": " << e.what() << "\n";
    return 2;
  }
  log::Init(config.service, config.log_level);
  try {
    if (migrate_only) {
      auto conn = Connect(config.database_url);
      const int applied = ApplyMigrations(*conn, migrations);
      log::Info("migrations up to date", {{"schema", migrations.schema}, {"applied", applied}});
      return 0;
    }
    ServiceHost host(config, std::move(migrations));
    auto owner = wire(host);
    return host.Run();
  } catch (const std::exception& e) {
    log::Error("fatal", {{"error", e.what()}});
    return 1;
  }
}

}  // namespace loyalty::common
