// loyalty-customers: wiring only; the rules live in the service's library.
#include "loyalty/common/server.hpp"
#include "loyalty/customers/v1/customers_service.grpc.pb.h"

namespace loyalty::customers {
const common::MigrationSet& Migrations();  // generated from migrations/
}

int main(int argc, char** argv) {
  using namespace loyalty;
  return common::RunServiceMain(
      argc, argv, {"customers", 50052, 9102}, loyalty::customers::Migrations(),
      [](common::EnvReader&) {},
      [](common::ServiceHost& host) {
        auto service = std::make_shared<customers::v1::CustomersService::CallbackService>();
        host.AddService(service.get());
        return service;
      });
}
