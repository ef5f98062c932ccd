// OrdersService through real loyalty-customers and loyalty-orders processes on a real Postgres,
// with a real test subscriber receiving the order events.
#include <gtest/gtest.h>

#include <google/protobuf/util/message_differencer.h>

#include <future>
#include <pqxx/pqxx>
#include <thread>

#include "loyalty/common/errors.hpp"
#include "loyalty/common/time.hpp"
#include "loyalty/customers/v1/customers_service.grpc.pb.h"
#include "loyalty/orders/v1/orders_service.grpc.pb.h"
#include "recording_subscriber.hpp"
#include "test_env.hpp"

namespace loyalty::orders {
namespace {

using common::ErrorReason;
using google::protobuf::util::MessageDifferencer;

class OrdersIT : public ::testing::Test {
 protected:
  void SetUp() override {
    subscriber_port_ = testing::FreePort();
    subscriber_ = std::make_unique<testing::RecordingSubscriber>(
        db_.url(), "testsub", subscriber_port_,
        std::vector<std::string>{"order.placed", "order.fulfilled", "order.refunded",
                                 "order.cancelled", "order.imported"});
    customers_ = std::make_unique<testing::ServiceProcess>("customers", db_.url());
    customers_->WaitServing();
    StartOrders({});
    customers_stub_ = customers::v1::CustomersService::NewStub(
        grpc::CreateChannel(customers_->address(), grpc::InsecureChannelCredentials()));
    customers::v1::RegisterCustomerRequest r;
    r.set_store_id("store-1");
    r.set_request_id("reg-1");
    r.set_email("ada@example.com");
    customers::v1::RegisterCustomerResponse registered;
    ASSERT_TRUE(customers_stub_->RegisterCustomer(testing::InternalContext().get(), r, &registered).ok());
    customer_id_ = registered.customer().customer_id();
  }

  void StartOrders(std::map<std::string, std::string> env) {
    env["LOYALTY_CUSTOMERS_ADDR"] = customers_->address();
    env["LOYALTY_ORDER_EVENT_SUBSCRIBERS"] = "testsub=127.0.0.1:" + std::to_string(subscriber_port_);
    orders_ = std::make_unique<testing::ServiceProcess>("orders", db_.url(), env);
    orders_->WaitServing();
    stub_ = v1::OrdersService::NewStub(
        grpc::CreateChannel(orders_->address(), grpc::InsecureChannelCredentials()));
  }

  v1::PlaceOrderRequest Order(const std::string& order_id) {
    v1::PlaceOrderRequest r;
    r.set_store_id("store-1");
    r.set_order_id(order_id);
    r.set_customer_id(customer_id_);
    r.set_currency_code("USD");
    r.set_store_currency_code("USD");
    auto add = [&](const char* id, int64_t price, int qty) {
      auto* l = r.add_lines();
      l->set_line_id(id);
      l->set_sku(std::string("sku-") + id);
      l->set_category("tea");
      l->set_unit_price_minor(price);
      l->set_quantity(qty);
    };
    add("l1", 1299, 1);
    add("l2", 350, 3);
    add("l3", 1, 7);
    auto* d = r.add_discounts();
    d->set_code("WELCOME10");
    d->set_amount_minor(235);
    r.set_shipping_fee_minor(499);
    return r;
  }

  grpc::Status Place(const v1::PlaceOrderRequest& r, v1::Order* out = nullptr) {
    v1::PlaceOrderResponse response;
    auto status = stub_->PlaceOrder(testing::InternalContext().get(), r, &response);
    if (out) *out = response.order();
    return status;
  }

  grpc::Status Refund(const std::string& refund_id, const std::string& line, int quantity,
                      v1::RefundOrderResponse* out = nullptr) {
    v1::RefundOrderRequest r;
    r.set_store_id("store-1");
    r.set_order_id("o-1");
    r.set_refund_id(refund_id);
    auto* l = r.add_lines();
    l->set_line_id(line);
    l->set_quantity(quantity);
    v1::RefundOrderResponse response;
    auto status = stub_->RefundOrder(testing::InternalContext().get(), r, &response);
    if (out) *out = response;
    return status;
  }

  int Scalar(const std::string& sql) {
    pqxx::connection conn(db_.url());
    pqxx::nontransaction tx(conn);
    return tx.exec1(sql)[0].as<int>();
  }

  int WaitForApplied(int expected) {
    for (int i = 0; i < 100; ++i) {
      if (Scalar("SELECT count(*) FROM testsub.applied") >= expected) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Scalar("SELECT count(*) FROM testsub.applied");
  }

  testing::TestDatabase db_;
  int subscriber_port_ = 0;
  std::unique_ptr<testing::RecordingSubscriber> subscriber_;
  std::unique_ptr<testing::ServiceProcess> customers_;
  std::unique_ptr<testing::ServiceProcess> orders_;
  std::unique_ptr<customers::v1::CustomersService::Stub> customers_stub_;
  std::unique_ptr<v1::OrdersService::Stub> stub_;
  std::string customer_id_;
};

TEST_F(OrdersIT, DiscountsAllocateToTheCentAndTotalsAddUp) {
  v1::Order order;
  ASSERT_TRUE(Place(Order("o-1"), &order).ok());
  EXPECT_EQ(order.subtotal_minor(), 1299 + 1050 + 7);
  int64_t discount = 0;
  int64_t net = 0;
  for (const auto& line : order.lines()) {
    discount += line.discount_minor();
    net += line.net_minor();
    EXPECT_EQ(line.net_minor(), line.gross_minor() - line.discount_minor() - line.points_amount_minor());
  }
  EXPECT_EQ(discount, 235);
  EXPECT_EQ(net, 2356 - 235);
  EXPECT_EQ(order.revenue_minor(), net);
  EXPECT_EQ(order.total_minor(), 2356 - 235 + 499);
  EXPECT_EQ(order.status(), v1::ORDER_STATUS_PLACED);
  EXPECT_GT(order.placed_at().seconds(), 1700000000) << "the server's time";
}

TEST_F(OrdersIT, HundredConcurrentIdenticalPlacementsMakeOneOrder) {
  std::vector<std::future<std::pair<grpc::Status, v1::Order>>> calls;
  for (int i = 0; i < 100; ++i) {
    calls.push_back(std::async(std::launch::async, [&] {
      v1::Order order;
      auto status = Place(Order("o-1"), &order);
      return std::make_pair(status, order);
    }));
  }
  std::vector<v1::Order> answers;
  for (auto& call : calls) {
    auto [status, order] = call.get();
    ASSERT_TRUE(status.ok()) << status.error_message();
    answers.push_back(order);
  }
  for (const auto& a : answers) EXPECT_TRUE(MessageDifferencer::Equals(a, answers[0]));
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders.orders"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders.outbox"), 1) << "one order.placed event";
}

TEST_F(OrdersIT, TheSameOrderIdWithAChangedLineIsRefused) {
  ASSERT_TRUE(Place(Order("o-1")).ok());
  auto changed = Order("o-1");
  changed.mutable_lines(1)->set_quantity(4);
  auto status = Place(changed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ErrorReason(status), "ORDER_ID_REUSED");
  EXPECT_EQ(Scalar("SELECT sum(quantity) FROM orders.order_lines"), 1 + 3 + 7);
}

TEST_F(OrdersIT, BadInputAndUnknownCustomersWriteNothing) {
  auto bad = Order("o-1");
  bad.set_currency_code("EUR");
  bad.mutable_lines(0)->set_quantity(-1);
  auto status = Place(bad);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status),
            (std::vector<std::string>{"currency_code", "lines[0].quantity"}));
  auto stranger = Order("o-2");
  stranger.set_customer_id("nobody");
  status = Place(stranger);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ErrorReason(status), "CUSTOMER_NOT_FOUND");
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders.orders"), 0);
}

TEST_F(OrdersIT, OverRefundsAreRefusedAndPartialRefundsAddUpToTheLine) {
  v1::Order order;
  ASSERT_TRUE(Place(Order("o-1"), &order).ok());
  const int64_t line_net = order.lines(1).net_minor();  // l2: 3 units
  v1::RefundOrderResponse r1, r2, r3;
  ASSERT_TRUE(Refund("rf-1", "l2", 1, &r1).ok());
  ASSERT_TRUE(Refund("rf-2", "l2", 1, &r2).ok());
  auto over = Refund("rf-3", "l2", 2);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ErrorReason(over), "OVER_REFUND");
  ASSERT_TRUE(Refund("rf-4", "l2", 1, &r3).ok());
  EXPECT_EQ(r1.refunded_minor() + r2.refunded_minor() + r3.refunded_minor(), line_net);
  EXPECT_EQ(r3.order().revenue_minor(), order.revenue_minor() - line_net);
  // A retried refund returns its first answer and changes nothing.
  v1::RefundOrderResponse again;
  ASSERT_TRUE(Refund("rf-1", "l2", 1, &again).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(again, r1));
  auto reused = Refund("rf-1", "l1", 1);
  EXPECT_EQ(ErrorReason(reused), "REFUND_ID_REUSED");
  EXPECT_EQ(Scalar("SELECT sum(quantity) FROM orders.refund_lines"), 3);
}

TEST_F(OrdersIT, RacingRefundsOfTheLastUnitRefundItOnce) {
  ASSERT_TRUE(Place(Order("o-1")).ok());
  std::vector<std::future<grpc::Status>> racing;
  for (int i = 0; i < 10; ++i) {
    racing.push_back(std::async(std::launch::async, [&, i] {
      return Refund("race-" + std::to_string(i), "l1", 1);  // l1 has one unit
    }));
  }
  int ok = 0;
  int over = 0;
  for (auto& r : racing) {
    auto status = r.get();
    ok += status.ok();
    over += ErrorReason(status) == "OVER_REFUND";
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(over, 9);
  EXPECT_EQ(Scalar("SELECT refunded_quantity FROM orders.order_lines WHERE line_id = 'l1'"), 1);
}

TEST_F(OrdersIT, LifecycleEventsArriveInOrder) {
  ASSERT_TRUE(Place(Order("o-1")).ok());
  v1::FulfillOrderRequest fulfil;
  fulfil.set_store_id("store-1");
  fulfil.set_order_id("o-1");
  v1::FulfillOrderResponse fulfilled;
  ASSERT_TRUE(stub_->FulfillOrder(testing::InternalContext().get(), fulfil, &fulfilled).ok());
  EXPECT_EQ(fulfilled.order().status(), v1::ORDER_STATUS_FULFILLED);
  ASSERT_TRUE(stub_->FulfillOrder(testing::InternalContext().get(), fulfil, &fulfilled).ok())
      << "fulfilling twice is a no-op";
  ASSERT_TRUE(Refund("rf-1", "l3", 2).ok());
  v1::CancelOrderRequest cancel;
  cancel.set_store_id("store-1");
  cancel.set_order_id("o-1");
  v1::CancelOrderResponse cancelled;
  EXPECT_EQ(ErrorReason(stub_->CancelOrder(testing::InternalContext().get(), cancel, &cancelled)),
            "ORDER_FULFILLED");

  ASSERT_EQ(WaitForApplied(3), 3);
  pqxx::connection conn(db_.url());
  pqxx::nontransaction tx(conn);
  auto rows = tx.exec("SELECT type, sequence FROM testsub.applied ORDER BY n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "order.placed");
  EXPECT_EQ(rows[1][0].as<std::string>(), "order.fulfilled");
  EXPECT_EQ(rows[2][0].as<std::string>(), "order.refunded");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(rows[i][1].as<int>(), i + 1);
}

TEST_F(OrdersIT, AbandonedIdsAreDeadAndExistingOrdersAreReported) {
  v1::AbandonOrderRequest abandon;
  abandon.set_store_id("store-1");
  abandon.set_order_id("o-dead");
  v1::AbandonOrderResponse answer;
  ASSERT_TRUE(stub_->AbandonOrder(testing::InternalContext().get(), abandon, &answer).ok());
  EXPECT_TRUE(answer.abandoned());
  auto status = Place(Order("o-dead"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ErrorReason(status), "ORDER_ABANDONED");

  ASSERT_TRUE(Place(Order("o-1")).ok());
  abandon.set_order_id("o-1");
  ASSERT_TRUE(stub_->AbandonOrder(testing::InternalContext().get(), abandon, &answer).ok());
  EXPECT_FALSE(answer.abandoned());
  EXPECT_EQ(answer.existing_status(), v1::ORDER_STATUS_PLACED);
}

TEST_F(OrdersIT, CancelBeforeFulfilmentZeroesRevenue) {
  ASSERT_TRUE(Place(Order("o-1")).ok());
  v1::CancelOrderRequest cancel;
  cancel.set_store_id("store-1");
  cancel.set_order_id("o-1");
  v1::CancelOrderResponse cancelled;
  ASSERT_TRUE(stub_->CancelOrder(testing::InternalContext().get(), cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.order().status(), v1::ORDER_STATUS_CANCELLED);
  EXPECT_EQ(cancelled.order().revenue_minor(), 0);
  EXPECT_EQ(ErrorReason(Refund("rf-1", "l1", 1)), "ORDER_CANCELLED");
}

TEST_F(OrdersIT, KilledBetweenCommitAndAckEveryEventArrivesOnce) {
  // The relay crashes the process (exit 137, like kill -9) right after the subscriber applied the
  // event and before the relay recorded the acknowledgement.
  orders_->Kill();
  StartOrders({{"LOYALTY_FAILPOINTS", "relay.before_ack=crash"}});
  ASSERT_TRUE(Place(Order("o-1")).ok());
  ASSERT_EQ(WaitForApplied(1), 1);
  for (int i = 0; i < 50 && testing::HealthStatus(orders_->address(), "liveness") != "UNREACHABLE";
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(orders_->Terminate(), 137) << "the failpoint crashed the process";
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders.outbox_delivery WHERE state = 'pending'"), 1);

  StartOrders({});
  for (int i = 0; i < 100 && Scalar("SELECT count(*) FROM orders.outbox_delivery WHERE state = "
                                    "'delivered'") == 0;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders.outbox_delivery WHERE state = 'delivered'"), 1);
  EXPECT_EQ(subscriber_->deliveries(), 2) << "the event was delivered again after the crash";
  EXPECT_EQ(Scalar("SELECT count(*) FROM testsub.applied"), 1) << "and applied once";
}

TEST_F(OrdersIT, ImportsHistoryIdempotentlyWithoutPoints) {
  v1::ImportOrdersRequest import;
  import.set_store_id("store-1");
  for (int i = 0; i < 3; ++i) {
    auto* o = import.add_orders();
    *o->mutable_order() = Order("hist-" + std::to_string(i));
    o->mutable_order()->set_customer_id("legacy-" + std::to_string(i));  // not registered: fine
    o->mutable_placed_at()->set_seconds(1600000000 + i * 86400);
    o->set_fulfilled(true);
  }
  v1::ImportOrdersResponse imported;
  ASSERT_TRUE(stub_->ImportOrders(testing::InternalContext().get(), import, &imported).ok());
  EXPECT_EQ(imported.imported(), 3);
  ASSERT_TRUE(stub_->ImportOrders(testing::InternalContext().get(), import, &imported).ok());
  EXPECT_EQ(imported.imported(), 0);
  EXPECT_EQ(imported.unchanged(), 3);
  EXPECT_EQ(Scalar("SELECT count(*) FROM orders.orders WHERE imported AND NOT earns_points AND "
                   "status = 'fulfilled' AND placed_at < '2021-01-01'"),
            3);
  EXPECT_EQ(WaitForApplied(3), 3);
  EXPECT_EQ(Scalar("SELECT count(*) FROM testsub.applied WHERE type = 'order.imported'"), 3);
}

// ListPlacedOrders (the dry run's source) pages oldest first: every order once, with its lines'
// nets, and a page that ends the period says so, never leaving an empty page to ask for.
TEST_F(OrdersIT, PlacedOrdersPageOldestFirstAndTheLastPageSaysItIsLast) {
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Place(Order("p-" + std::to_string(i))).ok());
  v1::ListPlacedOrdersRequest req;
  req.set_store_id("store-1");
  *req.mutable_from() = google::protobuf::util::TimeUtil::SecondsToTimestamp(0);
  *req.mutable_to() = common::NowTimestamp();
  req.mutable_to()->set_seconds(req.to().seconds() + 60);
  req.set_page_size(3);
  std::vector<std::string> seen;
  int pages = 0;
  for (;;) {
    v1::ListPlacedOrdersResponse page;
    ASSERT_TRUE(stub_->ListPlacedOrders(testing::InternalContext().get(), req, &page).ok());
    ++pages;
    ASSERT_FALSE(page.orders().empty()) << "an empty page " << pages;
    for (const auto& o : page.orders()) {
      seen.push_back(o.order_id());
      ASSERT_EQ(o.lines_size(), 3);
      int64_t nets = 0;
      for (const auto& l : o.lines()) nets += l.net_minor();
      EXPECT_EQ(nets, 1299 + 3 * 350 + 7 - 235);  // the lines after the order's discount
    }
    if (page.next_page_token().empty()) break;
    req.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(seen, (std::vector<std::string>{"p-0", "p-1", "p-2", "p-3", "p-4", "p-5"}));
}

}  // namespace
}  // namespace loyalty::orders
