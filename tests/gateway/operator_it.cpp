// Operators through the gateway, without SQL or the internal token: the orders service's dead
// letters (made by a real subscriber that refuses events) in its metrics and in AdminService,
// retried and discarded; VerifyLedger and the points jobs; the same through loyaltyctl.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "loyalty/common/errors.hpp"
#include "loyalty/common/time.hpp"
#include "loyalty/gateway/v1/gateway_service.grpc.pb.h"
#include "recording_subscriber.hpp"
#include "test_env.hpp"

namespace loyalty::gateway {
namespace {

using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;
namespace ops = loyalty::ops::v1;

constexpr const char* kOperatorToken = "test-operator-token-0123456789";

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& key) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + 30s);
  ctx->AddMetadata("authorization", "Bearer " + key);
  return ctx;
}

// Polls until `done()` or 20 s.
bool Eventually(const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return done();
}

bool NamesField(const grpc::Status& status, const std::string& field) {
  const auto fields = common::ErrorFields(status);
  return std::find(fields.begin(), fields.end(), field) != fields.end();
}

// Orders publishes to the real points service and to "sink", a subscriber that refuses every
// event while the test says so; the gateway in front. Recommendations and checkout are not
// needed here.
class OperatorIT : public ::testing::Test {
 protected:
  void SetUp() override {
    const int orders_port = testing::FreePort();
    const std::string orders_addr = "127.0.0.1:" + std::to_string(orders_port);
    metrics_port_ = testing::FreePort();
    sink_ = std::make_unique<testing::RecordingSubscriber>(
        db_.url(), "sink", testing::FreePort(),
        std::vector<std::string>{"order.imported", "order.placed"});
    sink_->SetRejecting(true);
    customers_ = std::make_unique<testing::ServiceProcess>("customers", db_.url());
    points_ = std::make_unique<testing::ServiceProcess>(
        "points", db_.url(),
        Env{{"LOYALTY_ORDERS_ADDR", orders_addr}, {"LOYALTY_JOB_INTERVAL_SECONDS", "86400"}});
    // On the port points was told (ServiceProcess would pick one of its own).
    orders_ = std::make_unique<testing::ServiceProcess>(
        "orders", db_.url(),
        Env{{"LOYALTY_GRPC_PORT", std::to_string(orders_port)},
            {"LOYALTY_METRICS_PORT", std::to_string(metrics_port_)},
            {"LOYALTY_CUSTOMERS_ADDR", customers_->address()},
            {"LOYALTY_ORDER_EVENT_SUBSCRIBERS",
             "points=" + points_->address() + ",sink=" + sink_->address()}});
    gateway_ = std::make_unique<testing::ServiceProcess>(
        "gateway", db_.url(),
        Env{{"LOYALTY_CUSTOMERS_ADDR", customers_->address()},
            {"LOYALTY_ORDERS_ADDR", orders_addr},
            {"LOYALTY_POINTS_ADDR", points_->address()},
            {"LOYALTY_RECOMMENDATIONS_ADDR", "127.0.0.1:1"},
            {"LOYALTY_CHECKOUT_ADDR", "127.0.0.1:1"},
            {"LOYALTY_OPERATOR_TOKEN", kOperatorToken}});
    for (auto* s : {customers_.get(), points_.get(), gateway_.get()}) s->WaitServing();
    ASSERT_TRUE(testing::WaitServing(orders_addr)) << "orders: " << orders_->log_path();
    admin_ = v1::AdminService::NewStub(
        grpc::CreateChannel(gateway_->address(), grpc::InsecureChannelCredentials()));

    v1::CreateStoreRequest create;
    create.set_request_id("create-ops");
    create.set_name("ops");
    create.set_currency_code("USD");
    create.set_time_zone("UTC");
    v1::CreateStoreResponse created;
    ASSERT_TRUE(admin_->CreateStore(Ctx(kOperatorToken).get(), create, &created).ok());
    store_id_ = created.store().store_id();
    owner_ = created.owner_key_secret();
    // Only the operator (or an operator key) may make operator keys: an owner may not.
    v1::CreateApiKeyRequest key;
    key.set_store_id(store_id_);
    key.set_request_id("operator-key");
    key.set_kind(v1::KEY_KIND_ADMIN);
    key.set_role(v1::ROLE_OPERATOR);
    v1::CreateApiKeyResponse made;
    EXPECT_EQ(admin_->CreateApiKey(Ctx(owner_).get(), key, &made).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    auto status = admin_->CreateApiKey(Ctx(kOperatorToken).get(), key, &made);
    ASSERT_TRUE(status.ok()) << status.error_message();
    operator_ = made.secret();
    operator_key_id_ = made.key().key_id();
    key.set_request_id("viewer-key");
    key.set_role(v1::ROLE_VIEWER);
    ASSERT_TRUE(admin_->CreateApiKey(Ctx(owner_).get(), key, &made).ok());
    viewer_ = made.secret();
  }

  // Imports fulfilled orders of 50.00 each, earning points when `earn`.
  void Import(const std::vector<std::string>& order_ids, bool earn) {
    v1::ImportOrdersRequest req;
    req.set_request_id("import-" + order_ids.front());
    for (const auto& id : order_ids) {
      auto* o = req.add_orders();
      o->mutable_order()->set_order_id(id);
      o->mutable_order()->set_customer_id("c-" + id);
      auto* line = o->mutable_order()->add_lines();
      line->set_line_id("1");
      line->set_sku("A");
      line->set_category("mugs");
      line->set_unit_price_minor(5000);
      line->set_quantity(1);
      // Now: after any rules the test published, so the order earns under them.
      *o->mutable_placed_at() = common::NowTimestamp();
      o->set_fulfilled(true);
      o->set_earn_points(earn);
    }
    v1::ImportOrdersResponse resp;
    const auto status = admin_->ImportOrders(Ctx(owner_).get(), req, &resp);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::vector<ops::DeadLetter> List(const std::string& key, bool include_resolved = false) {
    v1::ListDeadLettersRequest req;
    req.set_service("orders");
    req.set_include_resolved(include_resolved);
    v1::ListDeadLettersResponse resp;
    const auto status = admin_->ListDeadLetters(Ctx(key).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {resp.dead_letters().begin(), resp.dead_letters().end()};
  }

  // The value of one sample on the orders service's /metrics, or -1 when it is not there.
  double Metric(const std::string& name, const std::string& subscriber) {
    const std::string text = testing::HttpGet(metrics_port_, "/metrics");
    const std::string prefix = name + "{schema=\"orders\",subscriber=\"" + subscriber + "\"} ";
    const size_t at = text.find(prefix);
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + prefix.size()));
  }

  // Rows the sink applied for an order.
  int SinkApplied(const std::string& order_id) {
    pqxx::connection conn(db_.url());
    pqxx::nontransaction tx(conn);
    return tx.exec_params1("SELECT count(*) FROM sink.applied WHERE aggregate_id = $1", order_id)[0]
        .as<int>();
  }

  testing::TestDatabase db_;
  int metrics_port_ = 0;
  std::unique_ptr<testing::RecordingSubscriber> sink_;
  std::unique_ptr<testing::ServiceProcess> customers_;
  std::unique_ptr<testing::ServiceProcess> points_;
  std::unique_ptr<testing::ServiceProcess> orders_;
  std::unique_ptr<testing::ServiceProcess> gateway_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::string store_id_;
  std::string owner_;
  std::string operator_;
  std::string operator_key_id_;
  std::string viewer_;
};

TEST_F(OperatorIT, DeadLettersAreSeenRetriedAndDiscardedThroughTheGateway) {
  Import({"o1", "o2"}, false);
  ASSERT_TRUE(Eventually([&] { return Metric("loyalty_outbox_dead_letters", "sink") == 2; }))
      << testing::HttpGet(metrics_port_, "/metrics");
  EXPECT_TRUE(Eventually([&] { return Metric("loyalty_outbox_pending", "points") == 0; }));
  EXPECT_EQ(Metric("loyalty_outbox_dead_letters", "points"), 0);
  EXPECT_EQ(Metric("loyalty_outbox_lag_seconds", "sink"), 0) << "dead letters are not lag";

  auto letters = List(operator_);
  ASSERT_EQ(letters.size(), 2u);
  std::map<std::string, ops::DeadLetter> by_order;
  for (const auto& l : letters) {
    by_order[l.aggregate_id()] = l;
    EXPECT_EQ(l.store_id(), store_id_);
    EXPECT_EQ(l.subscriber(), "sink");
    EXPECT_EQ(l.event_type(), "order.imported");
    EXPECT_EQ(l.sequence(), 1);
    EXPECT_EQ(l.attempts(), 1);
    EXPECT_NE(l.error().find("refusing"), std::string::npos) << l.error();
    EXPECT_GT(l.dead_at().seconds(), 0);
    EXPECT_EQ(l.resolution(), ops::RESOLUTION_UNSPECIFIED);
  }
  ASSERT_EQ(by_order.size(), 2u);
  const std::string retried = by_order["o1"].event_id();
  const std::string discarded = by_order["o2"].event_id();

  // Paged: one letter a page, oldest first, the same two.
  v1::ListDeadLettersRequest page;
  page.set_service("orders");
  page.set_page_size(1);
  v1::ListDeadLettersResponse first, second;
  ASSERT_TRUE(admin_->ListDeadLetters(Ctx(operator_).get(), page, &first).ok());
  ASSERT_EQ(first.dead_letters_size(), 1);
  ASSERT_FALSE(first.next_page_token().empty());
  page.set_page_token(first.next_page_token());
  ASSERT_TRUE(admin_->ListDeadLetters(Ctx(operator_).get(), page, &second).ok());
  ASSERT_EQ(second.dead_letters_size(), 1);
  EXPECT_TRUE(second.next_page_token().empty());
  EXPECT_NE(first.dead_letters(0).event_id(), second.dead_letters(0).event_id());

  // Who may: the operator role and the operator token; not a viewer, nor the store's owner.
  v1::ListDeadLettersRequest list;
  list.set_service("orders");
  v1::ListDeadLettersResponse listed;
  EXPECT_EQ(admin_->ListDeadLetters(Ctx(viewer_).get(), list, &listed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(admin_->ListDeadLetters(Ctx(owner_).get(), list, &listed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  list.set_store_id(store_id_);
  EXPECT_TRUE(admin_->ListDeadLetters(Ctx(kOperatorToken).get(), list, &listed).ok());
  EXPECT_EQ(listed.dead_letters_size(), 2);

  // Bad input names the field; an unknown letter is NOT_FOUND.
  auto retry = [&](const std::string& key, const std::string& request_id,
                   const std::string& service, const std::string& event_id,
                   v1::RetryDeadLetterResponse* out) {
    v1::RetryDeadLetterRequest req;
    req.set_request_id(request_id);
    req.set_service(service);
    req.set_event_id(event_id);
    req.set_subscriber("sink");
    req.set_reason("the sink was fixed");
    return admin_->RetryDeadLetter(Ctx(key).get(), req, out);
  };
  v1::RetryDeadLetterResponse r;
  auto status = retry(operator_, "bad-1", "orders", "not-a-uuid", &r);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(NamesField(status, "event_id")) << status.error_message();
  status = retry(operator_, "bad-2", "", retried, &r);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(NamesField(status, "service")) << status.error_message();
  status = retry(operator_, "bad-3", "points", retried, &r);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "points relays nothing";
  EXPECT_TRUE(NamesField(status, "service")) << status.error_message();
  status = retry(operator_, "", "orders", retried, &r);
  EXPECT_TRUE(NamesField(status, "request_id")) << status.error_message();
  status = retry(operator_, "bad-4", "orders", "00000000-0000-0000-0000-000000000001", &r);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(common::ErrorReason(status), "DEAD_LETTER_NOT_FOUND");
  EXPECT_EQ(retry(viewer_, "bad-5", "orders", retried, &r).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::DiscardDeadLetterRequest no_reason;
  no_reason.set_request_id("bad-6");
  no_reason.set_service("orders");
  no_reason.set_event_id(discarded);
  no_reason.set_subscriber("sink");
  v1::DiscardDeadLetterResponse d;
  status = admin_->DiscardDeadLetter(Ctx(operator_).get(), no_reason, &d);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(NamesField(status, "reason")) << status.error_message();
  EXPECT_EQ(List(operator_).size(), 2u) << "refused calls changed nothing";

  // Retried while the cause is still there: it is refused again and is undecided again.
  ASSERT_TRUE(retry(operator_, "too-soon", "orders", retried, &r).ok());
  EXPECT_EQ(r.dead_letter().resolution(), ops::RESOLUTION_RETRIED);
  EXPECT_TRUE(Eventually([&] {
    const auto open = List(operator_);
    return std::any_of(open.begin(), open.end(),
                       [&](const ops::DeadLetter& l) { return l.event_id() == retried; });
  }));
  EXPECT_EQ(SinkApplied("o1"), 0);

  // Retry once the sink accepts: delivered again, and applied this time.
  sink_->SetRejecting(false);
  status = retry(operator_, "retry-1", "orders", retried, &r);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(r.dead_letter().resolution(), ops::RESOLUTION_RETRIED);
  EXPECT_EQ(r.dead_letter().resolved_by(), operator_key_id_);
  EXPECT_EQ(r.dead_letter().reason(), "the sink was fixed");
  EXPECT_TRUE(Eventually([&] { return SinkApplied("o1") == 1; }));
  v1::RetryDeadLetterResponse again;
  ASSERT_TRUE(retry(operator_, "retry-1", "orders", retried, &again).ok());
  EXPECT_EQ(again.SerializeAsString(), r.SerializeAsString()) << "the same request, the same answer";
  ASSERT_TRUE(retry(operator_, "retry-2", "orders", retried, &again).ok()) << "retried already";
  EXPECT_EQ(again.dead_letter().resolution(), ops::RESOLUTION_RETRIED);

  // Discard the other one: gone from the list, recorded with who and why, never delivered.
  v1::DiscardDeadLetterRequest discard = no_reason;
  discard.set_request_id("discard-1");
  discard.set_reason("a test order that can never apply");
  ASSERT_TRUE(admin_->DiscardDeadLetter(Ctx(operator_).get(), discard, &d).ok());
  EXPECT_EQ(d.dead_letter().resolution(), ops::RESOLUTION_DISCARDED);
  EXPECT_EQ(d.dead_letter().resolved_by(), operator_key_id_);
  discard.set_request_id("discard-2");
  EXPECT_TRUE(admin_->DiscardDeadLetter(Ctx(operator_).get(), discard, &d).ok())
      << "discarding again changes nothing";
  status = retry(operator_, "retry-3", "orders", discarded, &r);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(common::ErrorReason(status), "DEAD_LETTER_DISCARDED");

  EXPECT_TRUE(List(operator_).empty());
  const auto all = List(operator_, true);
  ASSERT_EQ(all.size(), 2u);
  for (const auto& l : all) {
    if (l.event_id() == discarded) {
      EXPECT_EQ(l.resolution(), ops::RESOLUTION_DISCARDED);
      EXPECT_EQ(l.reason(), "a test order that can never apply");
      EXPECT_GT(l.resolved_at().seconds(), 0);
    } else {
      EXPECT_EQ(l.resolution(), ops::RESOLUTION_RETRIED);
    }
  }
  EXPECT_TRUE(Eventually([&] { return Metric("loyalty_outbox_dead_letters", "sink") == 0; }));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(SinkApplied("o2"), 0);

  // Both decisions are in the store's audit log, by the operator key.
  v1::ListAuditLogRequest audit;
  v1::ListAuditLogResponse log;
  ASSERT_TRUE(admin_->ListAuditLog(Ctx(owner_).get(), audit, &log).ok());
  std::set<std::string> decided;
  for (const auto& e : log.entries()) {
    if (e.actor_key_id() == operator_key_id_) decided.insert(e.method());
  }
  EXPECT_TRUE(decided.count("RetryDeadLetter"));
  EXPECT_TRUE(decided.count("DiscardDeadLetter"));
}

TEST_F(OperatorIT, VerifyLedgerAndJobsNeedNoInternalToken) {
  v1::PublishEarnRulesRequest rules;
  rules.set_request_id("rules-1");
  rules.mutable_rules()->set_base_rate(1);
  v1::PublishEarnRulesResponse published;
  ASSERT_TRUE(admin_->PublishEarnRules(Ctx(owner_).get(), rules, &published).ok());
  Import({"earning"}, true);  // 50 points, pending for the 30-day return window

  // The release job as of 60 days on makes them available once points has the order's event.
  v1::RunJobRequest job;
  job.set_job(v1::JOB_RELEASE);
  *job.mutable_as_of() = common::NowTimestamp();
  job.mutable_as_of()->set_seconds(job.as_of().seconds() + 60 * 86400);
  int64_t released = 0;
  EXPECT_TRUE(Eventually([&] {
    v1::RunJobResponse ran;
    const auto status = admin_->RunJob(Ctx(operator_).get(), job, &ran);
    EXPECT_TRUE(status.ok()) << status.error_message();
    released += ran.processed();
    return released == 1;
  }));
  v1::RunJobResponse ran;
  ASSERT_TRUE(admin_->RunJob(Ctx(operator_).get(), job, &ran).ok());
  EXPECT_EQ(ran.processed(), 0) << "each lot is released once";

  v1::VerifyLedgerRequest verify;
  v1::VerifyLedgerResponse verified;
  auto status = admin_->VerifyLedger(Ctx(operator_).get(), verify, &verified);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GE(verified.result().transfers_checked(), 2);
  EXPECT_EQ(verified.result().customers_checked(), 1);
  EXPECT_TRUE(verified.result().mismatches().empty());
  EXPECT_EQ(verified.result().zero_sum(), 0);

  EXPECT_EQ(admin_->VerifyLedger(Ctx(viewer_).get(), verify, &verified).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(admin_->RunJob(Ctx(owner_).get(), job, &ran).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  job.set_job(v1::JOB_UNSPECIFIED);
  status = admin_->RunJob(Ctx(operator_).get(), job, &ran);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(NamesField(status, "job")) << status.error_message();
  job.set_job(v1::JOB_HOLD_EXPIRY);
  job.set_store_id(store_id_);
  EXPECT_TRUE(admin_->RunJob(Ctx(kOperatorToken).get(), job, &ran).ok());
}

// A real event the real points service can never apply (its settings were taken away: the refund
// handler refuses with FAILED_PRECONDITION PROGRAM_NOT_CONFIGURED) is a dead letter on its first
// delivery, seen through the gateway, and the order's next event is delivered behind it. It was
// retried forever and held up the order's later events.
TEST_F(OperatorIT, AnEventPointsCanNeverApplyIsDeadAtOnceAndTheOrdersNextEventFlows) {
  v1::PublishEarnRulesRequest rules;
  rules.set_request_id("rules-1");
  rules.mutable_rules()->set_base_rate(1);
  v1::PublishEarnRulesResponse published;
  ASSERT_TRUE(admin_->PublishEarnRules(Ctx(owner_).get(), rules, &published).ok());
  v1::ImportOrdersRequest import;
  import.set_request_id("import-r1");
  auto* o = import.add_orders();
  o->mutable_order()->set_order_id("r1");
  o->mutable_order()->set_customer_id("c-r1");
  auto* line = o->mutable_order()->add_lines();
  line->set_line_id("1");
  line->set_sku("A");
  line->set_category("mugs");
  line->set_unit_price_minor(5000);
  line->set_quantity(2);
  *o->mutable_placed_at() = common::NowTimestamp();
  o->set_fulfilled(true);
  o->set_earn_points(true);
  v1::ImportOrdersResponse imported;
  auto status = admin_->ImportOrders(Ctx(owner_).get(), import, &imported);
  ASSERT_TRUE(status.ok()) << status.error_message();

  pqxx::connection conn(db_.url());
  auto scalar = [&](const std::string& sql) {
    pqxx::nontransaction tx(conn);
    return tx.exec_params1(sql, store_id_)[0].as<int64_t>();
  };
  const std::string earned =
      "SELECT coalesce(sum(earned - clawed), -1) FROM points.lots "
      "WHERE store_id = $1 AND order_id = 'r1' AND kind = 'earn'";
  ASSERT_TRUE(Eventually([&] { return scalar(earned) == 100; }));

  // Take the store's points settings away (an operator's mistake, say).
  auto move_settings = [&](const std::string& from, const std::string& to) {
    pqxx::work tx(conn);
    tx.exec_params("UPDATE points.settings SET store_id = $2 WHERE store_id = $1", from, to);
    tx.commit();
  };
  move_settings(store_id_, store_id_ + "-aside");

  v1::CreateApiKeyRequest key;
  key.set_store_id(store_id_);
  key.set_request_id("shop-key");
  key.set_kind(v1::KEY_KIND_STOREFRONT);
  v1::CreateApiKeyResponse made;
  ASSERT_TRUE(admin_->CreateApiKey(Ctx(owner_).get(), key, &made).ok());
  auto storefront = v1::StorefrontService::NewStub(
      grpc::CreateChannel(gateway_->address(), grpc::InsecureChannelCredentials()));
  auto refund = [&](const std::string& refund_id) {
    v1::RefundOrderRequest req;
    req.set_order_id("r1");
    req.set_refund_id(refund_id);
    auto* l = req.add_lines();
    l->set_line_id("1");
    l->set_quantity(1);
    v1::RefundOrderResponse resp;
    const auto s = storefront->RefundOrder(Ctx(made.secret()).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
  };
  refund("rf-1");
  ASSERT_TRUE(Eventually([&] { return Metric("loyalty_outbox_dead_letters", "points") == 1; }))
      << testing::HttpGet(metrics_port_, "/metrics");
  std::vector<ops::DeadLetter> ours;
  for (const auto& l : List(operator_)) {
    if (l.subscriber() == "points") ours.push_back(l);
  }
  ASSERT_EQ(ours.size(), 1u);
  EXPECT_EQ(ours[0].event_type(), "order.refunded");
  EXPECT_EQ(ours[0].aggregate_id(), "r1");
  EXPECT_EQ(ours[0].attempts(), 1) << "dead on its first delivery, not retried";
  EXPECT_NE(ours[0].error().find("PROGRAM_NOT_CONFIGURED"), std::string::npos) << ours[0].error();

  // Settings back; the order's next refund reaches points and takes back the whole line
  // (refunds are cumulative), with nothing pending for points.
  move_settings(store_id_ + "-aside", store_id_);
  refund("rf-2");
  EXPECT_TRUE(Eventually([&] { return scalar(earned) == 0; }));
  EXPECT_TRUE(Eventually([&] { return Metric("loyalty_outbox_pending", "points") == 0; }));
  EXPECT_EQ(Metric("loyalty_outbox_dead_letters", "points"), 1);
}

// Runs loyaltyctl against the gateway with `token`; answers its output, its exit code in *code.
std::string Ctl(const std::string& address, const std::string& token, const std::string& args,
                int* code) {
  std::string out;
  *code = testing::RunCapture(std::string(LOYALTY_BIN_DIR) + "/loyaltyctl --address " + address +
                                  " --token " + token + " " + args,
                              &out);
  return out;
}

TEST_F(OperatorIT, LoyaltyctlListsRetriesAndDiscardsDeadLetters) {
  Import({"c1", "c2"}, false);
  ASSERT_TRUE(Eventually([&] { return Metric("loyalty_outbox_dead_letters", "sink") == 2; }));
  const std::string addr = gateway_->address();
  int code = 0;
  auto out = Ctl(addr, operator_, "dead-letters list --service orders", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("EVENT ID"), std::string::npos) << out;
  EXPECT_NE(out.find("c1#1"), std::string::npos) << out;
  out = Ctl(addr, operator_, "--json dead-letters list --subscriber sink", &code);
  ASSERT_EQ(code, 0) << out;
  std::map<std::string, std::string> event_of;
  const auto listed = nlohmann::json::parse(out);
  for (const auto& l : listed["dead_letters"]) {
    event_of[l["aggregate_id"]] = l["event_id"];
  }
  ASSERT_EQ(event_of.size(), 2u) << out;

  sink_->SetRejecting(false);
  out = Ctl(addr, operator_,
            "dead-letters retry " + event_of["c1"] + " --subscriber sink --request-id cli-r1",
            &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("RESOLUTION_RETRIED"), std::string::npos) << out;
  EXPECT_TRUE(Eventually([&] { return SinkApplied("c1") == 1; }));
  out = Ctl(addr, operator_, "dead-letters discard " + event_of["c2"] + " --subscriber sink",
            &code);
  EXPECT_NE(code, 0) << "a discard needs a reason: " << out;
  out = Ctl(addr, operator_,
            "--json dead-letters discard " + event_of["c2"] +
                " --subscriber sink --reason 'never valid'",
            &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["resolution"], "RESOLUTION_DISCARDED") << out;
  out = Ctl(addr, operator_, "--json dead-letters list", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_TRUE(nlohmann::json::parse(out)["dead_letters"].empty()) << out;

  out = Ctl(addr, operator_, "verify-ledger", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("mismatches 0"), std::string::npos) << out;
  out = Ctl(addr, operator_, "run-job expiry --as-of 2030-01-01T00:00:00Z", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("expiry: processed 0"), std::string::npos) << out;
  out = Ctl(addr, operator_, "run-job nonsense", &code);
  EXPECT_NE(code, 0) << out;
  out = Ctl(addr, viewer_, "verify-ledger", &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("error 7"), std::string::npos) << "PERMISSION_DENIED: " << out;
}

}  // namespace
}  // namespace loyalty::gateway
