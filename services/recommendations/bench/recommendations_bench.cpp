// loyalty-recommendations-bench: the recommendations benchmark (not a test), in one command.
//
//   loyalty-recommendations-bench --url postgresql://loyalty@127.0.0.1:PORT/loyalty
//       [--orders 1000000] [--products 10000] [--categories 100] [--zipf 1.0]
//       [--product-rate 200] [--cart-rate 100] [--select-rate 200] [--seconds 60] [--warmup 5]
//       [--connections 4] [--select-connections 4] [--events 20000] [--keep]
//       [--cost-calls 1000] [--cost-cart-items 3,100] [--service PATH]
//
// 1. Creates a scratch database next to --url's and starts build/bin/loyalty-recommendations on it.
// 2. Loads the catalogue through UpsertProducts (the real path), and --orders orders over
//    --products products with Zipf(--zipf) popularity straight into the recorded-orders tables with
//    COPY (generated here, deterministic seed).
// 3. Builds the model with RebuildModel (the real code path) and times it.
// 4. Grows the model through the incremental path: --events order.placed events on DeliverEvent.
// 5. Cost per call (--cost-calls > 0): RecommendForProduct and RecommendForCart with each of
//    --cost-cart-items distinct items, one call at a time, flat out; CPU of the service and of its
//    Postgres backends (from /proc) and statements and plans (from pg_stat_statements, when the
//    cluster loads it with track_planning on) per call.
// 6. Open loop, all three streams at once for --seconds after --warmup: RecommendForProduct,
//    RecommendForCart (3 items) and, on the same database, a prepared primary-key SELECT of a
//    product, each at a fixed rate; requests are sent at their intended time whatever the answers
//    and latency is measured from that intended time (no coordinated omission). SKUs are drawn
//    from the same Zipf as the orders.
// 7. Prints the figures (markdown), the service's VmRSS at each stage, and drops the database
//    (unless --keep).
#include <grpcpp/grpcpp.h>
#include <google/protobuf/util/time_util.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "loyalty/events/v1/events.grpc.pb.h"
#include "loyalty/orders/v1/orders_service.pb.h"
#include "loyalty/recommendations/v1/recommendations_service.grpc.pb.h"

namespace {

using namespace loyalty;
using Steady = std::chrono::steady_clock;
using google::protobuf::util::TimeUtil;
namespace rv1 = loyalty::recommendations::v1;

constexpr const char* kStore = "bench-store";
constexpr const char* kToken = "bench-internal-token-0123456789";

struct Options {
  std::string url;
  long orders = 1000000;
  int products = 10000;
  int categories = 100;
  double zipf = 1.0;
  int product_rate = 200;
  int cart_rate = 100;
  int select_rate = 200;
  int seconds = 60;
  int warmup = 5;
  int connections = 4;
  int select_connections = 4;
  int events = 20000;
  int cost_calls = 1000;
  std::vector<int> cost_cart_items = {3, 100};
  std::string service_bin = std::string(LOYALTY_BIN_DIR) + "/loyalty-recommendations";
  bool keep = false;
  uint64_t seed = 42;
};

[[noreturn]] void Usage() {
  std::cerr << "usage: loyalty-recommendations-bench --url URL [--orders N] [--products N] "
               "[--categories N] [--zipf S] [--product-rate R] [--cart-rate R] [--select-rate R] "
               "[--seconds N] [--warmup N] [--connections N] [--select-connections N] "
               "[--events N] [--seed N] [--cost-calls N] [--cost-cart-items N,N] [--service PATH] "
               "[--keep]\n";
  std::exit(2);
}

std::vector<int> ParseInts(const std::string& list) {
  std::vector<int> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    const int n = std::stoi(item);
    if (n < 1 || n > 100) Usage();
    out.push_back(n);
  }
  return out;
}

Options Parse(int argc, char** argv) {
  Options o;
  if (const char* env = std::getenv("LOYALTY_DATABASE_URL")) o.url = env;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Usage();
      return argv[++i];
    };
    if (arg == "--url") o.url = next();
    else if (arg == "--orders") o.orders = std::stol(next());
    else if (arg == "--products") o.products = std::stoi(next());
    else if (arg == "--categories") o.categories = std::stoi(next());
    else if (arg == "--zipf") o.zipf = std::stod(next());
    else if (arg == "--product-rate") o.product_rate = std::stoi(next());
    else if (arg == "--cart-rate") o.cart_rate = std::stoi(next());
    else if (arg == "--select-rate") o.select_rate = std::stoi(next());
    else if (arg == "--seconds") o.seconds = std::stoi(next());
    else if (arg == "--warmup") o.warmup = std::stoi(next());
    else if (arg == "--connections") o.connections = std::stoi(next());
    else if (arg == "--select-connections") o.select_connections = std::stoi(next());
    else if (arg == "--events") o.events = std::stoi(next());
    else if (arg == "--seed") o.seed = std::stoull(next());
    else if (arg == "--cost-calls") o.cost_calls = std::stoi(next());
    else if (arg == "--cost-cart-items") o.cost_cart_items = ParseInts(next());
    else if (arg == "--service") o.service_bin = next();
    else if (arg == "--keep") o.keep = true;
    else Usage();
  }
  if (o.url.empty() || o.products < 2 * o.categories || o.categories < 1) Usage();
  return o;
}

// ---- Synthetic store ----

// Zipf over ranks 0..n-1: P(r) proportional to 1 / (r + 1)^s.
class Zipf {
 public:
  Zipf(int n, double s) : cdf_(static_cast<size_t>(n)) {
    double sum = 0;
    for (int r = 0; r < n; ++r) cdf_[static_cast<size_t>(r)] = sum += 1.0 / std::pow(r + 1.0, s);
  }
  int operator()(std::mt19937_64& rng) const {
    const double u = std::uniform_real_distribution<double>(0, cdf_.back())(rng);
    return static_cast<int>(std::upper_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin()) %
           static_cast<int>(cdf_.size());
  }

 private:
  std::vector<double> cdf_;
};

std::string Sku(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "sku-%05d", i);
  return buf;
}

// Product i is the i-th most popular; its category is i % categories, so each category holds
// products of every popularity and category c's k-th most popular product is c + k x categories.
class Store {
 public:
  explicit Store(const Options& o)
      : o_(o), global_(o.products, o.zipf), in_category_(o.products / o.categories, o.zipf) {}

  int Draw(std::mt19937_64& rng) const { return global_(rng); }

  // Distinct products of one order: mostly 1-3 (geometric, mean 2.2); 0.2 % are bulk orders of
  // 25-60 products (beyond the 20 that form pairs). Half the items after the first come from the
  // first item's category.
  std::vector<int> Order(std::mt19937_64& rng) const {
    int size = 1;
    if (rng() % 1000 < 2) {
      size = 25 + static_cast<int>(rng() % 36);
    } else {
      while (size < 40 && std::uniform_real_distribution<double>(0, 1)(rng) > 0.45) ++size;
    }
    std::vector<int> items;
    const int first = Draw(rng);
    items.push_back(first);
    int guard = 0;
    while (static_cast<int>(items.size()) < size && ++guard < 1000) {
      int p;
      if (rng() % 2 == 0) {
        p = first % o_.categories + in_category_(rng) * o_.categories;
      } else {
        p = Draw(rng);
      }
      if (p < o_.products && std::find(items.begin(), items.end(), p) == items.end()) {
        items.push_back(p);
      }
    }
    return items;
  }

  rv1::Product Product(int i) const {
    rv1::Product p;
    p.set_sku(Sku(i));
    p.set_name("Product " + std::to_string(i));
    p.set_category("cat-" + std::to_string(i % o_.categories));
    p.set_price_minor(500 + static_cast<int64_t>((static_cast<uint64_t>(i) * 2654435761u) % 19500));
    p.set_in_stock(i % 20 != 7);
    p.set_hidden(i % 100 == 42);
    p.set_gift_wrappable(i % 5 == 0);
    if (i % 10 == 0 && i + o_.categories < o_.products) p.set_premium_sku(Sku(i + o_.categories));
    p.set_kind(rv1::PRODUCT_KIND_MERCHANDISE);
    return p;
  }

 private:
  const Options& o_;
  Zipf global_;
  Zipf in_category_;
};

// ---- The service process ----

// A port the kernel says is free now (bound to port 0, then released).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("free port");
    std::exit(1);
  }
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

pid_t g_service = -1;

[[noreturn]] void Fail(const std::string& why) {
  std::cerr << why << "\n";
  if (g_service > 0) kill(g_service, SIGTERM);
  std::exit(1);
}

pid_t StartService(const std::string& bin, const std::string& url, int port,
                   const std::string& log_path) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::FILE* log = std::fopen(log_path.c_str(), "w");
    if (log) {
      dup2(fileno(log), 1);
      dup2(fileno(log), 2);
    }
    setenv("LOYALTY_DATABASE_URL", url.c_str(), 1);
    setenv("LOYALTY_GRPC_PORT", std::to_string(port).c_str(), 1);
    setenv("LOYALTY_METRICS_PORT", "0", 1);
    setenv("LOYALTY_INTERNAL_TOKEN", kToken, 1);
    execl(bin.c_str(), bin.c_str(), static_cast<char*>(nullptr));
    std::perror("exec loyalty-recommendations");
    _exit(127);
  }
  return pid;
}

long RssKb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

void WaitServing(const std::string& address) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  for (int i = 0; i < 600; ++i) {
    int status = 0;
    if (waitpid(g_service, &status, WNOHANG) == g_service) {
      g_service = -1;
      Fail("the service exited at start; see its log");
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    if (stub->Check(&ctx, request, &response).ok() &&
        response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Fail("the service did not become ready");
}

std::unique_ptr<grpc::ClientContext> Context(std::chrono::milliseconds timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("x-loyalty-internal-token", kToken);
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  return ctx;
}

std::string WithDatabase(const std::string& url, const std::string& db) {
  const auto slash = url.rfind('/');
  const auto query = url.find('?', slash);
  return url.substr(0, slash + 1) + db + (query == std::string::npos ? "" : url.substr(query));
}

// ---- Measurements ----

struct Recorder {
  std::mutex mutex;
  std::vector<double> ms;
  std::atomic<long> errors{0};
  std::atomic<long> in_flight{0};
  std::atomic<long> max_in_flight{0};
  std::map<int, long> codes;

  void Begin() {
    const long now = ++in_flight;
    long seen = max_in_flight.load();
    while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
    }
  }
  void End(Steady::time_point intended, bool measured, int code) {
    const double latency =
        std::chrono::duration<double, std::milli>(Steady::now() - intended).count();
    {
      std::lock_guard lock(mutex);
      if (measured) ms.push_back(latency);
      if (code != 0) {
        ++codes[code];
        ++errors;
      }
    }
    --in_flight;
  }
  double Percentile(double p) {
    std::lock_guard lock(mutex);
    if (ms.empty()) return NAN;
    std::sort(ms.begin(), ms.end());
    return ms[static_cast<size_t>(std::ceil(p * static_cast<double>(ms.size()))) - 1];
  }
};

template <class Fire>
void OpenLoop(int rate, Steady::time_point start, Steady::time_point measure_from,
              Steady::time_point end, Fire fire) {
  if (rate <= 0) return;
  const auto period = std::chrono::nanoseconds(1000000000LL / rate);
  for (long i = 0;; ++i) {
    const auto intended = start + i * period;
    if (intended >= end) break;
    std::this_thread::sleep_until(intended);
    fire(intended, intended >= measure_from);
  }
}

std::string Fixed(double v, int digits = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string Machine() {
  std::ifstream cpu("/proc/cpuinfo");
  std::string line, model;
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::ifstream mem("/proc/meminfo");
  long kb = 0;
  while (std::getline(mem, line)) {
    if (line.rfind("MemTotal:", 0) == 0) kb = std::stol(line.substr(9));
  }
  return std::to_string(std::thread::hardware_concurrency()) + " cores (" + model + "), " +
         Fixed(static_cast<double>(kb) / 1024 / 1024, 1) + " GiB memory";
}

// ---- Cost per call ----

// CPU time (user + system) a process has used so far, in microseconds; 0 once it is gone.
double CpuMicros(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  const std::string content((std::istreambuf_iterator<char>(stat)), {});
  const auto name_end = content.rfind(')');  // the command may hold spaces
  if (name_end == std::string::npos) return 0;
  std::istringstream fields(content.substr(name_end + 2));
  std::string field;
  double ticks = 0;
  // Fields from the state (3rd) on: utime and stime are the 14th and 15th.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct StatementCount {
  std::string query;
  long calls = 0;
  long plans = 0;
  double exec_ms = 0;  // total execution time
  double plan_ms = 0;  // total planning time
};

struct CostSnapshot {
  double service_us = 0;
  std::map<int, double> backend_us;             // the service's Postgres backends, by pid
  std::map<std::string, StatementCount> statements;  // by queryid
};

struct Cost {
  std::string label;
  long calls = 0;
  long errors = 0;
  double service_us = 0;   // per call
  double postgres_us = 0;  // per call
  double statements = -1;  // per call; -1: pg_stat_statements is not loaded
  double plans = -1;       // per call; -1: track_planning is off
  std::vector<std::pair<std::string, StatementCount>> by_statement;  // per statement, totals
};

// Reads the CPU of the service and of every other backend of its database, and the database's
// pg_stat_statements counters, so that a stretch of calls can be charged with what it cost.
class CostMeter {
 public:
  CostMeter(const std::string& url, pid_t service) : conn_(url), service_(service) {
    try {
      pqxx::nontransaction tx(conn_);
      tx.exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      tx.exec("SELECT 1 FROM pg_stat_statements LIMIT 1");
      statements_ = true;
      planning_ = tx.exec1("SELECT current_setting('pg_stat_statements.track_planning')")[0]
                      .as<std::string>() == "on";
    } catch (const std::exception& e) {
      std::cerr << "pg_stat_statements unavailable (" << e.what() << "): CPU only\n";
    }
  }

  CostSnapshot Take() {
    CostSnapshot snap;
    snap.service_us = CpuMicros(service_);
    pqxx::nontransaction tx(conn_);
    // Client backends only: an autovacuum worker on the same database is not the calls' cost.
    for (const auto& r : tx.exec("SELECT pid FROM pg_stat_activity "
                                 "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                                 "AND backend_type = 'client backend'")) {
      const int pid = r[0].as<int>();
      snap.backend_us[pid] = CpuMicros(pid);
    }
    if (!statements_) return snap;
    for (const auto& r : tx.exec("SELECT queryid::text, calls, plans, query, total_exec_time, "
                                 "total_plan_time FROM pg_stat_statements "
                                 "WHERE dbid = (SELECT oid FROM pg_database "
                                 "WHERE datname = current_database()) "
                                 "AND query NOT LIKE '%pg_stat_%'")) {
      snap.statements[r[0].as<std::string>()] = {r[3].as<std::string>(), r[1].as<long>(),
                                                 r[2].as<long>(), r[4].as<double>(),
                                                 r[5].as<double>()};
    }
    return snap;
  }

  Cost Between(const CostSnapshot& before, const CostSnapshot& after, long calls) const {
    Cost cost;
    cost.calls = calls;
    const double n = static_cast<double>(calls);
    cost.service_us = (after.service_us - before.service_us) / n;
    double backends = 0;
    for (const auto& [pid, us] : after.backend_us) {
      auto it = before.backend_us.find(pid);
      backends += us - (it == before.backend_us.end() ? 0 : it->second);
    }
    cost.postgres_us = backends / n;
    if (!statements_) return cost;
    long statements = 0, plans = 0;
    for (const auto& [id, s] : after.statements) {
      StatementCount d = s;
      if (auto it = before.statements.find(id); it != before.statements.end()) {
        d.calls -= it->second.calls;
        d.plans -= it->second.plans;
        d.exec_ms -= it->second.exec_ms;
        d.plan_ms -= it->second.plan_ms;
      }
      if (d.calls == 0 && d.plans == 0) continue;
      statements += d.calls;
      plans += d.plans;
      cost.by_statement.emplace_back(id, d);
    }
    std::sort(cost.by_statement.begin(), cost.by_statement.end(),
              [](const auto& a, const auto& b) { return a.second.calls > b.second.calls; });
    cost.statements = static_cast<double>(statements) / n;
    if (planning_) cost.plans = static_cast<double>(plans) / n;
    return cost;
  }

 private:
  pqxx::connection conn_;
  pid_t service_;
  bool statements_ = false;
  bool planning_ = false;
};

// Runs `warmup` then `calls` calls of `call` (true: OK) one at a time and charges them.
template <class Call>
Cost MeasureCost(CostMeter& meter, const std::string& label, long calls, Call call) {
  // Warm-up: the pool's connections open and prepare, and Postgres settles on its plans (a
  // prepared statement gets 5 custom plans before the generic one is considered).
  for (long i = 0; i < std::max(50L, calls / 10); ++i) call();
  const auto before = meter.Take();
  long errors = 0;
  for (long i = 0; i < calls; ++i) {
    if (!call()) ++errors;
  }
  auto cost = meter.Between(before, meter.Take(), calls);
  cost.label = label;
  cost.errors = errors;
  return cost;
}

std::string PerCall(double v, int digits) { return v < 0 ? "n/a" : Fixed(v, digits); }

// The cost table, and each statement run at least once per 10 calls.
std::string CostMarkdown(const std::vector<Cost>& costs) {
  std::ostringstream md;
  md << "| call | calls | errors | service CPU µs/call | Postgres CPU µs/call | total µs/call | "
        "statements/call | plans/call |\n|---|---|---|---|---|---|---|---|\n";
  for (const auto& c : costs) {
    md << "| " << c.label << " | " << c.calls << " | " << c.errors << " | "
       << Fixed(c.service_us, 0) << " | " << Fixed(c.postgres_us, 0) << " | "
       << Fixed(c.service_us + c.postgres_us, 0) << " | " << PerCall(c.statements, 2) << " | "
       << PerCall(c.plans, 2) << " |\n";
  }
  md << "\nStatements per call (calls, plans, execution and planning µs as Postgres times them), "
        "those run at least once per 10 calls:\n\n";
  for (const auto& c : costs) {
    md << "- " << c.label << ":";
    for (const auto& [id, s] : c.by_statement) {
      if (s.calls * 10 < c.calls) continue;
      std::string text = s.query.substr(0, 70);
      std::replace(text.begin(), text.end(), '\n', ' ');
      const double n = static_cast<double>(c.calls);
      md << "\n  - " << Fixed(static_cast<double>(s.calls) / n, 2) << " calls, "
         << Fixed(static_cast<double>(s.plans) / n, 2) << " plans, "
         << Fixed(s.exec_ms * 1000 / n, 0) << " µs executing, " << Fixed(s.plan_ms * 1000 / n, 0)
         << " µs planning: `" << text << "`";
    }
    md << "\n";
  }
  return md.str();
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  std::mt19937_64 rng(o.seed);
  Store store(o);
  const std::string db_name = "rec_bench_" + std::to_string(getpid());
  {
    pqxx::connection admin(o.url);
    pqxx::nontransaction tx(admin);
    tx.exec("CREATE DATABASE " + tx.quote_name(db_name));
  }
  const std::string url = WithDatabase(o.url, db_name);
  const int port = FreePort();
  const std::string address = "127.0.0.1:" + std::to_string(port);
  const std::string log_path = "/tmp/" + db_name + ".log";
  const pid_t pid = StartService(o.service_bin, url, port, log_path);
  g_service = pid;
  WaitServing(address);
  std::map<std::string, long> rss;
  rss["1. started, empty"] = RssKb(pid);
  std::cerr << "service pid " << pid << " on " << address << ", log " << log_path << "\n";

  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = rv1::RecommendationsService::NewStub(channel);

  // Catalogue, through the API.
  auto t0 = Steady::now();
  for (int from = 0; from <= o.products; from += 1000) {
    rv1::UpsertProductsRequest r;
    r.set_store_id(kStore);
    r.set_request_id("catalogue-" + std::to_string(from));
    for (int i = from; i < std::min(o.products, from + 1000); ++i) *r.add_products() = store.Product(i);
    if (r.products_size() == 0) {
      for (int w = 1; w <= 3; ++w) {
        auto* wrap = r.add_products();
        wrap->set_sku("wrap-" + std::to_string(w));
        wrap->set_name("Gift wrap " + std::to_string(w));
        wrap->set_category("services");
        wrap->set_price_minor(200 + 150 * w);
        wrap->set_in_stock(true);
        wrap->set_kind(rv1::PRODUCT_KIND_GIFT_WRAP);
      }
    }
    rv1::UpsertProductsResponse response;
    const auto status = stub->UpsertProducts(Context(std::chrono::seconds(60)).get(), r, &response);
    if (!status.ok()) {
      Fail("UpsertProducts: " + status.error_message());
    }
  }
  const double catalogue_s = std::chrono::duration<double>(Steady::now() - t0).count();
  rss["2. catalogue loaded"] = RssKb(pid);
  std::cerr << "catalogue: " << o.products << " products in " << Fixed(catalogue_s) << " s\n";

  // Recorded orders, with COPY, keyed as the service keys them (order_key, product_id).
  t0 = Steady::now();
  long lines_loaded = 0;
  {
    pqxx::connection conn(url);
    std::map<std::string, int64_t> ids;
    {
      pqxx::nontransaction q(conn);
      for (const auto& row : q.exec_params(
               "SELECT sku, product_id FROM recommendations.products WHERE store_id = $1",
               kStore)) {
        ids[row[0].as<std::string>()] = row[1].as<int64_t>();
      }
    }
    std::vector<int64_t> id_of(static_cast<size_t>(o.products));
    for (int i = 0; i < o.products; ++i) id_of[static_cast<size_t>(i)] = ids.at(Sku(i));
    pqxx::work tx(conn);
    tx.exec("SET search_path = recommendations");
    const long now = static_cast<long>(std::time(nullptr));
    // The same draws for both tables: when, who, cancelled.
    struct Head {
      std::string when;
      std::string customer;
      bool cancelled;
    };
    auto head = [&](std::mt19937_64& r) {
      const std::time_t t = now - static_cast<long>(r() % (365L * 86400));
      std::tm tm{};
      gmtime_r(&t, &tm);
      char when[40];
      std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S+00", &tm);
      Head h;
      h.when = when;
      h.customer = "c" + std::to_string(r() % 200000);
      h.cancelled = r() % 100 < 2;
      return h;
    };
    {
      pqxx::stream_to orders(tx, "orders",
                             std::vector<std::string>{"store_id", "order_id", "order_key",
                                                      "customer_id", "placed_at", "cancelled"});
      std::mt19937_64 r2(o.seed + 1);
      for (long i = 0; i < o.orders; ++i) {
        const Head h = head(r2);
        orders << std::make_tuple(std::string(kStore), "o" + std::to_string(i), i + 1, h.customer,
                                  h.when, std::string(h.cancelled ? "t" : "f"));
      }
      orders.complete();
    }
    {
      pqxx::stream_to lines(tx, "order_lines",
                            std::vector<std::string>{"store_id", "order_key", "product_id",
                                                     "position", "quantity", "refunded",
                                                     "placed_at", "cancelled"});
      std::mt19937_64 r2(o.seed + 1);
      std::mt19937_64 r3(o.seed + 2);
      for (long i = 0; i < o.orders; ++i) {
        const Head h = head(r2);
        const auto items = store.Order(r3);
        const bool refund_last = r3() % 100 < 3;
        for (size_t k = 0; k < items.size(); ++k) {
          const int quantity = 1 + static_cast<int>(r3() % 3);
          const int refunded = refund_last && k + 1 == items.size() ? quantity : 0;
          lines << std::make_tuple(std::string(kStore), i + 1,
                                   id_of[static_cast<size_t>(items[k])], static_cast<int>(k),
                                   quantity, refunded, h.when,
                                   std::string(h.cancelled ? "t" : "f"));
          ++lines_loaded;
        }
      }
      lines.complete();
    }
    // Later orders (the events below) take keys after the loaded ones.
    tx.exec("SELECT setval(pg_get_serial_sequence('recommendations.orders', 'order_key'), " +
            std::to_string(o.orders) + ")");
    tx.commit();
    pqxx::nontransaction maintenance(conn);
    maintenance.exec("ANALYZE recommendations.orders");
    maintenance.exec("ANALYZE recommendations.order_lines");
  }
  const double load_s = std::chrono::duration<double>(Steady::now() - t0).count();
  std::cerr << "orders: " << o.orders << " orders, " << lines_loaded << " lines loaded in "
            << Fixed(load_s) << " s\n";

  // The model, by the real code path.
  t0 = Steady::now();
  rv1::RebuildModelResponse rebuilt;
  {
    rv1::RebuildModelRequest r;
    r.set_store_id(kStore);
    r.set_request_id("bench-rebuild");
    const auto status = stub->RebuildModel(Context(std::chrono::seconds(600)).get(), r, &rebuilt);
    if (!status.ok()) {
      Fail("RebuildModel: " + status.error_message());
    }
  }
  const double rebuild_s = std::chrono::duration<double>(Steady::now() - t0).count();
  rss["3. model rebuilt"] = RssKb(pid);
  std::cerr << "RebuildModel: " << Fixed(rebuild_s) << " s (service: " << rebuilt.duration_ms()
            << " ms), " << rebuilt.orders_counted() << " orders, " << rebuilt.pairs_counted()
            << " pairs\n";
  {
    // What autovacuum does after a bulk insert, done now so the run does not wait for it.
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    tx.exec("VACUUM (ANALYZE) recommendations.pairs");
    tx.exec("VACUUM (ANALYZE) recommendations.products");
  }

  // The incremental path grows the model.
  t0 = Steady::now();
  {
    auto sink = loyalty::events::v1::EventSinkService::NewStub(channel);
    std::atomic<long> next{0}, failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937_64 r4(o.seed + 100 + static_cast<uint64_t>(t));
        for (long i = next++; i < o.events; i = next++) {
          orders::v1::OrderPlaced placed;
          auto* order = placed.mutable_order();
          order->set_store_id(kStore);
          order->set_order_id("live-" + std::to_string(i));
          order->set_customer_id("c" + std::to_string(r4() % 200000));
          *order->mutable_placed_at() = TimeUtil::GetCurrentTime();
          for (int p : store.Order(r4)) {
            auto* line = order->add_lines()->mutable_line();
            line->set_line_id(Sku(p));
            line->set_sku(Sku(p));
            line->set_quantity(1);
          }
          loyalty::events::v1::DeliverEventRequest request;
          auto* e = request.mutable_event();
          char uuid[64];
          std::snprintf(uuid, sizeof uuid, "00000000-0000-4000-8000-%012ld", i);
          e->set_event_id(uuid);
          e->set_store_id(kStore);
          e->set_type("order.placed");
          e->set_aggregate_id(order->order_id());
          e->set_sequence(1);
          e->mutable_payload()->PackFrom(placed);
          loyalty::events::v1::DeliverEventResponse response;
          if (!sink->DeliverEvent(Context(std::chrono::seconds(30)).get(), request, &response).ok()) {
            ++failed;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    if (failed) std::cerr << failed << " events failed\n";
  }
  const double events_s = std::chrono::duration<double>(Steady::now() - t0).count();
  rss["4. after incremental events"] = RssKb(pid);
  std::cerr << "events: " << o.events << " in " << Fixed(events_s) << " s\n";

  // Cost per call, one call at a time.
  std::vector<Cost> costs;
  if (o.cost_calls > 0) {
    CostMeter meter(url, pid);
    std::mt19937_64 r(o.seed + 9);
    costs.push_back(MeasureCost(meter, "RecommendForProduct (limit 10)", o.cost_calls, [&] {
      rv1::RecommendForProductRequest request;
      request.set_store_id(kStore);
      request.set_sku(Sku(store.Draw(r)));
      request.set_limit(10);
      rv1::RecommendForProductResponse response;
      return stub->RecommendForProduct(Context(std::chrono::seconds(5)).get(), request, &response)
          .ok();
    }));
    for (const int items : o.cost_cart_items) {
      const std::string label = "RecommendForCart (" + std::to_string(items) + " items, limit 5)";
      costs.push_back(MeasureCost(meter, label, o.cost_calls, [&] {
        rv1::RecommendForCartRequest request;
        request.set_store_id(kStore);
        std::vector<int> drawn;
        while (static_cast<int>(drawn.size()) < items) {
          const int p = store.Draw(r);
          if (std::find(drawn.begin(), drawn.end(), p) == drawn.end()) drawn.push_back(p);
        }
        for (int p : drawn) {
          auto* line = request.add_lines();
          line->set_sku(Sku(p));
          line->set_quantity(1);
        }
        if (r() % 2) request.set_customer_id("c" + std::to_string(r() % 200000));
        if (r() % 2) request.set_free_shipping_missing_minor(1 + static_cast<int64_t>(r() % 5000));
        request.set_limit(5);
        rv1::RecommendForCartResponse response;
        return stub->RecommendForCart(Context(std::chrono::seconds(5)).get(), request, &response)
            .ok();
      }));
    }
    std::cerr << CostMarkdown(costs);
  }

  // Open loop.
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<rv1::RecommendationsService::Stub>> stubs;
  for (int i = 0; i < o.connections; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one connection per channel
    args.SetInt("loyalty.bench.channel", i);
    channels.push_back(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
    stubs.push_back(rv1::RecommendationsService::NewStub(channels.back()));
  }
  Recorder product_rec, cart_rec, select_rec;
  const auto start = Steady::now() + std::chrono::milliseconds(200);
  const auto measure_from = start + std::chrono::seconds(o.warmup);
  const auto end = measure_from + std::chrono::seconds(o.seconds);

  std::thread product_thread([&] {
    std::mt19937_64 r(o.seed + 7);
    long n = 0;
    OpenLoop(o.product_rate, start, measure_from, end, [&](Steady::time_point intended, bool measured) {
      struct Call {
        grpc::ClientContext ctx;
        rv1::RecommendForProductRequest request;
        rv1::RecommendForProductResponse response;
      };
      auto* call = new Call;
      call->ctx.AddMetadata("x-loyalty-internal-token", kToken);
      call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      call->request.set_store_id(kStore);
      call->request.set_sku(Sku(store.Draw(r)));
      call->request.set_limit(10);
      product_rec.Begin();
      auto& s = *stubs[static_cast<size_t>(n++ % o.connections)];
      s.async()->RecommendForProduct(&call->ctx, &call->request, &call->response,
                                     [call, intended, measured, &product_rec](grpc::Status st) {
                                       product_rec.End(intended, measured, st.error_code());
                                       delete call;
                                     });
    });
  });
  std::thread cart_thread([&] {
    std::mt19937_64 r(o.seed + 8);
    long n = 0;
    OpenLoop(o.cart_rate, start, measure_from, end, [&](Steady::time_point intended, bool measured) {
      struct Call {
        grpc::ClientContext ctx;
        rv1::RecommendForCartRequest request;
        rv1::RecommendForCartResponse response;
      };
      auto* call = new Call;
      call->ctx.AddMetadata("x-loyalty-internal-token", kToken);
      call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      call->request.set_store_id(kStore);
      std::vector<int> items;
      while (items.size() < 3) {
        const int p = store.Draw(r);
        if (std::find(items.begin(), items.end(), p) == items.end()) items.push_back(p);
      }
      for (int p : items) {
        auto* line = call->request.add_lines();
        line->set_sku(Sku(p));
        line->set_quantity(1);
      }
      if (r() % 2) call->request.set_customer_id("c" + std::to_string(r() % 200000));
      if (r() % 2) call->request.set_free_shipping_missing_minor(1 + static_cast<int64_t>(r() % 5000));
      call->request.set_limit(5);
      cart_rec.Begin();
      auto& s = *stubs[static_cast<size_t>(n++ % o.connections)];
      s.async()->RecommendForCart(&call->ctx, &call->request, &call->response,
                                  [call, intended, measured, &cart_rec](grpc::Status st) {
                                    cart_rec.End(intended, measured, st.error_code());
                                    delete call;
                                  });
    });
  });
  // The SELECT: a scheduler queues intended times; each connection's thread takes the next one.
  std::mutex queue_mutex;
  std::condition_variable queue_cv;
  std::deque<std::pair<Steady::time_point, bool>> queue;
  bool queue_done = false;
  std::vector<std::thread> select_threads;
  for (int c = 0; c < o.select_connections; ++c) {
    select_threads.emplace_back([&, c] {
      pqxx::connection conn(url);
      conn.prepare("bench_pk",
                   "SELECT name, price_minor, in_stock FROM recommendations.products "
                   "WHERE store_id = $1 AND sku = $2");
      std::mt19937_64 r(o.seed + 20 + static_cast<uint64_t>(c));
      for (;;) {
        std::pair<Steady::time_point, bool> job;
        {
          std::unique_lock lock(queue_mutex);
          queue_cv.wait(lock, [&] { return queue_done || !queue.empty(); });
          if (queue.empty()) return;
          job = queue.front();
          queue.pop_front();
        }
        int code = 0;
        try {
          pqxx::nontransaction tx(conn);
          tx.exec_prepared("bench_pk", kStore, Sku(store.Draw(r)));
        } catch (const std::exception&) {
          code = 2;
        }
        select_rec.End(job.first, job.second, code);
      }
    });
  }
  std::thread select_scheduler([&] {
    OpenLoop(o.select_rate, start, measure_from, end, [&](Steady::time_point intended, bool measured) {
      select_rec.Begin();
      std::lock_guard lock(queue_mutex);
      queue.emplace_back(intended, measured);
      queue_cv.notify_one();
    });
    std::lock_guard lock(queue_mutex);
    queue_done = true;
    queue_cv.notify_all();
  });
  std::cerr << "open loop: " << o.warmup << " s warm-up + " << o.seconds << " s measured\n";
  product_thread.join();
  cart_thread.join();
  select_scheduler.join();
  for (auto& t : select_threads) t.join();
  for (int i = 0; i < 100 && (product_rec.in_flight > 0 || cart_rec.in_flight > 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  rss["5. after the load"] = RssKb(pid);

  // Sizes of the model.
  std::map<std::string, std::string> sizes;
  long pair_rows = 0;
  {
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    pair_rows = tx.exec1("SELECT count(*) FROM recommendations.pairs")[0].as<long>();
    for (const char* t : {"pairs", "products", "orders", "order_lines"}) {
      sizes[t] = tx.exec1(std::string("SELECT pg_size_pretty(pg_total_relation_size('recommendations.") +
                          t + "'))")[0]
                     .as<std::string>();
    }
  }

  const double product_p50 = product_rec.Percentile(0.50), product_p99 = product_rec.Percentile(0.99);
  const double cart_p50 = cart_rec.Percentile(0.50), cart_p99 = cart_rec.Percentile(0.99);
  const double select_p50 = select_rec.Percentile(0.50), select_p99 = select_rec.Percentile(0.99);
  std::ostringstream md;
  md << "## Recommendations\n\n"
     << "Machine: " << Machine() << "; PostgreSQL 15 and the service on the same machine; "
     << "fsync is fast (host caches writes).\n\n"
     << "Command: `loyalty-recommendations-bench --url ... --orders " << o.orders << " --products "
     << o.products << " --product-rate " << o.product_rate << " --cart-rate " << o.cart_rate
     << " --select-rate " << o.select_rate << " --seconds " << o.seconds << "`\n\n"
     << "Synthetic store: " << o.orders << " orders (" << lines_loaded << " distinct order lines, "
     << "2 % cancelled, 3 % with a line fully refunded) over " << o.products
     << " products in " << o.categories << " categories, Zipf(s = " << o.zipf
     << ") popularity, basket size geometric (mean 2.2) plus 0.2 % bulk orders of 25-60 "
     << "products; catalogue loaded with UpsertProducts (" << Fixed(catalogue_s) << " s), orders "
     << "with COPY (" << Fixed(load_s) << " s).\n\n"
     << "| step | figure |\n|---|---|\n"
     << "| RebuildModel (" << rebuilt.orders_counted() << " orders counted, "
     << rebuilt.products_counted() << " products, " << rebuilt.pairs_counted()
     << " pairs) | **" << Fixed(rebuild_s, 1) << " s** (target <= 60 s) |\n"
     << "| incremental path: " << o.events << " `order.placed` events on DeliverEvent, 8 "
     << "callers | " << Fixed(o.events / events_s, 0) << " events/s |\n"
     << "| model size in Postgres | pairs " << sizes["pairs"] << " (" << pair_rows
     << " rows, both directions), products " << sizes["products"] << ", recorded orders "
     << sizes["orders"] << " + lines " << sizes["order_lines"] << " |\n\n"
     << "Open loop, all three streams at once for " << o.seconds << " s (after " << o.warmup
     << " s warm-up), requests sent at fixed intervals whatever the answers, latency from the "
     << "intended send time; gRPC over " << o.connections << " HTTP/2 connections, unbounded in "
     << "flight; the SELECT over " << o.select_connections
     << " libpqxx connections (prepared `SELECT ... FROM recommendations.products WHERE "
     << "store_id = $1 AND sku = $2`, one round trip, no transaction block). SKUs drawn from the "
     << "same Zipf; carts of 3 distinct SKUs, half with a customer id, half with a "
     << "free-shipping gap.\n\n"
     << "| stream | rate | samples | errors | p50 ms | p99 ms | p99 / SELECT p99 | target |\n"
     << "|---|---|---|---|---|---|---|---|\n"
     << "| prepared primary-key SELECT | " << o.select_rate << "/s | " << select_rec.ms.size()
     << " | " << select_rec.errors << " | " << Fixed(select_p50, 3) << " | "
     << Fixed(select_p99, 3) << " | 1 | |\n"
     << "| RecommendForProduct (limit 10) | " << o.product_rate << "/s | " << product_rec.ms.size()
     << " | " << product_rec.errors << " | " << Fixed(product_p50, 3) << " | "
     << Fixed(product_p99, 3) << " | **" << Fixed(product_p99 / select_p99, 1) << "x** | <= 5x |\n"
     << "| RecommendForCart (3 items, limit 5) | " << o.cart_rate << "/s | " << cart_rec.ms.size()
     << " | " << cart_rec.errors << " | " << Fixed(cart_p50, 3) << " | " << Fixed(cart_p99, 3)
     << " | **" << Fixed(cart_p99 / select_p99, 1) << "x** | <= 20x |\n\n"
     << "Max in flight: product " << product_rec.max_in_flight << ", cart " << cart_rec.max_in_flight
     << ", SELECT " << select_rec.max_in_flight << ".\n\n"
     << "Service resident memory (VmRSS of loyalty-recommendations):\n\n| stage | VmRSS |\n|---|---|\n";
  for (const auto& [stage, kb] : rss) md << "| " << stage << " | " << Fixed(kb / 1024.0, 1) << " MiB |\n";
  if (!costs.empty()) {
    md << "\nCost per call, one call at a time, flat out (CPU from /proc: the service, and its "
          "Postgres backends; statements and plans from pg_stat_statements):\n\n"
       << CostMarkdown(costs);
  }
  std::cout << md.str() << std::flush;

  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!o.keep) {
    pqxx::connection admin(o.url);
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE " + tx.quote_name(db_name));
  } else {
    std::cerr << "kept database " << db_name << "\n";
  }
  return 0;
}
