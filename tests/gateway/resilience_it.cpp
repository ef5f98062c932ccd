// Failures a storefront must not feel, or must be told about plainly: a service restarting, the
// points service down, a downstream that stalls. All six services run as real processes.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <regex>

#include "gateway_fixture.hpp"
#include "scrape.hpp"
#include "loyalty/common/server.hpp"

namespace loyalty::gateway {
namespace {

using Clock = std::chrono::steady_clock;

class ResilienceIT : public GatewayIT {
 protected:
  // A checkout (and a gateway in front of it) whose metrics the test reads.
  void StartObservedCheckout(Env extra = {}) {
    checkout_metrics_ = testing::FreePort();
    extra["LOYALTY_METRICS_PORT"] = std::to_string(checkout_metrics_);
    observed_checkout_ = StartCheckout(extra);
    observed_checkout_->WaitServing();
    observed_gateway_ = StartGateway({{"LOYALTY_CHECKOUT_ADDR", observed_checkout_->address()}});
    observed_gateway_->WaitServing();
    Connect(observed_gateway_->address());
  }

  int checkout_metrics_ = 0;
  std::unique_ptr<testing::ServiceProcess> observed_checkout_;
  std::unique_ptr<testing::ServiceProcess> observed_gateway_;
};

TEST_F(ResilienceIT, WithPointsDownCheckoutsPayingNoPointsProceedAndEarnWhenItIsBack) {
  StartObservedCheckout();
  const auto s = CreateStore("points-down");
  SetUpProgram(s);
  const auto customer = Register(s, "pd@example.com");
  Adjust(s, customer, 1000);
  v1::PlaceOrderResponse placed;
  ASSERT_TRUE(Place(s, "o-before", TwoLineCart(customer, 0), &placed).ok());

  ASSERT_EQ(points_->Terminate(), 0);
  // Paying no points: the settings kept from the last read price it, the order is recorded and
  // its event waits in the outbox.
  const auto started = Clock::now();
  auto status = Place(s, "o-during", TwoLineCart(customer, 0), &placed);
  const auto took = Clock::now() - started;
  ASSERT_TRUE(status.ok()) << common::ErrorReason(status) << " " << status.error_message();
  EXPECT_EQ(placed.order().total_minor(), 5499);
  EXPECT_LT(took, 3s);
  std::printf("checkout with points down: %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_EQ(Metric(checkout_metrics_,
                   "loyalty_degraded_answers_total{method=\"PlaceOrder\",missing=\"points\"}"),
            1);

  // Paying points needs the ledger: UNAVAILABLE naming the points service, and nothing else.
  v1::PlaceOrderRequest pays;
  pays.set_order_id("o-pays");
  *pays.mutable_cart() = TwoLineCart(customer, 100);
  status = storefront_->PlaceOrder(Ctx(s.storefront, 2s).get(), pays, &placed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(common::ErrorReason(status), "POINTS_UNAVAILABLE");
  EXPECT_EQ(common::ErrorMetadata(status, "service"), "points");
  EXPECT_FALSE(std::regex_search(status.error_message(), std::regex("[0-9]+\\.[0-9]+\\.|ipv|:[0-9]{4}")))
      << status.error_message();

  // Points back: both orders earn, once each (50 points a cart), and the paid one goes through.
  points_->Start();
  points_->WaitServing();
  ASSERT_TRUE(Eventually([&] { return Status(s, customer).balance().pending() == 100; }))
      << Status(s, customer).DebugString();
  // Retried with the same order id as a storefront does: right after an outage the checkout's
  // channel may still be waiting to reconnect, and gRPC's retry throttling (spent during the
  // outage) lets that first call fail UNAVAILABLE.
  ASSERT_TRUE(Eventually([&] {
    status = storefront_->PlaceOrder(Ctx(s.storefront).get(), pays, &placed);
    return status.ok() || status.error_code() != grpc::StatusCode::UNAVAILABLE;
  }));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Status(s, customer).balance().available(), 900);
}

TEST_F(ResilienceIT, AShortDeadlineStillGetsAPartialQuoteWhenRecommendationsStalls) {
  StartObservedCheckout();
  const auto s = CreateStore("stalled");
  SetUpProgram(s);
  const auto customer = Register(s, "st@example.com");
  v1::QuoteCartRequest quote;
  *quote.mutable_cart() = TwoLineCart(customer, 0);
  v1::QuoteCartResponse q;
  ASSERT_TRUE(storefront_->QuoteCart(Ctx(s.storefront).get(), quote, &q).ok());  // warm
  recs_->Signal(SIGSTOP);
  for (const auto deadline : {200ms, 1000ms}) {
    const auto started = Clock::now();
    const auto status = storefront_->QuoteCart(Ctx(s.storefront, deadline).get(), quote, &q);
    const auto took = Clock::now() - started;
    std::printf("deadline %lld ms, recommendations stalled: answered in %lld ms\n",
                static_cast<long long>(deadline.count()),
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
    EXPECT_TRUE(status.ok()) << deadline.count() << " ms: " << status.error_message();
    EXPECT_TRUE(q.partial());
    EXPECT_EQ(q.points_to_earn(), 50);
    EXPECT_LT(took, deadline);
  }
  recs_->Signal(SIGCONT);
  EXPECT_EQ(Metric(checkout_metrics_,
                   "loyalty_degraded_answers_total{method=\"QuoteCart\",missing=\"recommendations\"}"),
            2);
}

TEST_F(ResilienceIT, AStalledOrdersServiceIsAnsweredWithinTheDeadline) {
  const auto s = CreateStore("orders-stalled");
  SetUpProgram(s);
  const auto customer = Register(s, "os@example.com");
  orders_->Signal(SIGSTOP);
  v1::PlaceOrderResponse placed;
  v1::PlaceOrderRequest req;
  req.set_order_id("o-stalled");
  *req.mutable_cart() = TwoLineCart(customer, 0);
  const auto started = Clock::now();
  const auto status = storefront_->PlaceOrder(Ctx(s.storefront, 1000ms).get(), req, &placed);
  const auto took = Clock::now() - started;
  orders_->Signal(SIGCONT);
  std::printf("orders stalled, deadline 1000 ms: %s in %lld ms\n",
              common::ErrorReason(status).c_str(),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  // Our answer, not the client's own timer: the outcome is unknown, so retry with the same id.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(common::ErrorReason(status), "ORDER_OUTCOME_UNKNOWN");
  EXPECT_LT(took, 1050ms);
  // The retry finds the order placed once.
  const auto retried = storefront_->PlaceOrder(Ctx(s.storefront).get(), req, &placed);
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  EXPECT_EQ(placed.order().order_id(), "o-stalled");
}

TEST_F(ResilienceIT, ACallDuringARestartOfTheServiceItNeedsSucceeds) {
  const auto s = CreateStore("restart");
  SetUpProgram(s);
  const auto customer = Register(s, "rs@example.com");
  v1::QuoteCartRequest quote;
  *quote.mutable_cart() = TwoLineCart(customer, 0);
  v1::QuoteCartResponse q;
  ASSERT_TRUE(storefront_->QuoteCart(Ctx(s.storefront).get(), quote, &q).ok());
  // A restart as a rollout does it: the old process drains and exits, the new one starts.
  std::thread restart([&] {
    EXPECT_EQ(points_->Terminate(), 0);
    points_->Start();
  });
  std::this_thread::sleep_for(20ms);
  const auto status = storefront_->QuoteCart(Ctx(s.storefront, 10s).get(), quote, &q);
  restart.join();
  ASSERT_TRUE(status.ok()) << common::ErrorReason(status) << " " << status.error_message();
  EXPECT_EQ(q.points_to_earn(), 50);
}

// SIGTERM while a call is in flight: that call is answered; one arriving during the drain (from a
// client that has not heard the gateway is going) is refused with UNAVAILABLE SHUTTING_DOWN, a
// code storefronts retry, never CANCELLED; the gateway exits cleanly.
TEST_F(ResilienceIT, AStoppingGatewayAnswersCallsInFlightAndRefusesNewOnesWithUnavailable) {
  const auto s = CreateStore("draining");
  SetUpProgram(s);
  const auto customer = Register(s, "dr@example.com");
  v1::QuoteCartRequest quote;
  *quote.mutable_cart() = TwoLineCart(customer, 0);
  v1::QuoteCartResponse warm;
  ASSERT_TRUE(storefront_->QuoteCart(Ctx(s.storefront).get(), quote, &warm).ok());
  recs_->Signal(SIGSTOP);  // quotes now take the recommendations timeout: one stays in flight
  v1::QuoteCartResponse slow_answer;
  grpc::Status slow;
  std::thread in_flight(
      [&] { slow = storefront_->QuoteCart(Ctx(s.storefront, 5s).get(), quote, &slow_answer); });
  std::this_thread::sleep_for(100ms);
  gateway_->Signal(SIGTERM);
  std::this_thread::sleep_for(50ms);
  v1::QuoteCartResponse late_answer;
  const auto late = storefront_->QuoteCart(Ctx(s.storefront, 5s).get(), quote, &late_answer);
  in_flight.join();
  recs_->Signal(SIGCONT);

  EXPECT_TRUE(slow.ok()) << common::ErrorReason(slow) << " " << slow.error_message();
  EXPECT_TRUE(slow_answer.partial());
  EXPECT_EQ(late.error_code(), grpc::StatusCode::UNAVAILABLE) << late.error_message();
  EXPECT_EQ(common::ErrorReason(late), common::kShuttingDownReason);
  EXPECT_EQ(gateway_->Terminate(), 0);  // already exiting: waits for it
}

}  // namespace
}  // namespace loyalty::gateway
