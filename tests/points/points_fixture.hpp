// The fixture of the points integration tests: a real loyalty-points (and loyalty-orders, for
// AbandonOrder) on a throwaway database, a configured store "s1", and helpers that send order
// events through the receiving RPC exactly as the relay does.
#pragma once

#include <gtest/gtest.h>

#include <google/protobuf/util/time_util.h>

#include <atomic>
#include <pqxx/pqxx>
#include <unistd.h>

#include "loyalty/common/errors.hpp"
#include "loyalty/events/v1/events.grpc.pb.h"
#include "loyalty/orders/v1/orders_service.grpc.pb.h"
#include "loyalty/points/v1/points_service.grpc.pb.h"
#include "test_env.hpp"

namespace loyalty::points {

using google::protobuf::util::TimeUtil;

constexpr int64_t kDay = 86'400;  // seconds

class PointsIT : public ::testing::Test {
 protected:
  void SetUp() override {
    orders_ = std::make_unique<testing::ServiceProcess>(
        "orders", db_.url(),
        std::map<std::string, std::string>{{"LOYALTY_CUSTOMERS_ADDR", customers_address_}});
    points_ = std::make_unique<testing::ServiceProcess>(
        "points", db_.url(),
        std::map<std::string, std::string>{{"LOYALTY_ORDERS_ADDR", orders_->address()},
                                           {"LOYALTY_CUSTOMERS_ADDR", customers_address_},
                                           {"LOYALTY_JOB_INTERVAL_SECONDS", "86400"}});
    orders_->WaitServing();
    points_->WaitServing();
    auto channel = grpc::CreateChannel(points_->address(), grpc::InsecureChannelCredentials());
    stub_ = v1::PointsService::NewStub(channel);
    sink_ = events::v1::EventSinkService::NewStub(channel);
    v1::UpdateSettingsRequest settings;
    settings.set_store_id("s1");
    settings.set_request_id("settings-1");
    auto* s = settings.mutable_settings();
    s->set_currency_code("USD");
    s->set_time_zone("UTC");
    s->set_earn_basis(v1::EARN_BASIS_POINTS_PER_UNIT);
    s->set_minor_per_unit(100);
    s->set_redeem_points(100);
    s->set_redeem_value_minor(100);
    s->set_return_window_days(30);
    s->set_return_window_start(v1::RETURN_WINDOW_START_PLACEMENT);
    s->set_expiry_months(12);
    s->set_expiry_warning_days(14);
    s->set_clawback_policy(v1::CLAWBACK_POLICY_DEBT);
    s->set_hold_ttl_seconds(60);
    v1::UpdateSettingsResponse response;
    ASSERT_TRUE(stub_->UpdateSettings(testing::InternalContext().get(), settings, &response).ok());
    const auto rules = Publish(1, "rules-1");
    // Orders in these tests are placed after the rules took effect: test times are whole
    // seconds, the next one after the rule set's effective_from (from the service's clock;
    // TimeUtil::GetCurrentTime() reads a coarse clock that can still show the previous second,
    // which once placed an order a few ms before the rules and it earned nothing).
    now_ = rules.effective_from().seconds() + 1;
  }

  void TearDown() override {
    if (!stub_) return;
    v1::VerifyLedgerRequest verify;
    verify.set_store_id("s1");
    v1::VerifyLedgerResponse report;
    ASSERT_TRUE(stub_->VerifyLedger(testing::InternalContext().get(), verify, &report).ok());
    EXPECT_EQ(report.mismatches_size(), 0) << (report.mismatches_size() ? report.mismatches(0) : "");
    EXPECT_EQ(report.zero_sum(), 0);
  }

  v1::RuleVersion Publish(int64_t base_rate, const std::string& request_id) {
    v1::PublishEarnRulesRequest r;
    r.set_store_id("s1");
    r.set_request_id(request_id);
    r.mutable_rules()->set_base_rate(base_rate);
    v1::PublishEarnRulesResponse response;
    EXPECT_TRUE(stub_->PublishEarnRules(testing::InternalContext().get(), r, &response).ok());
    return response.version();
  }

  // An order as the orders service would publish it: lines of (net amount, quantity).
  orders::v1::Order MakeOrder(const std::string& order_id, const std::string& customer,
                              std::vector<std::pair<int64_t, int>> lines, int64_t placed_at) {
    orders::v1::Order o;
    o.set_store_id("s1");
    o.set_order_id(order_id);
    o.set_customer_id(customer);
    o.set_currency_code("USD");
    o.set_status(orders::v1::ORDER_STATUS_PLACED);
    o.set_earns_points(true);
    o.mutable_placed_at()->set_seconds(placed_at);
    for (size_t i = 0; i < lines.size(); ++i) {
      auto* l = o.add_lines();
      l->mutable_line()->set_line_id("l" + std::to_string(i + 1));
      l->mutable_line()->set_sku("sku" + std::to_string(i + 1));
      l->mutable_line()->set_category("tea");
      l->mutable_line()->set_quantity(lines[i].second);
      l->set_net_minor(lines[i].first);
    }
    return o;
  }

  // A new event id each call.
  static std::string NewEventId() {
    static std::atomic<int> counter{0};
    char id[37];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", ++counter + getpid() % 1000 * 100000);
    return id;
  }

  grpc::Status Deliver(const std::string& type, const std::string& aggregate, int64_t sequence,
                       const google::protobuf::Message& payload) {
    return DeliverAs(NewEventId(), type, aggregate, sequence, payload);
  }

  // Delivers under a given event id, as the relay redelivers an event; `duplicate` gets the
  // answer's flag (applied before).
  grpc::Status DeliverAs(const std::string& event_id, const std::string& type,
                         const std::string& aggregate, int64_t sequence,
                         const google::protobuf::Message& payload, bool* duplicate = nullptr) {
    events::v1::DeliverEventRequest request;
    auto* e = request.mutable_event();
    e->set_event_id(event_id);
    e->set_store_id("s1");
    e->set_type(type);
    e->set_aggregate_id(aggregate);
    e->set_sequence(sequence);
    e->mutable_payload()->PackFrom(payload);
    events::v1::DeliverEventResponse response;
    auto status = sink_->DeliverEvent(testing::InternalContext().get(), request, &response);
    if (duplicate) *duplicate = response.duplicate();
    return status;
  }

  void Place(const orders::v1::Order& order) {
    orders::v1::OrderPlaced placed;
    *placed.mutable_order() = order;
    ASSERT_TRUE(Deliver("order.placed", order.order_id(), 1, placed).ok());
  }

  grpc::Status Refund(const std::string& order_id, const std::string& customer, int64_t seq,
                      const std::string& line, int refunded_total, int quantity) {
    orders::v1::OrderRefunded refund;
    refund.set_order_id(order_id);
    refund.set_customer_id(customer);
    refund.set_refund_id("rf-" + std::to_string(seq));
    auto* l = refund.add_lines();
    l->set_line_id(line);
    l->set_refunded_quantity_total(refunded_total);
    l->set_line_quantity(quantity);
    return Deliver("order.refunded", order_id, seq, refund);
  }

  v1::Balance Balance(const std::string& customer) {
    v1::GetBalanceRequest r;
    r.set_store_id("s1");
    r.set_customer_id(customer);
    v1::GetBalanceResponse response;
    EXPECT_TRUE(stub_->GetBalance(testing::InternalContext().get(), r, &response).ok());
    return response.balance();
  }

  int64_t RunJob(const char* which, int64_t as_of) {
    v1::RunJobRequest r;
    r.set_store_id("s1");
    r.mutable_as_of()->set_seconds(as_of);
    v1::RunJobResponse response;
    auto context = testing::InternalContext(std::chrono::seconds(60));
    grpc::Status status;
    if (std::string(which) == "release") status = stub_->RunReleaseJob(context.get(), r, &response);
    if (std::string(which) == "expiry") status = stub_->RunExpiryJob(context.get(), r, &response);
    if (std::string(which) == "holds") status = stub_->RunHoldExpiryJob(context.get(), r, &response);
    if (std::string(which) == "tiers") status = stub_->RunTierJob(context.get(), r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.processed();
  }

  grpc::Status Adjust(const std::string& customer, int64_t points, const std::string& request_id,
                      v1::AdjustPointsResponse* out = nullptr) {
    v1::AdjustPointsRequest r;
    r.set_store_id("s1");
    r.set_request_id(request_id);
    r.set_customer_id(customer);
    r.set_points(points);
    r.set_reason("test adjustment");
    v1::AdjustPointsResponse response;
    auto status = stub_->AdjustPoints(testing::InternalContext().get(), r, &response);
    if (out) *out = response;
    return status;
  }

  // Reserves `points` (and, with a reward_id, that reward: its cost and a unit of its stock).
  grpc::Status Reserve(const std::string& customer, int64_t points, const std::string& request_id,
                       const std::string& order_id, v1::Hold* hold = nullptr,
                       const std::string& reward_id = "") {
    v1::ReserveRedemptionRequest r;
    r.set_store_id("s1");
    r.set_request_id(request_id);
    r.set_customer_id(customer);
    r.set_order_id(order_id);
    r.set_points(points);
    r.set_reward_id(reward_id);
    v1::ReserveRedemptionResponse response;
    auto status = stub_->ReserveRedemption(testing::InternalContext().get(), r, &response);
    if (hold) *hold = response.hold();
    return status;
  }

  int64_t Scalar(const std::string& sql) {
    pqxx::connection conn(db_.url());
    pqxx::nontransaction tx(conn);
    return tx.exec1(sql)[0].as<int64_t>();
  }

  testing::TestDatabase db_;
  // No customers service unless a test starts one (member actions ask it who the customer is).
  std::string customers_address_ = "127.0.0.1:1";
  std::unique_ptr<testing::ServiceProcess> orders_;
  std::unique_ptr<testing::ServiceProcess> points_;
  std::unique_ptr<v1::PointsService::Stub> stub_;
  std::unique_ptr<events::v1::EventSinkService::Stub> sink_;
  int64_t now_ = 0;
};

}  // namespace loyalty::points
