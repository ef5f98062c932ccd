// Restarts under steady storefront load: every service in turn gets SIGTERM (a rollout), or
// orders and points are killed with SIGKILL (a crash), while quotes and orders flow. A storefront
// that retries once (with wait-for-ready, the same order id) sees no error, and nothing is lost
// or earned twice. Prints its figures.
#include <pqxx/pqxx>

#include <atomic>
#include <functional>
#include <tuple>
#include <cstdio>
#include <mutex>

#include "gateway_fixture.hpp"
#include "loyalty/common/metrics.hpp"

namespace loyalty::gateway {
namespace {

struct LoadFigures {
  std::atomic<int> calls{0};
  std::atomic<int> first_failures{0};
  std::atomic<int> cancelled{0};  // CANCELLED on any attempt
  std::atomic<int> errors_after_retry{0};
  std::atomic<int> orders_placed{0};
  std::mutex mutex;
  std::map<std::string, int> first_failure_reasons;
  std::map<std::string, int> retry_failure_reasons;
  std::vector<std::string> acknowledged_orders;

  void Print() {
    for (const auto& [reason, n] : first_failure_reasons) {
      std::printf("  first-try failure %s: %d\n", reason.c_str(), n);
    }
    for (const auto& [reason, n] : retry_failure_reasons) {
      std::printf("  failure after one retry %s: %d\n", reason.c_str(), n);
    }
  }
};

std::string CodeAndReason(const grpc::Status& status) {
  return common::StatusCodeName(status.error_code()) + std::string(" ") +
         common::ErrorReason(status);
}

class RollingRestartIT : public GatewayIT {
 protected:
  // One storefront call, retried once the way our docs tell storefronts to: after a backoff, with
  // wait for ready, the same request (the order id is the idempotency key).
  template <class Call>
  bool CallWithOneRetry(LoadFigures& figures, Call call) {
    ++figures.calls;
    auto first = call(false);
    if (first.ok()) return true;
    ++figures.first_failures;
    if (first.error_code() == grpc::StatusCode::CANCELLED) ++figures.cancelled;
    {
      std::lock_guard lock(figures.mutex);
      ++figures.first_failure_reasons[CodeAndReason(first)];
    }
    std::this_thread::sleep_for(50ms);
    auto second = call(true);
    if (second.ok()) return true;
    if (second.error_code() == grpc::StatusCode::CANCELLED) ++figures.cancelled;
    ++figures.errors_after_retry;
    std::lock_guard lock(figures.mutex);
    ++figures.retry_failure_reasons[CodeAndReason(second)];
    return false;
  }

  void Load(const TestStore& s, const std::string& customer, int worker, LoadFigures& figures,
            const std::atomic<bool>& stop, std::chrono::milliseconds pause = 100ms) {
    v1::QuoteCartRequest quote;
    *quote.mutable_cart() = TwoLineCart(customer, 0);
    for (int i = 0; !stop; ++i) {
      const auto ctx = [&](bool wait) {
        auto c = Ctx(s.storefront, 5s);
        c->set_wait_for_ready(wait);
        return c;
      };
      CallWithOneRetry(figures, [&](bool wait) {
        v1::QuoteCartResponse q;
        return storefront_->QuoteCart(ctx(wait).get(), quote, &q);
      });
      v1::PlaceOrderRequest order;
      order.set_order_id("o-" + std::to_string(worker) + "-" + std::to_string(i));
      *order.mutable_cart() = TwoLineCart(customer, 0);
      const bool placed = CallWithOneRetry(figures, [&](bool wait) {
        v1::PlaceOrderResponse r;
        return storefront_->PlaceOrder(ctx(wait).get(), order, &r);
      });
      if (placed) {
        ++figures.orders_placed;
        std::lock_guard lock(figures.mutex);
        figures.acknowledged_orders.push_back(order.order_id());
      }
      std::this_thread::sleep_for(pause);  // 100 ms: ~10 calls/s per worker
    }
  }

  // Runs `during()` while `workers` storefronts each place an order and quote a cart every
  // `pause`; returns when they have all stopped.
  void UnderLoad(const TestStore& s, const std::string& customer, int workers,
                 std::chrono::milliseconds pause, LoadFigures& figures,
                 const std::function<void()>& during) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([&, w] { Load(s, customer, w, figures, stop, pause); });
    }
    during();
    stop = true;
    for (auto& t : threads) t.join();
  }

  void Restart(const std::string& name, testing::ServiceProcess& service,
               const std::string& address) {
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(service.Terminate(), 0) << name << " did not drain cleanly";
    service.Start();
    WaitHealthy(address);
    std::printf("restarted %-15s in %4lld ms\n", name.c_str(),
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - started)
                                           .count()));
  }
};

TEST_F(RollingRestartIT, EveryServiceRestartsUnderLoadWithoutAClientError) {
  const auto s = CreateStore("rolling");
  SetUpProgram(s);
  const auto customer = Register(s, "rr@example.com");

  LoadFigures figures;
  UnderLoad(s, customer, 2, 100ms, figures, [&] {
    const std::vector<std::tuple<std::string, testing::ServiceProcess*, std::string>> services = {
        {"customers", customers_.get(), customers_->address()},
        {"recommendations", recs_.get(), recs_addr_},
        {"points", points_.get(), points_->address()},
        {"orders", orders_.get(), orders_addr_},
        {"checkout", checkout_.get(), checkout_->address()},
        {"gateway", gateway_.get(), gateway_->address()}};
    for (const auto& [name, service, address] : services) {
      std::this_thread::sleep_for(1s);
      Restart(name, *service, address);
    }
    std::this_thread::sleep_for(1s);
  });

  std::printf("rolling restart: %d calls, %d failed at the first try, %d errors after one retry, "
              "%d CANCELLED, %d orders placed\n",
              figures.calls.load(), figures.first_failures.load(),
              figures.errors_after_retry.load(), figures.cancelled.load(),
              figures.orders_placed.load());
  figures.Print();
  EXPECT_GT(figures.calls.load(), 100);
  EXPECT_EQ(figures.errors_after_retry.load(), 0);
  // A draining service refuses with UNAVAILABLE (common/src/server.cpp, Drain; pinned down by
  // ResilienceIT.AStoppingGateway...). A CANCELLED is left only for a call that crosses the
  // closing gateway's GOAWAY on the wire, a window of one loopback round trip: gRPC 1.51 drops
  // every call that starts after its shutdown began (server.cc, StartNewRpc). A storefront
  // retries that one (docs/operations.md); there is one gateway restart here, so at most one.
  EXPECT_LE(figures.cancelled.load(), 1);
  // Every order placed earns once: 50 points each, none lost across the restarts, none twice.
  const int64_t want = 50 * int64_t{figures.orders_placed.load()};
  EXPECT_TRUE(Eventually([&] { return Status(s, customer).balance().pending() == want; }))
      << "pending " << Status(s, customer).balance().pending() << ", want " << want;
}

TEST_F(RollingRestartIT, OrdersAndPointsKilledMidLoadLoseNothingAndEarnOnce) {
  auto s = CreateStore("crashes");
  SetUpProgram(s);
  // Faster than a storefront key's default 100 calls/s.
  s.storefront = CreateKey(s.owner, v1::KEY_KIND_STOREFRONT, v1::ROLE_UNSPECIFIED, 5000);
  const auto customer = Register(s, "kn@example.com");

  LoadFigures figures;
  UnderLoad(s, customer, 4, 10ms, figures, [&] {
    for (auto* crashed : {orders_.get(), points_.get(), orders_.get()}) {
      std::this_thread::sleep_for(1500ms);
      crashed->Kill();
      crashed->Start();
    }
    WaitHealthy(orders_addr_);
    points_->WaitServing();
    std::this_thread::sleep_for(1500ms);
  });

  const int placed = figures.orders_placed.load();
  const int64_t want = 50 * int64_t{placed};
  const bool earned = Eventually([&] { return Status(s, customer).balance().pending() == want; });
  pqxx::connection conn(db_.url());
  pqxx::nontransaction tx(conn);
  const auto count = [&](const char* sql) {
    return tx.exec_params1(sql, s.store_id)[0].as<int>();
  };
  const int recorded = count("SELECT count(*) FROM orders.orders WHERE store_id = $1");
  const int undelivered = count(
      "SELECT count(*) FROM orders.outbox_delivery WHERE state = 'pending' AND store_id = $1");
  std::printf("kill -9 of orders, points, orders: %d calls, %d failed at the first try, %d errors "
              "after one retry; %d orders acknowledged, %d recorded, points pending %lld (want "
              "%lld), %d deliveries still pending\n",
              figures.calls.load(), figures.first_failures.load(),
              figures.errors_after_retry.load(), placed, recorded,
              static_cast<long long>(Status(s, customer).balance().pending()),
              static_cast<long long>(want), undelivered);
  figures.Print();
  EXPECT_GT(placed, 100);
  EXPECT_EQ(figures.errors_after_retry.load(), 0);
  EXPECT_EQ(recorded, placed) << "an acknowledged order is missing, or an unacknowledged one exists";
  EXPECT_TRUE(earned) << "points earned once per order";
  EXPECT_EQ(undelivered, 0);
}

// The whole stack on a Postgres cluster of the test's own, stopped with `-m immediate` (a crash)
// mid-load and started again.
class DatabaseOutageIT : public RollingRestartIT {
 protected:
  DatabaseOutageIT() {
    cluster_.Start();
    url_ = cluster_.url();
  }
  std::string DatabaseUrl() const override { return url_; }

  testing::PgCluster cluster_;
  std::string url_;
};

TEST_F(DatabaseOutageIT, AnImmediateStopLosesNoAcknowledgedOrderAndClientsSeeUnavailable) {
  auto s = CreateStore("db-crash");
  SetUpProgram(s);
  s.storefront = CreateKey(s.owner, v1::KEY_KIND_STOREFRONT, v1::ROLE_UNSPECIFIED, 5000);
  const auto customer = Register(s, "db@example.com");

  LoadFigures figures;
  UnderLoad(s, customer, 2, 10ms, figures, [&] {
    std::this_thread::sleep_for(1500ms);
    cluster_.Stop();
    std::this_thread::sleep_for(2s);
    cluster_.Start();
    std::this_thread::sleep_for(3s);
  });

  pqxx::connection conn(url_);
  pqxx::nontransaction tx(conn);
  int lost = 0;
  for (const auto& id : figures.acknowledged_orders) {
    lost += tx.exec_params1("SELECT count(*) FROM orders.orders WHERE store_id = $1 AND "
                            "order_id = $2",
                            s.store_id, id)[0]
                        .as<int>() == 1
                ? 0
                : 1;
  }
  std::printf("postgres stopped -m immediate for 2 s: %d calls, %d failed at the first try, %d "
              "after one retry; %d orders acknowledged, %d of them lost\n",
              figures.calls.load(), figures.first_failures.load(),
              figures.errors_after_retry.load(), figures.orders_placed.load(), lost);
  figures.Print();
  EXPECT_GT(figures.orders_placed.load(), 100);
  EXPECT_EQ(lost, 0);
  // What clients saw: the service or database is unavailable (retry), never an internal error.
  for (const auto* reasons : {&figures.first_failure_reasons, &figures.retry_failure_reasons}) {
    for (const auto& [reason, n] : *reasons) {
      EXPECT_EQ(reason.rfind("UNAVAILABLE", 0), 0u) << reason << " x" << n;
    }
  }
}

}  // namespace
}  // namespace loyalty::gateway
