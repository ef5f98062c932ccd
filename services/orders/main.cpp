// loyalty-orders: wiring only; the rules live in the service's library.
#include "loyalty/common/server.hpp"
#include "loyalty/orders/v1/orders_service.grpc.pb.h"

namespace loyalty::orders {
const common::MigrationSet& Migrations();  // generated from migrations/
}

int main(int argc, char** argv) {
  using namespace loyalty;
  return common::RunServiceMain(
      argc, argv, {"orders", 50053, 9103}, common::WithCommonTables(loyalty::orders::Migrations()),
      [](common::EnvReader&) {},
      [](common::ServiceHost& host) {
        auto service = std::make_shared<orders::v1::OrdersService::CallbackService>();
        host.AddService(service.get());
        return service;
      });
}
