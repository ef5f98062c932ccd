// loyalty-points: wiring only; the rules live in the service's library.
#include "loyalty/common/server.hpp"
#include "loyalty/points/v1/points_service.grpc.pb.h"

namespace loyalty::points {
const common::MigrationSet& Migrations();  // generated from migrations/
}

int main(int argc, char** argv) {
  using namespace loyalty;
  return common::RunServiceMain(
      argc, argv, {"points", 50054, 9104}, common::WithCommonTables(loyalty::points::Migrations()),
      [](common::EnvReader&) {},
      [](common::ServiceHost& host) {
        auto service = std::make_shared<points::v1::PointsService::CallbackService>();
        host.AddService(service.get());
        return service;
      });
}
