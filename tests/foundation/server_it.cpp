// The server bootstrap, through a real service binary (loyalty-customers) on a real Postgres:
// internal token, readiness vs liveness, graceful SIGTERM, migrate-only mode, config errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <future>
#include <pqxx/pqxx>
#include <thread>

#include "loyalty/common/errors.hpp"
#include "loyalty/customers/v1/customers_service.grpc.pb.h"
#include "test_env.hpp"

namespace loyalty {
namespace {

using customers::v1::CustomersService;
using customers::v1::GetCustomerRequest;
using customers::v1::GetCustomerResponse;

std::unique_ptr<CustomersService::Stub> Stub(const std::string& address) {
  return CustomersService::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

grpc::Status Get(CustomersService::Stub& stub, grpc::ClientContext* context) {
  GetCustomerRequest request;
  request.set_store_id("store-1");
  request.set_customer_id("nobody");
  GetCustomerResponse response;
  return stub.GetCustomer(context, request, &response);
}

std::string WaitFor(const std::string& address, const std::string& service,
                    const std::string& wanted, std::chrono::seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  std::string status;
  while (std::chrono::steady_clock::now() < until) {
    status = testing::HealthStatus(address, service);
    if (status == wanted) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return status;
}

TEST(ServerIT, InternalServicesRefuseCallsWithoutTheToken) {
  testing::TestDatabase db;
  testing::ServiceProcess customers("customers", db.url());
  customers.WaitServing();
  auto stub = Stub(customers.address());

  grpc::ClientContext no_token;
  auto refused = Get(*stub, &no_token);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(common::ErrorReason(refused), "INTERNAL_TOKEN_REQUIRED");

  grpc::ClientContext wrong_token;
  wrong_token.AddMetadata("x-loyalty-internal-token", "test-internal-token-0123456788");
  EXPECT_EQ(Get(*stub, &wrong_token).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // With the token the call reaches the handler (and the customer is simply not there).
  EXPECT_EQ(Get(*stub, testing::InternalContext().get()).error_code(), grpc::StatusCode::NOT_FOUND);
  // Health stays open without a token.
  EXPECT_EQ(testing::HealthStatus(customers.address(), ""), "SERVING");
}

TEST(ServerIT, ReadinessFollowsTheDatabaseWhileLivenessStaysServing) {
  testing::PgCluster pg;
  pg.Start();
  testing::ServiceProcess customers("customers", pg.url());
  customers.WaitServing();
  EXPECT_EQ(testing::HealthStatus(customers.address(), "liveness"), "SERVING");

  pg.Stop();
  EXPECT_EQ(WaitFor(customers.address(), "", "NOT_SERVING", std::chrono::seconds(5)),
            "NOT_SERVING");
  EXPECT_EQ(testing::HealthStatus(customers.address(), "liveness"), "SERVING");
  auto stub = Stub(customers.address());
  EXPECT_EQ(Get(*stub, testing::InternalContext().get()).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  pg.Start();
  EXPECT_EQ(WaitFor(customers.address(), "", "SERVING", std::chrono::seconds(10)), "SERVING");
  // The same process serves again: broken pool connections were replaced.
  grpc::Status status;
  for (int i = 0; i < 3; ++i) status = Get(*stub, testing::InternalContext().get());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

// A call without a deadline gets LOYALTY_DEFAULT_DEADLINE_MS; a deadline the caller set is kept,
// even past that default (a large import may need it).
TEST(ServerIT, DefaultDeadlineOnlyForCallsWithoutOne) {
  testing::TestDatabase db;
  testing::ServiceProcess customers("customers", db.url(),
                                    {{"LOYALTY_DEFAULT_DEADLINE_MS", "300"},
                                     {"LOYALTY_FAILPOINTS", "rpc.before_handler=sleep:600"}});
  customers.WaitServing();
  auto stub = Stub(customers.address());

  grpc::ClientContext without_deadline;
  without_deadline.AddMetadata("x-loyalty-internal-token", testing::kTestInternalToken);
  EXPECT_EQ(Get(*stub, &without_deadline).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);

  EXPECT_EQ(Get(*stub, testing::InternalContext(std::chrono::seconds(5)).get()).error_code(),
            grpc::StatusCode::NOT_FOUND)
      << "the caller's 5 s deadline, not the 300 ms default, bounded the call";
}

TEST(ServerIT, SigtermFinishesTheCallInFlightAndExitsZero) {
  testing::TestDatabase db;
  testing::ServiceProcess customers("customers", db.url(),
                                    {{"LOYALTY_FAILPOINTS", "rpc.before_handler=sleep:1500"}});
  customers.WaitServing();
  auto stub = Stub(customers.address());
  auto in_flight = std::async(std::launch::async, [&] {
    return Get(*stub, testing::InternalContext().get());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the call is in its handler
  EXPECT_EQ(customers.Terminate(), 0);
  EXPECT_EQ(in_flight.get().error_code(), grpc::StatusCode::NOT_FOUND)
      << "the in-flight call got its real answer, not CANCELLED or UNAVAILABLE";
}

TEST(ServerIT, MigrateOnlyAppliesAndExits) {
  testing::TestDatabase db;
  const std::string command = "LOYALTY_DATABASE_URL='" + db.url() +
                              "' LOYALTY_INTERNAL_TOKEN=test-internal-token-0123456789 " +
                              LOYALTY_BIN_DIR "/loyalty-customers --migrate-only > /dev/null";
  EXPECT_EQ(std::system(command.c_str()), 0);
  EXPECT_EQ(std::system(command.c_str()), 0) << "a second run finds nothing to do";
  pqxx::connection conn(db.url());
  pqxx::nontransaction tx(conn);
  // V001 to V003 and the common V900, V901, V902.
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM customers.schema_migrations")[0].as<int>(), 6);
}

TEST(ServerIT, BadConfigurationExitsTwoNamingTheVariable) {
  std::string output;
  EXPECT_EQ(testing::RunCapture("LOYALTY_GRPC_PORT=http LOYALTY_DB_POOL_SIZE=0 " LOYALTY_BIN_DIR
                                "/loyalty-orders",
                                &output),
            2);
  EXPECT_NE(output.find("LOYALTY_GRPC_PORT"), std::string::npos) << output;
  EXPECT_NE(output.find("LOYALTY_DB_POOL_SIZE"), std::string::npos) << output;
}

}  // namespace
}  // namespace loyalty
