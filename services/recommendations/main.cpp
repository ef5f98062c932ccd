// loyalty-recommendations: wiring only; the rules live in the service's library.
#include "loyalty/common/server.hpp"
#include "loyalty/recommendations/v1/recommendations_service.grpc.pb.h"

namespace loyalty::recommendations {
const common::MigrationSet& Migrations();  // generated from migrations/
}

int main(int argc, char** argv) {
  using namespace loyalty;
  return common::RunServiceMain(
      argc, argv, {"recommendations", 50055, 9105}, common::WithCommonTables(loyalty::recommendations::Migrations()),
      [](common::EnvReader&) {},
      [](common::ServiceHost& host) {
        auto service = std::make_shared<recommendations::v1::RecommendationsService::CallbackService>();
        host.AddService(service.get());
        return service;
      });
}
