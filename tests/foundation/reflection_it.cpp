// Every service binary answers server reflection with its own service, so any gRPC tool can
// discover the API. Runs in a binary that does not link gRPC's reflection library (see the proto).
#include <gtest/gtest.h>

#include <set>

#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "test_env.hpp"

namespace loyalty {
namespace {

std::set<std::string> ListServices(const std::string& address) {
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto stream = stub->ServerReflectionInfo(&context);
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("");
  stream->Write(request);
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  std::set<std::string> names;
  while (stream->Read(&response)) {
    for (const auto& s : response.list_services_response().service()) names.insert(s.name());
  }
  EXPECT_TRUE(stream->Finish().ok());
  return names;
}

TEST(ReflectionIT, EachServiceListsItsApi) {
  testing::TestDatabase db;
  // Reflection lists only services with at least one method: a service joins this table when
  // its first RPC lands.
  const std::map<std::string, std::vector<std::string>> expected = {
      {"customers", {"loyalty.customers.v1.CustomersService"}},
      {"orders", {"loyalty.orders.v1.OrdersService"}},
      {"points", {"loyalty.points.v1.PointsService", "loyalty.events.v1.EventSinkService"}},
      {"recommendations", {"loyalty.recommendations.v1.RecommendationsService"}},
      {"gateway", {"loyalty.gateway.v1.StorefrontService", "loyalty.gateway.v1.AdminService"}}};
  for (const auto& [service, names] : expected) {
    testing::ServiceProcess process(service, db.url());
    process.WaitServing();
    const auto listed = ListServices(process.address());
    for (const auto& name : names) EXPECT_TRUE(listed.contains(name)) << service << ": " << name;
    EXPECT_TRUE(listed.contains("grpc.health.v1.Health")) << service;
  }
}

}  // namespace
}  // namespace loyalty
