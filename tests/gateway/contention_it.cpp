// Serialization failures and deadlocks (40001/40P01) under contention never reach a client as
// INTERNAL: the whole stack runs on a database whose every transaction is SERIALIZABLE (libpqxx
// begins read-committed work with a plain BEGIN, so the database default applies), and many
// callers change one customer's points at once. Postgres then refuses real transactions; each
// is retried (loyalty_db_conflicts_total counts them), or answered ABORTED CONCURRENT_UPDATE,
// which a client retries with the same request id. Prints its figures.
#include <pqxx/pqxx>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "gateway_fixture.hpp"
#include "loyalty/common/metrics.hpp"
#include "scrape.hpp"

namespace loyalty::gateway {
namespace {

class ContentionIT : public GatewayIT {
 protected:
  ContentionIT() {
    pqxx::connection conn(db_.url());
    pqxx::nontransaction tx(conn);
    tx.exec(
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_isolation "
        "TO serializable', current_database()); END $$");
  }

  // The points service again, on its port, now with /metrics.
  int RestartPointsWithMetrics() {
    const int metrics = testing::FreePort();
    const int port = points_->port();
    EXPECT_EQ(points_->Terminate(), 0);
    points_ = std::make_unique<testing::ServiceProcess>(
        "points", DatabaseUrl(),
        Env{{"LOYALTY_GRPC_PORT", std::to_string(port)},
            {"LOYALTY_ORDERS_ADDR", orders_addr_},
            {"LOYALTY_JOB_INTERVAL_SECONDS", "86400"},
            {"LOYALTY_METRICS_PORT", std::to_string(metrics)}});
    WaitHealthy("127.0.0.1:" + std::to_string(port));  // the port is ours, not the process's
    return metrics;
  }

  struct Outcomes {
    std::mutex mutex;
    std::map<std::string, int> seen;  // code and reason of every answer, retries included
    int gave_up = 0;                  // calls still failing after 20 tries
    void Count(const grpc::Status& status) {
      std::lock_guard lock(mutex);
      ++seen[status.ok() ? std::string("OK")
                         : common::StatusCodeName(status.error_code()) + std::string(" ") +
                               common::ErrorReason(status)];
    }
  };

  // Calls `call` until it succeeds, retrying ABORTED (the documented retryable conflict) with
  // the same request; counts every answer.
  template <class Call>
  void UntilDone(Outcomes& outcomes, Call call) {
    for (int attempt = 1; attempt <= 20; ++attempt) {
      const auto status = call();
      outcomes.Count(status);
      if (status.ok()) return;
      if (status.error_code() != grpc::StatusCode::ABORTED) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5 * attempt));
    }
    std::lock_guard lock(outcomes.mutex);
    ++outcomes.gave_up;
  }
};

TEST_F(ContentionIT, SerializationFailuresAreRetriedOrAbortedNeverInternal) {
  const int points_metrics = RestartPointsWithMetrics();
  auto s = CreateStore("contention");
  SetUpProgram(s);
  s.storefront = CreateKey(s.owner, v1::KEY_KIND_STOREFRONT, v1::ROLE_UNSPECIFIED, 5000);
  const auto customer = Register(s, "ct@example.com");
  Adjust(s, customer, 1000);

  constexpr int kAdjusters = 6, kAdjustments = 20, kShoppers = 2, kOrders = 10;
  Outcomes outcomes;
  std::vector<std::thread> threads;
  for (int t = 0; t < kAdjusters; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAdjustments; ++i) {
        v1::AdjustPointsRequest req;
        req.set_request_id("c-" + std::to_string(t) + "-" + std::to_string(i));
        req.set_customer_id(customer);
        req.set_points(1);
        req.set_reason("contention");
        UntilDone(outcomes, [&] {
          v1::AdjustPointsResponse resp;
          return admin_->AdjustPoints(Ctx(s.owner).get(), req, &resp);
        });
      }
    });
  }
  for (int t = 0; t < kShoppers; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOrders; ++i) {
        v1::PlaceOrderRequest order;
        order.set_order_id("ct-" + std::to_string(t) + "-" + std::to_string(i));
        *order.mutable_cart() = TwoLineCart(customer, 10);  // pays 10 points: a hold
        UntilDone(outcomes, [&] {
          v1::PlaceOrderResponse resp;
          return storefront_->PlaceOrder(Ctx(s.storefront, 10s).get(), order, &resp);
        });
      }
    });
  }
  for (auto& t : threads) t.join();

  const double conflicts = Metric(points_metrics, "loyalty_db_conflicts_total");
  std::printf("contention: %d adjustments and %d orders paying points on one customer, every "
              "transaction SERIALIZABLE; points retried %.0f conflicts (40001/40P01)\n",
              kAdjusters * kAdjustments, kShoppers * kOrders, conflicts);
  for (const auto& [answer, n] : outcomes.seen) std::printf("  answer %s: %d\n", answer.c_str(), n);

  EXPECT_GT(conflicts, 0) << "no conflict was forced: the test proves nothing";
  EXPECT_EQ(outcomes.gave_up, 0);
  for (const auto& [answer, n] : outcomes.seen) {
    EXPECT_TRUE(answer == "OK" || answer == "ABORTED CONCURRENT_UPDATE") << answer << ": " << n;
  }
  // Exactly once each: 1000 + 120 adjustments - 20 orders × 10 points.
  const int64_t want = 1000 + kAdjusters * kAdjustments - kShoppers * kOrders * 10;
  EXPECT_TRUE(Eventually([&] { return Status(s, customer).balance().available() == want; }))
      << "available " << Status(s, customer).balance().available() << ", want " << want;
}

}  // namespace
}  // namespace loyalty::gateway
