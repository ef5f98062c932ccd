#include "recording_subscriber.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "loyalty/common/errors.hpp"
#include "test_env.hpp"

namespace loyalty::testing {

using loyalty::events::v1::DeliverEventRequest;
using loyalty::events::v1::DeliverEventResponse;
using loyalty::events::v1::Event;

class RecordingSubscriber::CountingSink : public common::InboxEventSink {
 public:
  CountingSink(common::ServiceHost& host, std::string schema, std::atomic<int>& count)
      : InboxEventSink(host, std::move(schema)), count_(count) {}
  grpc::ServerUnaryReactor* DeliverEvent(grpc::CallbackServerContext* context,
                                         const DeliverEventRequest* request,
                                         DeliverEventResponse* response) override {
    ++count_;
    return InboxEventSink::DeliverEvent(context, request, response);
  }

 private:
  std::atomic<int>& count_;
};

RecordingSubscriber::RecordingSubscriber(const std::string& database_url, const std::string& schema,
                                         int port, const std::vector<std::string>& types)
    : port_(port) {
  common::ServiceConfig config;
  config.service = schema;
  config.grpc_port = port;
  config.metrics_port = 0;
  config.database_url = database_url;
  config.internal_token = kTestInternalToken;
  config.shutdown_grace = std::chrono::seconds(1);
  host_ = std::make_unique<common::ServiceHost>(
      config, common::WithCommonTables(
                  {schema,
                   {{"V001__applied.sql",
                     "CREATE TABLE applied (store_id text, event_id uuid, type text, "
                     "aggregate_id text, sequence bigint, n bigserial, "
                     "PRIMARY KEY (store_id, event_id));"}}}));
  sink_ = std::make_unique<CountingSink>(*host_, schema, deliveries_);
  for (const auto& type : types) {
    sink_->On(type, [this, schema](pqxx::transaction_base& tx, const Event& e) {
      if (rejecting_) throw common::InvalidEvent("the test subscriber is refusing events");
      tx.exec_params("INSERT INTO " + schema +
                         ".applied (store_id, event_id, type, aggregate_id, sequence) "
                         "VALUES ($1, $2, $3, $4, $5)",
                     e.store_id(), e.event_id(), e.type(), e.aggregate_id(), e.sequence());
    });
  }
  sink_->On("test.poison", [](pqxx::transaction_base&, const Event&) {
    throw common::InvalidEvent("poison is never applicable");
  });
  // Failures the inbox must tell apart (common::RetryOfEvent). Refused for good:
  sink_->On("test.refused", [](pqxx::transaction_base&, const Event&) {
    throw common::ApiError(grpc::StatusCode::FAILED_PRECONDITION, "NOT_CONFIGURED",
                           "the test subscriber has no settings for this");
  });
  sink_->On("test.constraint", [schema](pqxx::transaction_base& tx, const Event& e) {
    // NULL into a primary key column: SQLSTATE 23502, every time.
    tx.exec_params("INSERT INTO " + schema + ".applied (store_id, event_id) VALUES (NULL, $1)",
                   e.event_id());
  });
  sink_->On("test.duplicate", [this, schema](pqxx::transaction_base& tx, const Event& e) {
    // The same key twice: a unique violation no retry can avoid (tried once more at once).
    ++duplicate_runs_;
    for (int i = 0; i < 2; ++i) {
      tx.exec_params("INSERT INTO " + schema + ".applied (store_id, event_id) VALUES ($1, $2)",
                     e.store_id(), e.event_id());
    }
  });
  // Worth retrying later: the subscriber's database is down, as it would say.
  sink_->On("test.unavailable", [](pqxx::transaction_base&, const Event&) {
    throw common::ApiError(grpc::StatusCode::UNAVAILABLE, "DATABASE_UNAVAILABLE",
                           "the database is unavailable; retry");
  });
  host_->AddService(sink_.get());
  host_->Start();
  for (int i = 0; i < 200 && !host_->db().available(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(host_->db().available()) << "subscriber " << schema << " did not migrate";
}

RecordingSubscriber::~RecordingSubscriber() { Stop(); }

void RecordingSubscriber::Stop() { host_->Shutdown(); }

}  // namespace loyalty::testing
