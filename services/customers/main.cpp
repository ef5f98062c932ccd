// loyalty-customers: wiring only; the rules live in the service's library.
#include "customers_service.hpp"

namespace loyalty::customers {
const common::MigrationSet& Migrations();  // generated from migrations/
}

int main(int argc, char** argv) {
  using namespace loyalty;
  return common::RunServiceMain(
      argc, argv, {"customers", 50052, 9102}, common::WithCommonTables(customers::Migrations()),
      [](common::EnvReader&) {},
      [](common::ServiceHost& host) {
        auto service = std::make_shared<customers::CustomersService>(host);
        host.AddService(service.get());
        return service;
      });
}
