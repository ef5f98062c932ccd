// Helpers for integration tests: a throwaway database per test, real service processes, and a
// private Postgres cluster for tests that stop and start the database.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace loyalty::testing {

// A free TCP port on 127.0.0.1 (bound once and released).
int FreePort();

// A fresh database on the test server (LOYALTY_TEST_DATABASE_URL, set by ./dev test), dropped
// when the object goes.
class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;
  const std::string& url() const { return url_; }

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

// A Postgres cluster of the test's own (initdb in a temp dir), for tests that stop the database.
class PgCluster {
 public:
  PgCluster();
  ~PgCluster();
  void Start();
  void Stop();
  const std::string& url() const { return url_; }

 private:
  std::string dir_;
  int port_;
  std::string url_;
};

// One of our server binaries (build/bin/loyalty-<service>) running as a child process.
class ServiceProcess {
 public:
  ServiceProcess(const std::string& service, const std::string& database_url,
                 std::map<std::string, std::string> extra_env = {});
  ~ServiceProcess();
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  // Starts (again) with the same port and environment.
  void Start();
  // Waits until readiness is SERVING; fails the test otherwise.
  void WaitServing(std::chrono::seconds timeout = std::chrono::seconds(30)) const;
  // SIGTERM, then the exit code (or 128 + signal).
  int Terminate();
  // SIGKILL, like a crash.
  void Kill();
  // Sends `signal` without waiting (SIGSTOP/SIGCONT: a stalled process).
  void Signal(int signal) const;
  const std::string& log_path() const { return log_path_; }

 private:
  int Wait();
  std::string service_;
  std::map<std::string, std::string> env_;
  int port_;
  std::string log_path_;
  int pid_ = -1;
};

// Waits until readiness at `address` is SERVING (for a process started on a port of the test's
// choosing); false after `timeout`.
bool WaitServing(const std::string& address,
                 std::chrono::seconds timeout = std::chrono::seconds(30));

// Health of `address` for `service` ("" = readiness, "liveness"): "SERVING", "NOT_SERVING", or
// "UNREACHABLE".
std::string HealthStatus(const std::string& address, const std::string& service);

// The body of GET http://127.0.0.1:<port><path> (e.g. a service's /metrics); "" when it fails.
std::string HttpGet(int port, const std::string& path);

// Runs a shell command; returns its exit status and puts stdout+stderr in `output`.
int RunCapture(const std::string& command, std::string* output);

// A client context carrying the dev internal token and a deadline.
std::unique_ptr<grpc::ClientContext> InternalContext(
    std::chrono::milliseconds timeout = std::chrono::seconds(10));
inline constexpr const char* kTestInternalToken = "test-internal-token-0123456789";

}  // namespace loyalty::testing
