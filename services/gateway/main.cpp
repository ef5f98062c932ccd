// loyalty-gateway: wiring only; the rules live in the service's library.
#include "admin_service.hpp"
#include "storefront_service.hpp"

namespace loyalty::gateway {
const common::MigrationSet& Migrations();  // generated from migrations/
}

int main(int argc, char** argv) {
  using namespace loyalty;
  auto config = std::make_shared<gateway::GatewayConfig>();
  return common::RunServiceMain(
      argc, argv, {"gateway", 50051, 9101}, common::WithCommonTables(gateway::Migrations()),
      [config](common::EnvReader& env) {
        config->customers_addr = env.Address("LOYALTY_CUSTOMERS_ADDR", config->customers_addr);
        config->orders_addr = env.Address("LOYALTY_ORDERS_ADDR", config->orders_addr);
        config->points_addr = env.Address("LOYALTY_POINTS_ADDR", config->points_addr);
        config->recommendations_addr =
            env.Address("LOYALTY_RECOMMENDATIONS_ADDR", config->recommendations_addr);
        // Required in production; the dev default keeps `./dev up` working.
        config->operator_token =
            env.String("LOYALTY_OPERATOR_TOKEN", gateway::kDefaultOperatorToken);
        if (config->operator_token.size() < 16) {
          env.Reject("LOYALTY_OPERATOR_TOKEN", "must be at least 16 characters");
        }
        config->default_rate_limit = env.Int("LOYALTY_GATEWAY_RATE_LIMIT", 100, 1, 1000000);
        config->key_cache_ms = env.Int("LOYALTY_GATEWAY_KEY_CACHE_MS", 2000, 0, 60000);
        config->recommendations_timeout_ms =
            env.Int("LOYALTY_GATEWAY_RECOMMENDATIONS_TIMEOUT_MS", 300, 1, 60000);
        config->place_order_attempts = env.Int("LOYALTY_GATEWAY_PLACE_ORDER_ATTEMPTS", 3, 1, 10);
      },
      [config](common::ServiceHost& host) {
        // Storefronts and admins authenticate with API keys, not the internal token.
        host.SetRequireInternalToken(false);
        struct Services {
          explicit Services(common::ServiceHost& h, gateway::GatewayConfig c)
              : gateway(h, std::move(c)), storefront(gateway), admin(gateway) {}
          gateway::Gateway gateway;
          gateway::StorefrontService storefront;
          gateway::AdminService admin;
        };
        auto services = std::make_shared<Services>(host, *config);
        host.AddService(&services->storefront);
        host.AddService(&services->admin);
        return services;
      });
}
