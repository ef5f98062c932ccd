#include "test_env.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <pqxx/pqxx>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"

namespace loyalty::testing {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw std::runtime_error(std::string(name) + " is not set: run the tests with ./dev test");
  }
  return value;
}

std::string WithDatabase(const std::string& url, const std::string& name) {
  return url.substr(0, url.rfind('/') + 1) + name;
}

std::string RandomSuffix() {
  static std::mt19937_64 rng{std::random_device{}()};
  return std::to_string(getpid()) + "_" + std::to_string(rng() % 1000000000);
}

// Runs a command (as the postgres user when we are root, since Postgres refuses root).
void RunAsPostgres(const std::string& command) {
  const std::string full = geteuid() == 0 ? "runuser -u postgres -- " + command : command;
  if (std::system(full.c_str()) != 0) throw std::runtime_error("failed: " + full);
}

}  // namespace

int FreePort() {
  // The kernel may offer a port again once it is released, before the process it was picked for
  // has bound it: two services of one test would then share a port. Never hand one out twice.
  static std::mutex mutex;
  static std::set<int> given;
  std::lock_guard lock(mutex);
  for (;;) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    const int port = ntohs(addr.sin_port);
    if (given.insert(port).second) return port;
  }
}

TestDatabase::TestDatabase()
    : admin_url_(Env("LOYALTY_TEST_DATABASE_URL")), name_("t_" + RandomSuffix()) {
  pqxx::connection admin(admin_url_);
  pqxx::nontransaction tx(admin);
  tx.exec("CREATE DATABASE " + tx.quote_name(name_));
  url_ = WithDatabase(admin_url_, name_);
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection admin(admin_url_);
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (...) {
  }
}

PgCluster::PgCluster() : port_(FreePort()) {
  char tmpl[] = "/tmp/loyalty-pg-XXXXXX";
  dir_ = mkdtemp(tmpl);
  chmod(dir_.c_str(), 0777);
  if (geteuid() == 0) RunAsPostgres("true");  // fails early if there is no postgres user
  RunAsPostgres("/usr/lib/postgresql/15/bin/initdb -D " + dir_ +
                "/data -U loyalty --auth=trust -E UTF8 > /dev/null");
  url_ = "postgresql://loyalty@127.0.0.1:" + std::to_string(port_) + "/postgres";
}

PgCluster::~PgCluster() {
  try {
    Stop();
  } catch (...) {
  }
  std::filesystem::remove_all(dir_);
}

void PgCluster::Start() {
  RunAsPostgres("/usr/lib/postgresql/15/bin/pg_ctl -D " + dir_ + "/data -w -l " + dir_ +
                "/server.log -o \"-p " + std::to_string(port_) + " -k " + dir_ +
                " -c listen_addresses=127.0.0.1 -c max_connections=300\" start > /dev/null");
}

void PgCluster::Stop() {
  RunAsPostgres("/usr/lib/postgresql/15/bin/pg_ctl -D " + dir_ +
                "/data -m immediate stop > /dev/null 2>&1 || true");
}

ServiceProcess::ServiceProcess(const std::string& service, const std::string& database_url,
                               std::map<std::string, std::string> extra_env)
    : service_(service), port_(FreePort()) {
  env_ = {{"LOYALTY_DATABASE_URL", database_url},
          {"LOYALTY_GRPC_PORT", std::to_string(port_)},
          {"LOYALTY_METRICS_PORT", "0"},
          {"LOYALTY_HTTP_PORT", "0"},  // the gateway's HTTP/JSON port: off unless a test asks
          {"LOYALTY_INTERNAL_TOKEN", kTestInternalToken},
          {"LOYALTY_SHUTDOWN_GRACE_SECONDS", "5"}};
  for (auto& [k, v] : extra_env) env_[k] = v;
  log_path_ = "/tmp/loyalty-test-" + service + "-" + std::to_string(port_) + ".log";
  Start();
}

ServiceProcess::~ServiceProcess() {
  if (pid_ > 0) Kill();
  // CI keeps only the test's output: a failed test shows the end of each service's log.
  if (::testing::Test::HasFailure()) {
    std::string tail;
    RunCapture("tail -n 15 " + log_path_, &tail);
    std::fprintf(stderr, "--- last lines of %s ---\n%s", log_path_.c_str(), tail.c_str());
  }
}

void ServiceProcess::Start() {
  const std::string binary = std::string(LOYALTY_BIN_DIR) + "/loyalty-" + service_;
  pid_ = fork();
  if (pid_ == 0) {
    for (const auto& [k, v] : env_) setenv(k.c_str(), v.c_str(), 1);
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    // The test runner may block signals; the child must start with a clean mask.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execl(binary.c_str(), binary.c_str(), nullptr);
    _exit(127);
  }
}

void ServiceProcess::WaitServing(std::chrono::seconds timeout) const {
  if (!testing::WaitServing(address(), timeout)) {
    FAIL() << service_ << " did not become SERVING; log: " << log_path_;
  }
}

bool WaitServing(const std::string& address, std::chrono::seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (HealthStatus(address, "") == "SERVING") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

int ServiceProcess::Wait() {
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int ServiceProcess::Terminate() {
  kill(pid_, SIGTERM);
  return Wait();
}

void ServiceProcess::Signal(int signal) const { kill(pid_, signal); }

void ServiceProcess::Kill() {
  kill(pid_, SIGKILL);
  Wait();
}

std::string HealthStatus(const std::string& address, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  if (!stub->Check(&context, request, &response).ok()) return "UNREACHABLE";
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
}

std::string HttpGet(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  const auto response = client.Get(path.c_str());
  return response && response->status == 200 ? response->body : "";
}

int RunCapture(const std::string& command, std::string* output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  char buffer[512];
  while (fgets(buffer, sizeof buffer, pipe)) output->append(buffer);
  return WEXITSTATUS(pclose(pipe));
}

std::unique_ptr<grpc::ClientContext> InternalContext(std::chrono::milliseconds timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  context->AddMetadata("x-loyalty-internal-token", kTestInternalToken);
  return context;
}

}  // namespace loyalty::testing
