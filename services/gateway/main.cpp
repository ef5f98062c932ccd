// loyalty-gateway: wiring only; the rules live in the service's library.
#include "loyalty/common/server.hpp"
#include "loyalty/gateway/v1/gateway_service.grpc.pb.h"

namespace loyalty::gateway {
const common::MigrationSet& Migrations();  // generated from migrations/
}

int main(int argc, char** argv) {
  using namespace loyalty;
  return common::RunServiceMain(
      argc, argv, {"gateway", 50051, 9101}, common::WithCommonTables(gateway::Migrations()),
      [](common::EnvReader&) {},
      [](common::ServiceHost& host) {
        // Storefronts and admins authenticate with API keys (issue 7), not the internal token.
        host.SetRequireInternalToken(false);
        struct Services {
          gateway::v1::StorefrontService::CallbackService storefront;
          gateway::v1::AdminService::CallbackService admin;
        };
        auto services = std::make_shared<Services>();
        host.AddService(&services->storefront);
        host.AddService(&services->admin);
        return services;
      });
}
