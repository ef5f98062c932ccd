// loyalty-bench: an open-loop load generator for the platform and its baselines (issue 9).
//
//   loyalty-bench --workload W --target HOST:PORT [--rate R --seconds S] [--warmup S]
//                 [--find-max --p99-ms B --start-rate R --max-rate R --step-seconds S]
//                 [--connections C] [--threads T] [--timeout-ms MS] [--label NAME] ...
//
// Open loop: request i is due at start + i / rate and is sent then, whatever earlier answers did
// (the gRPC callback client API: in-flight calls are not bounded by threads); its latency is
// measured from that intended time, so a slow server cannot hide its queue (no coordinated
// omission). Latencies go to a log-linear histogram (1/64 relative resolution); every answer is
// counted by gRPC status code. --find-max searches (doubling, then bisection over short runs) for
// the highest rate whose p99 stays under --p99-ms with no errors and the sender on schedule.
//
// Workloads:
//   echo               loyalty.bench.v1.EchoService/Echo (bare, leaf or fan-out echo)
//   pk-select          the leaf's prepared primary-key SELECT, straight on --db (C connections)
//   place-order        orders PlaceOrder, fresh order ids (seeds --customers customers first
//                      through --customers-target; --points-target publishes earn rules first)
//   place-order-replay orders PlaceOrder: half the calls replay one of --replay-pool already placed
//                      orders (same id, same body), half are fresh; two histograms (P6)
//   recommend-product  recommendations RecommendForProduct (seeds --products products first)
//   recommend-cart     recommendations RecommendForCart, 3 lines
//   quote-cart         the gateway's QuoteCart: --lines lines, a customer, 1 in 4 paying with
//                      points; the store is seeded through the gateway (--operator-token) with
//                      --rules active earn rules, --customers customers and --history-orders orders;
//                      with --http HOST:PORT the calls go to the gateway's HTTP/JSON front
//                      (POST /v1/carts:quote, keep-alive, one blocking client per --connections)
//   gateway-place-order the gateway's PlaceOrder (fresh order ids), same store seeding
//                      (--webhook-url URL: the store sends every event there, as a webhook)
//   loyalty-status     the gateway's GetLoyaltyStatus, same store seeding
// Output: progress on stderr; one "RESULT key=value ..." line per histogram on stdout.
// --write-echo-body FILE writes a raw gRPC request body (5-byte frame header + EchoRequest) for
// h2load and exits.
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <sys/resource.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "catalogue.hpp"
#include "gateway_seed.hpp"
#include "loyalty/bench/v1/echo.pb.h"
#include "loyalty/common/metrics.hpp"
#include "loyalty/customers/v1/customers_service.grpc.pb.h"
#include "loyalty/gateway/v1/gateway_service.pb.h"
#include "loyalty/orders/v1/orders_service.grpc.pb.h"
#include "loyalty/points/v1/points_service.grpc.pb.h"
#include "loyalty/recommendations/v1/recommendations_service.grpc.pb.h"

namespace {

using Steady = std::chrono::steady_clock;
namespace bv1 = loyalty::bench::v1;
namespace ov1 = loyalty::orders::v1;
namespace cv1 = loyalty::customers::v1;
namespace rv1 = loyalty::recommendations::v1;
namespace gv1 = loyalty::gateway::v1;
namespace pv1 = loyalty::points::v1;
using loyalty::bench::Category;
using loyalty::bench::GiftWrappable;
using loyalty::bench::PriceMinor;
using loyalty::bench::Sku;

struct Options {
  std::string workload;
  std::string target;
  std::string db;
  std::string label;
  std::string token = "dev-internal-token";
  std::string api_key;
  std::string operator_token = "dev-operator-token";
  std::string store = "bench-store";
  std::string customers_target;
  std::string points_target;
  std::string before_load;
  std::string write_echo_body;
  std::string http;  // HOST:PORT of the gateway's HTTP/JSON front (quote-cart)
  std::string webhook_url;  // gateway workloads: the seeded store's webhook endpoint
  double rate = 100;
  double seconds = 10;
  double warmup = 1;
  bool find_max = false;
  double p99_ms = 50;
  double start_rate = 100;
  double max_rate = 200000;
  double step_seconds = 3;
  int max_steps = 10;
  int connections = 4;
  int threads = 1;
  int timeout_ms = 5000;
  int customers = 200;
  int products = 1000;
  int lines = 3;
  int rules = 5;
  int history_orders = 2000;
  int replay_pool = 200;
  int payload_bytes = 16;
  uint64_t seed = 42;
};

[[noreturn]] void Usage(const std::string& why = "") {
  if (!why.empty()) std::cerr << "loyalty-bench: " << why << "\n";
  std::cerr
      << "usage: loyalty-bench --workload echo|pk-select|place-order|place-order-replay|"
         "recommend-product|recommend-cart|quote-cart|gateway-place-order|loyalty-status\n"
         "         --target HOST:PORT | --db URL (pk-select)\n"
         "         [--rate R] [--seconds S] [--warmup S] [--connections C] [--threads T]\n"
         "         [--find-max --p99-ms B --start-rate R --max-rate R --step-seconds S "
         "--max-steps N]\n"
         "         [--timeout-ms MS] [--label NAME] [--token T] [--api-key K] [--store ID]\n"
         "         [--customers N --customers-target HOST:PORT] [--points-target HOST:PORT]\n"
         "         [--products N] [--lines N]\n"
         "         [--replay-pool N] [--payload-bytes N] [--before-load CMD] [--seed N]\n"
         "         [--operator-token T] [--rules N] [--history-orders N] (gateway workloads)\n"
         "         [--http HOST:PORT] (quote-cart over HTTP/JSON) [--webhook-url URL]\n"
         "       loyalty-bench --write-echo-body FILE [--payload-bytes N]\n";
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Usage(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--workload") o.workload = next();
    else if (arg == "--target") o.target = next();
    else if (arg == "--db") o.db = next();
    else if (arg == "--label") o.label = next();
    else if (arg == "--token") o.token = next();
    else if (arg == "--api-key") o.api_key = next();
    else if (arg == "--operator-token") o.operator_token = next();
    else if (arg == "--rules") o.rules = std::stoi(next());
    else if (arg == "--history-orders") o.history_orders = std::stoi(next());
    else if (arg == "--store") o.store = next();
    else if (arg == "--customers-target") o.customers_target = next();
    else if (arg == "--points-target") o.points_target = next();
    else if (arg == "--before-load") o.before_load = next();
    else if (arg == "--write-echo-body") o.write_echo_body = next();
    else if (arg == "--http") o.http = next();
    else if (arg == "--webhook-url") o.webhook_url = next();
    else if (arg == "--rate") o.rate = std::stod(next());
    else if (arg == "--seconds") o.seconds = std::stod(next());
    else if (arg == "--warmup") o.warmup = std::stod(next());
    else if (arg == "--find-max") o.find_max = true;
    else if (arg == "--p99-ms") o.p99_ms = std::stod(next());
    else if (arg == "--start-rate") o.start_rate = std::stod(next());
    else if (arg == "--max-rate") o.max_rate = std::stod(next());
    else if (arg == "--step-seconds") o.step_seconds = std::stod(next());
    else if (arg == "--max-steps") o.max_steps = std::stoi(next());
    else if (arg == "--connections") o.connections = std::stoi(next());
    else if (arg == "--threads") o.threads = std::stoi(next());
    else if (arg == "--timeout-ms") o.timeout_ms = std::stoi(next());
    else if (arg == "--customers") o.customers = std::stoi(next());
    else if (arg == "--products") o.products = std::stoi(next());
    else if (arg == "--lines") o.lines = std::stoi(next());
    else if (arg == "--replay-pool") o.replay_pool = std::stoi(next());
    else if (arg == "--payload-bytes") o.payload_bytes = std::stoi(next());
    else if (arg == "--seed") o.seed = std::stoull(next());
    else if (arg == "--help" || arg == "-h") Usage();
    else Usage("unknown argument " + arg);
  }
  if (!o.write_echo_body.empty()) return o;
  if (o.workload.empty()) Usage("--workload is required");
  if (o.workload == "pk-select" ? o.db.empty() : o.target.empty()) {
    Usage("--target (or --db for pk-select) is required");
  }
  if (o.rate <= 0 || o.seconds <= 0 || o.connections < 1 || o.threads < 1 || o.customers < 1 ||
      o.products < 10 || o.lines < 1 || o.lines > o.products || o.replay_pool < 1 || o.rules < 0 ||
      o.history_orders < 0) {
    Usage("rates, durations and counts must be positive (--products at least 10)");
  }
  if (!o.http.empty() && o.workload != "quote-cart") Usage("--http goes with quote-cart only");
  if (o.label.empty()) o.label = o.workload;
  return o;
}

// ---- Histogram: log-linear buckets of microseconds, lock-free recording ----

class Histogram {
 public:
  static constexpr int kSub = 64;  // buckets per power of two: <= 1/64 relative error
  static constexpr int kBuckets = kSub + 40 * kSub;

  void Record(uint64_t us) {
    buckets_[static_cast<size_t>(Index(us))].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    uint64_t seen = max_.load(std::memory_order_relaxed);
    while (us > seen && !max_.compare_exchange_weak(seen, us, std::memory_order_relaxed)) {
    }
  }
  uint64_t count() const { return count_.load(); }
  double MaxMs() const { return static_cast<double>(max_.load()) / 1000.0; }
  // The upper bound of the bucket holding the p-quantile, in milliseconds (never optimistic).
  double PercentileMs(double p) const {
    const uint64_t n = count();
    if (n == 0) return NAN;
    const auto rank = static_cast<uint64_t>(std::ceil(p * static_cast<double>(n)));
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += buckets_[static_cast<size_t>(i)].load(std::memory_order_relaxed);
      if (seen >= std::max<uint64_t>(rank, 1)) {
        return std::min(static_cast<double>(Upper(i)), static_cast<double>(max_.load())) / 1000.0;
      }
    }
    return MaxMs();
  }

 private:
  static int Index(uint64_t v) {
    if (v < kSub) return static_cast<int>(v);
    const int e = std::bit_width(v) - 1;  // v in [2^e, 2^(e+1)), e >= 6
    const int sub = static_cast<int>(v >> (e - 6)) - kSub;
    return std::min(kBuckets - 1, kSub + (e - 6) * kSub + sub);
  }
  static uint64_t Upper(int i) {
    if (i < kSub) return static_cast<uint64_t>(i);
    const int e = (i - kSub) / kSub + 6;
    const uint64_t sub = static_cast<uint64_t>((i - kSub) % kSub);
    return ((kSub + sub) << (e - 6)) + (uint64_t{1} << (e - 6)) - 1;
  }
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> max_{0};
};

// What one run measured, for one kind of request.
struct Stream {
  Histogram latency;
  std::array<std::atomic<uint64_t>, 17> codes{};  // by grpc::StatusCode
  std::atomic<uint64_t> ok_in_window{0};
};

struct RunResult {
  double rate = 0;
  double measured_seconds = 0;
  uint64_t sent = 0;
  double max_sender_lag_ms = 0;
  long max_in_flight = 0;
  uint64_t unfinished = 0;
  double cpu_us_per_call = 0;  // the generator's own CPU time (user + system) per call sent
  std::vector<std::unique_ptr<Stream>> streams;
};

using loyalty::common::StatusCodeName;

// CPU time this process has used, user and system, in seconds.
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

uint64_t Errors(const Stream& s) {
  uint64_t n = 0;
  for (size_t c = 1; c < s.codes.size(); ++c) n += s.codes[c].load();
  return n;
}

std::string Fixed(double v, int digits = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// ---- Requests ----

// One request to send: its serialized body and which stream (histogram) it belongs to.
struct Request {
  std::string body;
  int kind = 0;
};
using Maker = std::function<Request(uint64_t i, std::mt19937_64& rng)>;

std::string RunNonce() {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count() %
                        100000000000LL);
}

std::shared_ptr<grpc::Channel> Channel(const std::string& target, int index) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one connection per channel
  args.SetInt("loyalty.bench.channel", index);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

void AddAuth(grpc::ClientContext& ctx, const Options& o) {
  ctx.AddMetadata("x-loyalty-internal-token", o.token);
  if (!o.api_key.empty()) ctx.AddMetadata("authorization", "Bearer " + o.api_key);
}

std::unique_ptr<grpc::ClientContext> SetupContext(const Options& o) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  AddAuth(*ctx, o);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return ctx;
}

[[noreturn]] void Fail(const std::string& what, const grpc::Status& status) {
  std::cerr << "loyalty-bench: " << what << ": " << StatusCodeName(status.error_code()) << " "
            << status.error_message() << "\n";
  std::exit(1);
}

std::vector<std::string> SeedCustomers(const Options& o, const std::string& nonce) {
  const std::string target = o.customers_target.empty() ? o.target : o.customers_target;
  auto stub = cv1::CustomersService::NewStub(Channel(target, 100));
  std::vector<std::string> ids;
  for (int i = 0; i < o.customers; ++i) {
    cv1::RegisterCustomerRequest r;
    r.set_store_id(o.store);
    r.set_request_id("bench-" + nonce + "-" + std::to_string(i));
    r.set_email("bench-" + nonce + "-" + std::to_string(i) + "@example.com");
    r.set_name("Bench Customer " + std::to_string(i));
    cv1::RegisterCustomerResponse response;
    const auto status = stub->RegisterCustomer(SetupContext(o).get(), r, &response);
    if (!status.ok()) Fail("RegisterCustomer", status);
    ids.push_back(response.customer().customer_id());
  }
  std::cerr << "seeded " << ids.size() << " customers\n";
  return ids;
}

// Earn rules for the store (1 point per unit), so that orders placed straight on the orders
// service earn points as storefront orders do. Idempotent: one request id per store.
void PublishEarnRules(const Options& o) {
  auto stub = pv1::PointsService::NewStub(Channel(o.points_target, 100));
  pv1::PublishEarnRulesRequest r;
  r.set_store_id(o.store);
  r.set_request_id("bench-rules-" + o.store);
  r.mutable_rules()->set_base_rate(1);
  pv1::PublishEarnRulesResponse response;
  const auto status = stub->PublishEarnRules(SetupContext(o).get(), r, &response);
  if (!status.ok()) Fail("PublishEarnRules", status);
}

void SeedProducts(const Options& o) {
  auto stub = rv1::RecommendationsService::NewStub(Channel(o.target, 100));
  for (int from = 0; from < o.products; from += 1000) {
    rv1::UpsertProductsRequest r;
    r.set_store_id(o.store);
    r.set_request_id("bench-catalogue-" + std::to_string(o.products) + "-" + std::to_string(from));
    for (int i = from; i < std::min(o.products, from + 1000); ++i) {
      loyalty::bench::DescribeProduct(i, r.add_products());
    }
    rv1::UpsertProductsResponse response;
    const auto status = stub->UpsertProducts(SetupContext(o).get(), r, &response);
    if (!status.ok()) Fail("UpsertProducts", status);
  }
  std::cerr << "seeded " << o.products << " products\n";
}

int DrawProduct(const Options& o, std::mt19937_64& rng) {
  return loyalty::bench::DrawProduct(o.products, rng);
}

ov1::PlaceOrderRequest Order(const Options& o, const std::string& order_id,
                             const std::string& customer_id, std::mt19937_64& rng) {
  ov1::PlaceOrderRequest r;
  r.set_store_id(o.store);
  r.set_order_id(order_id);
  r.set_customer_id(customer_id);
  r.set_currency_code("EUR");
  r.set_store_currency_code("EUR");
  int n = 0;
  for (const int p : loyalty::bench::DrawDistinct(o.products, o.lines, rng)) {
    auto* line = r.add_lines();
    line->set_line_id("l" + std::to_string(++n));
    line->set_sku(Sku(p));
    line->set_category(Category(p));
    line->set_unit_price_minor(PriceMinor(p));
    line->set_quantity(1 + static_cast<int>(rng() % 3));
  }
  r.set_shipping_fee_minor(490);
  return r;
}

// A storefront cart of --lines distinct products; one cart in four pays with some points.
gv1::Cart Cart(const Options& o, const std::string& customer_id, std::mt19937_64& rng) {
  gv1::Cart cart;
  cart.set_customer_id(customer_id);
  int n = 0;
  for (const int p : loyalty::bench::DrawDistinct(o.products, o.lines, rng)) {
    auto* line = cart.add_lines();
    line->set_line_id("l" + std::to_string(++n));
    line->set_sku(Sku(p));
    line->set_category(Category(p));
    line->set_unit_price_minor(PriceMinor(p));
    line->set_quantity(1 + static_cast<int>(rng() % 3));
    line->set_gift_wrappable(GiftWrappable(p));
  }
  cart.set_shipping_fee_minor(490);
  if (rng() % 4 == 0) cart.set_points_to_redeem(100);
  return cart;
}

struct Workload {
  std::string method;  // gRPC path; empty for pk-select and HTTP workloads
  std::string http_path;  // POST path on --http; the bodies are then proto3 JSON
  std::string bearer;  // the API key the calls carry (gateway workloads seed their own store)
  Maker make;
  std::vector<std::string> stream_names{"all"};
};

Workload MakeWorkload(const Options& o) {
  Workload w;
  const std::string nonce = RunNonce();
  if (o.workload == "echo") {
    w.method = "/loyalty.bench.v1.EchoService/Echo";
    const std::string payload(static_cast<size_t>(o.payload_bytes), 'x');
    w.make = [o, payload](uint64_t, std::mt19937_64& rng) {
      bv1::EchoRequest r;
      r.set_store_id(o.store);
      r.set_payload(payload);
      r.set_key(static_cast<int64_t>(rng() % 10000) + 1);
      return Request{r.SerializeAsString(), 0};
    };
  } else if (o.workload == "pk-select") {
    w.make = [](uint64_t, std::mt19937_64& rng) {
      return Request{std::to_string(rng() % 10000 + 1), 0};
    };
  } else if (o.workload == "place-order" || o.workload == "place-order-replay") {
    w.method = "/loyalty.orders.v1.OrdersService/PlaceOrder";
    if (!o.points_target.empty()) PublishEarnRules(o);
    auto customers = std::make_shared<std::vector<std::string>>(SeedCustomers(o, nonce));
    auto pool = std::make_shared<std::vector<std::string>>();
    if (o.workload == "place-order-replay") {
      // Place the orders to replay, one by one, before the clock starts.
      auto stub = ov1::OrdersService::NewStub(Channel(o.target, 100));
      std::mt19937_64 rng(o.seed + 99);
      for (int i = 0; i < o.replay_pool; ++i) {
        const auto r = Order(o, "bench-" + nonce + "-replayed-" + std::to_string(i),
                             (*customers)[static_cast<size_t>(i) % customers->size()], rng);
        ov1::PlaceOrderResponse response;
        const auto status = stub->PlaceOrder(SetupContext(o).get(), r, &response);
        if (!status.ok()) Fail("PlaceOrder (replay pool)", status);
        pool->push_back(r.SerializeAsString());
      }
      std::cerr << "placed " << pool->size() << " orders to replay\n";
      w.stream_names = {"fresh", "replayed"};
    }
    w.make = [o, nonce, customers, pool](uint64_t i, std::mt19937_64& rng) {
      if (!pool->empty() && i % 2 == 1) return Request{(*pool)[(i / 2) % pool->size()], 1};
      const auto& customer = (*customers)[rng() % customers->size()];
      return Request{
          Order(o, "bench-" + nonce + "-" + std::to_string(i), customer, rng).SerializeAsString(),
          0};
    };
  } else if (o.workload == "recommend-product") {
    w.method = "/loyalty.recommendations.v1.RecommendationsService/RecommendForProduct";
    SeedProducts(o);
    w.make = [o](uint64_t, std::mt19937_64& rng) {
      rv1::RecommendForProductRequest r;
      r.set_store_id(o.store);
      r.set_sku(Sku(DrawProduct(o, rng)));
      r.set_limit(10);
      return Request{r.SerializeAsString(), 0};
    };
  } else if (o.workload == "recommend-cart") {
    w.method = "/loyalty.recommendations.v1.RecommendationsService/RecommendForCart";
    SeedProducts(o);
    w.make = [o](uint64_t, std::mt19937_64& rng) {
      rv1::RecommendForCartRequest r;
      r.set_store_id(o.store);
      for (int l = 0; l < 3; ++l) {
        auto* line = r.add_lines();
        line->set_sku(Sku(DrawProduct(o, rng)));
        line->set_quantity(1);
      }
      r.set_free_shipping_missing_minor(static_cast<int64_t>(rng() % 3000));
      r.set_limit(5);
      return Request{r.SerializeAsString(), 0};
    };
  } else if (o.workload == "quote-cart" || o.workload == "gateway-place-order" ||
             o.workload == "loyalty-status") {
    loyalty::bench::GatewaySeedPlan plan;
    plan.target = o.target;
    plan.operator_token = o.operator_token;
    plan.name = "loyalty-bench " + o.label + " " + nonce;
    plan.products = o.products;
    plan.customers = o.customers;
    plan.rules = o.rules;
    plan.history_orders = o.history_orders;
    plan.webhook_url = o.webhook_url;
    const auto seed = std::make_shared<loyalty::bench::GatewaySeed>(SeedGatewayStore(plan));
    w.bearer = seed->storefront_key;
    auto customer = [seed](std::mt19937_64& rng) -> const std::string& {
      return seed->customer_ids[rng() % seed->customer_ids.size()];
    };
    if (o.workload == "quote-cart") {
      const bool http = !o.http.empty();
      if (http) {
        w.http_path = "/v1/carts:quote";
      } else {
        w.method = "/loyalty.gateway.v1.StorefrontService/QuoteCart";
      }
      w.make = [o, customer, http](uint64_t, std::mt19937_64& rng) {
        gv1::QuoteCartRequest r;
        *r.mutable_cart() = Cart(o, customer(rng), rng);
        if (!http) return Request{r.SerializeAsString(), 0};
        Request json{"", 0};
        (void)google::protobuf::util::MessageToJsonString(r, &json.body);
        return json;
      };
    } else if (o.workload == "gateway-place-order") {
      w.method = "/loyalty.gateway.v1.StorefrontService/PlaceOrder";
      w.make = [o, nonce, customer](uint64_t i, std::mt19937_64& rng) {
        gv1::PlaceOrderRequest r;
        r.set_order_id("bench-" + nonce + "-" + std::to_string(i));
        *r.mutable_cart() = Cart(o, customer(rng), rng);
        return Request{r.SerializeAsString(), 0};
      };
    } else {
      w.method = "/loyalty.gateway.v1.StorefrontService/GetLoyaltyStatus";
      w.make = [customer](uint64_t, std::mt19937_64& rng) {
        gv1::GetLoyaltyStatusRequest r;
        r.set_customer_id(customer(rng));
        return Request{r.SerializeAsString(), 0};
      };
    }
  } else {
    Usage("unknown workload " + o.workload);
  }
  return w;
}

// ---- The open loop ----

struct InFlight {
  std::atomic<long> now{0};
  std::atomic<long> max{0};
  void Begin() {
    const long n = ++now;
    long seen = max.load();
    while (n > seen && !max.compare_exchange_weak(seen, n)) {
    }
  }
  void End() { --now; }
};

// Calls fire(i, intended) for every request due in [start, end), from `threads` threads, each
// sleeping until its next intended time. Returns the worst lateness of a send.
double Schedule(double rate, Steady::time_point start, Steady::time_point end, int threads,
                const std::function<void(uint64_t, Steady::time_point, int)>& fire) {
  std::atomic<int64_t> worst_lag_ns{0};
  std::vector<std::thread> senders;
  const double period_ns = 1e9 / rate;
  for (int t = 0; t < threads; ++t) {
    senders.emplace_back([&, t] {
      int64_t lag_max = 0;
      for (uint64_t i = static_cast<uint64_t>(t);; i += static_cast<uint64_t>(threads)) {
        const auto intended =
            start + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(i) * period_ns));
        if (intended >= end) break;
        auto now = Steady::now();
        if (now < intended) {
          std::this_thread::sleep_until(intended);
        } else {
          lag_max = std::max<int64_t>(lag_max, (now - intended).count());
        }
        fire(i, intended, t);
      }
      int64_t seen = worst_lag_ns.load();
      while (lag_max > seen && !worst_lag_ns.compare_exchange_weak(seen, lag_max)) {
      }
    });
  }
  for (auto& s : senders) s.join();
  return static_cast<double>(worst_lag_ns.load()) / 1e6;
}

class Runner {
 public:
  Runner(const Options& o, Workload w) : o_(o), w_(std::move(w)) {
    if (!w_.method.empty()) {
      for (int c = 0; c < o_.connections; ++c) {
        stubs_.push_back(std::make_unique<grpc::GenericStub>(Channel(o_.target, c)));
      }
    }
  }

  RunResult Run(double rate, double warmup, double seconds) {
    RunResult result;
    result.rate = rate;
    result.measured_seconds = seconds;
    for (size_t k = 0; k < w_.stream_names.size(); ++k) {
      result.streams.push_back(std::make_unique<Stream>());
    }
    InFlight in_flight;
    std::atomic<uint64_t> sent{0};
    const double cpu_before = CpuSeconds();
    const auto start = Steady::now() + std::chrono::milliseconds(50);
    const auto measure_from = start + std::chrono::microseconds(static_cast<int64_t>(warmup * 1e6));
    const auto end = measure_from + std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
    const auto measure_until = end;
    std::vector<std::mt19937_64> rngs;
    for (int t = 0; t < o_.threads; ++t) rngs.emplace_back(o_.seed + static_cast<uint64_t>(t) * 7919 + run_++);

    auto finish = [&result, measure_from, measure_until, &in_flight](
                      int kind, Steady::time_point intended, int code) {
      auto& s = *result.streams[static_cast<size_t>(kind)];
      const auto now = Steady::now();
      if (intended >= measure_from) {
        s.latency.Record(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(now - intended).count()));
        s.codes[static_cast<size_t>(code < 0 || code > 16 ? 2 : code)].fetch_add(1);
        if (code == 0 && now <= measure_until) s.ok_in_window.fetch_add(1);  // answered in time
      }
      in_flight.End();
    };

    // Request numbers go on across runs (find-max): order ids never repeat within an invocation.
    const uint64_t base = base_;
    if (!w_.http_path.empty()) {
      RunBlocking(HttpCaller(), rate, start, end, rngs, result, in_flight, sent, finish);
    } else if (w_.method.empty()) {
      RunBlocking(SqlCaller(), rate, start, end, rngs, result, in_flight, sent, finish);
    } else {
      result.max_sender_lag_ms = Schedule(
          rate, start, end, o_.threads,
          [&](uint64_t i, Steady::time_point intended, int t) {
            struct Call {
              grpc::ClientContext ctx;
              grpc::ByteBuffer request;
              grpc::ByteBuffer response;
            };
            auto req = w_.make(base + i, rngs[static_cast<size_t>(t)]);
            auto* call = new Call;
            AddAuth(call->ctx, o_);
            if (!w_.bearer.empty()) call->ctx.AddMetadata("authorization", "Bearer " + w_.bearer);
            call->ctx.set_deadline(std::chrono::system_clock::now() +
                                   std::chrono::milliseconds(o_.timeout_ms));
            grpc::Slice slice(req.body);
            call->request = grpc::ByteBuffer(&slice, 1);
            in_flight.Begin();
            ++sent;
            const int kind = req.kind;
            stubs_[i % stubs_.size()]->UnaryCall(
                &call->ctx, w_.method, grpc::StubOptions(), &call->request, &call->response,
                [call, kind, intended, &finish](grpc::Status status) {
                  finish(kind, intended, status.error_code());
                  delete call;
                });
          });
    }
    // Let the calls still in flight finish (each has its deadline).
    const auto drain_until = Steady::now() + std::chrono::milliseconds(o_.timeout_ms + 2000);
    while (in_flight.now.load() > 0 && Steady::now() < drain_until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    result.unfinished = static_cast<uint64_t>(std::max<long>(0, in_flight.now.load()));
    if (result.unfinished > 0) {
      // The result refers to in_flight and the streams; never return while callbacks may run.
      std::cerr << "loyalty-bench: " << result.unfinished << " calls never finished\n";
      std::fflush(nullptr);
      std::_Exit(1);
    }
    result.sent = sent.load();
    base_ += result.sent + 2;  // even, so place-order-replay keeps alternating fresh and replayed
    base_ += base_ % 2;
    result.max_in_flight = in_flight.max.load();
    result.cpu_us_per_call =
        result.sent == 0 ? 0 : (CpuSeconds() - cpu_before) * 1e6 / static_cast<double>(result.sent);
    return result;
  }

 private:
  // A blocking call on one connection: body in, gRPC status code out. One per worker thread.
  using BlockingCall = std::function<int(const std::string& body)>;
  using CallFactory = std::function<BlockingCall()>;

  // The leaf's prepared primary-key SELECT on its own connection (pk-select).
  CallFactory SqlCaller() const {
    return [this] {
      auto conn = std::make_shared<pqxx::connection>(o_.db);
      conn->prepare("bench_item_by_id",
                    "SELECT value, name FROM bench_echo.items WHERE store_id = $1 AND item_id = $2");
      return BlockingCall([this, conn](const std::string& body) {
        try {
          pqxx::nontransaction tx(*conn);
          tx.exec_prepared1("bench_item_by_id", o_.store, std::stol(body));
          return 0;
        } catch (const std::exception&) {
          return 2;
        }
      });
    };
  }

  // A JSON POST on one keep-alive HTTP/1.1 connection to the gateway's HTTP front.
  CallFactory HttpCaller() const {
    return [this] {
      const auto colon = o_.http.rfind(':');
      auto client = std::make_shared<httplib::Client>(o_.http.substr(0, colon),
                                                      std::stoi(o_.http.substr(colon + 1)));
      client->set_keep_alive(true);
      client->set_tcp_nodelay(true);  // as a storefront's HTTP client would (curl does)
      client->set_read_timeout(std::chrono::milliseconds(o_.timeout_ms));
      client->set_bearer_token_auth(w_.bearer);
      return BlockingCall([this, client](const std::string& body) {
        const auto res = client->Post(w_.http_path, body, "application/json");
        if (!res) return 14;  // UNAVAILABLE: no answer
        switch (res->status) {
          case 200: return 0;
          case 400: return 3;
          case 429: return 8;
          case 503: return 14;
          case 504: return 4;
          default: return 2;
        }
      });
    };
  }

  // Open loop over blocking clients: the scheduler queues each request at its intended time and
  // o_.connections workers, each with its own connection, take them in order.
  template <class Finish>
  void RunBlocking(const CallFactory& make_call, double rate, Steady::time_point start,
                   Steady::time_point end, std::vector<std::mt19937_64>& rngs, RunResult& result,
                   InFlight& in_flight, std::atomic<uint64_t>& sent, Finish& finish) {
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<std::pair<Steady::time_point, std::string>> queue;
    bool done = false;
    std::vector<std::thread> workers;
    for (int c = 0; c < o_.connections; ++c) {
      workers.emplace_back([&] {
        const BlockingCall call = make_call();
        for (;;) {
          std::pair<Steady::time_point, std::string> job;
          {
            std::unique_lock lock(mutex);
            cv.wait(lock, [&] { return done || !queue.empty(); });
            if (queue.empty()) return;
            job = std::move(queue.front());
            queue.pop_front();
          }
          finish(0, job.first, call(job.second));
        }
      });
    }
    result.max_sender_lag_ms =
        Schedule(rate, start, end, o_.threads, [&](uint64_t i, Steady::time_point intended, int t) {
          auto req = w_.make(base_ + i, rngs[static_cast<size_t>(t)]);
          in_flight.Begin();
          ++sent;
          std::lock_guard lock(mutex);
          queue.emplace_back(intended, std::move(req.body));
          cv.notify_one();
        });
    {
      std::lock_guard lock(mutex);
      done = true;
      cv.notify_all();
    }
    for (auto& t : workers) t.join();
  }

  const Options& o_;
  Workload w_;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;
  uint64_t run_ = 0;
  uint64_t base_ = 0;
};

// A run passes when every measured call succeeded, p99 is within the bound, the sender kept to
// its schedule and the calls that succeeded in the window kept up with the rate.
bool Passes(const Options& o, const RunResult& r) {
  for (const auto& s : r.streams) {
    if (s->latency.count() == 0 || Errors(*s) > 0) return false;
    if (s->latency.PercentileMs(0.99) > o.p99_ms) return false;
  }
  return r.max_sender_lag_ms < std::max(5.0, o.p99_ms);
}

void Print(const Options& o, const std::string& mode, const RunResult& r) {
  for (size_t k = 0; k < r.streams.size(); ++k) {
    const auto& s = *r.streams[k];
    const std::string name = r.streams.size() > 1 ? o.label + "." + std::to_string(k) : o.label;
    std::ostringstream codes;
    bool first = true;
    for (size_t c = 0; c < s.codes.size(); ++c) {
      if (s.codes[c].load() == 0) continue;
      codes << (first ? "" : ",") << StatusCodeName(static_cast<int>(c)) << ":" << s.codes[c].load();
      first = false;
    }
    std::cout << "RESULT label=" << name << " mode=" << mode << " rate=" << Fixed(r.rate, 1)
              << " seconds=" << Fixed(r.measured_seconds, 1) << " samples=" << s.latency.count()
              << " ok_per_s=" << Fixed(static_cast<double>(s.ok_in_window.load()) / r.measured_seconds, 1)
              << " errors=" << Errors(s) << " p50=" << Fixed(s.latency.PercentileMs(0.50))
              << " p90=" << Fixed(s.latency.PercentileMs(0.90))
              << " p99=" << Fixed(s.latency.PercentileMs(0.99))
              << " p999=" << Fixed(s.latency.PercentileMs(0.999)) << " max=" << Fixed(s.latency.MaxMs())
              << " max_in_flight=" << r.max_in_flight << " sender_lag_ms=" << Fixed(r.max_sender_lag_ms)
              << " cpu_us_per_call=" << Fixed(r.cpu_us_per_call, 1)
              << " codes=" << (first ? "none" : codes.str()) << "\n";
  }
  std::cout << std::flush;
}

void Progress(const Options& o, const RunResult& r, bool pass) {
  const auto& s = *r.streams[0];
  std::cerr << o.label << " @ " << Fixed(r.rate, 0) << "/s: p50 " << Fixed(s.latency.PercentileMs(0.5))
            << " p99 " << Fixed(s.latency.PercentileMs(0.99)) << " ms, errors " << Errors(s)
            << ", sender lag " << Fixed(r.max_sender_lag_ms) << " ms, max in flight "
            << r.max_in_flight << (pass ? "  pass" : "  FAIL") << "\n";
}

int WriteEchoBody(const Options& o) {
  bv1::EchoRequest r;
  r.set_store_id(o.store);
  r.set_payload(std::string(static_cast<size_t>(o.payload_bytes), 'x'));
  r.set_key(1);
  const std::string msg = r.SerializeAsString();
  std::string frame(5, '\0');
  const auto n = static_cast<uint32_t>(msg.size());
  frame[1] = static_cast<char>((n >> 24) & 0xff);
  frame[2] = static_cast<char>((n >> 16) & 0xff);
  frame[3] = static_cast<char>((n >> 8) & 0xff);
  frame[4] = static_cast<char>(n & 0xff);
  std::ofstream out(o.write_echo_body, std::ios::binary);
  out << frame << msg;
  return out ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  if (!o.write_echo_body.empty()) return WriteEchoBody(o);
  Workload workload;
  try {
    workload = MakeWorkload(o);
  } catch (const std::exception& e) {
    std::cerr << "loyalty-bench: seeding failed: " << e.what() << "\n";
    return 1;
  }
  Runner runner(o, std::move(workload));
  if (!o.before_load.empty() && std::system(o.before_load.c_str()) != 0) {
    std::cerr << "loyalty-bench: --before-load command failed\n";
    return 1;
  }
  if (!o.find_max) {
    const auto r = runner.Run(o.rate, o.warmup, o.seconds);
    Progress(o, r, Passes(o, r));
    Print(o, "fixed", r);
    return 0;
  }
  // Find the highest passing rate: double from --start-rate until a run fails, then bisect.
  double good = 0, bad = 0;
  std::unique_ptr<RunResult> best;
  auto attempt = [&](double rate) {
    auto r = std::make_unique<RunResult>(runner.Run(rate, o.warmup, o.step_seconds));
    const bool pass = Passes(o, *r);
    Progress(o, *r, pass);
    if (pass) {
      good = rate;
      best = std::move(r);
    } else {
      bad = rate;
    }
    return pass;
  };
  int steps = 0;
  for (double rate = o.start_rate; rate <= o.max_rate && steps < o.max_steps; rate *= 2) {
    ++steps;
    if (!attempt(rate)) break;
  }
  while (bad > 0 && steps < o.max_steps && bad - good > std::max(1.0, 0.05 * good)) {
    ++steps;
    attempt(std::round((good + bad) / 2));
  }
  if (!best) {
    std::cout << "RESULT label=" << o.label << " mode=max rate=0 p99_bound=" << Fixed(o.p99_ms, 1)
              << " note=even_the_start_rate_failed\n";
    return 0;
  }
  std::cout << "MAX label=" << o.label << " rate=" << Fixed(good, 1) << " p99_bound="
            << Fixed(o.p99_ms, 1) << " first_failing=" << Fixed(bad, 1) << "\n";
  Print(o, "max", *best);
  return 0;
}
