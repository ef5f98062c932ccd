// loyalty-checkout: wiring only; the rules live in the service's library.
#include "checkout_service.hpp"
#include "loyalty/common/publisher.hpp"

namespace loyalty::checkout {
const common::MigrationSet& Migrations();  // generated from migrations/
}

int main(int argc, char** argv) {
  using namespace loyalty;
  auto config = std::make_shared<checkout::CheckoutConfig>();
  int retention_hours = 0;
  return common::RunServiceMain(
      argc, argv, {"checkout", 50056, 9106}, common::WithCommonTables(checkout::Migrations()),
      [config, &retention_hours](common::EnvReader& env) {
        config->customers_addr = env.Address("LOYALTY_CUSTOMERS_ADDR", config->customers_addr);
        config->orders_addr = env.Address("LOYALTY_ORDERS_ADDR", config->orders_addr);
        config->points_addr = env.Address("LOYALTY_POINTS_ADDR", config->points_addr);
        config->recommendations_addr =
            env.Address("LOYALTY_RECOMMENDATIONS_ADDR", config->recommendations_addr);
        config->settings_cache_ms =
            env.Int("LOYALTY_CHECKOUT_SETTINGS_CACHE_MS", 30000, 0, 3600000);
        config->settings_max_stale_ms =
            env.Int("LOYALTY_CHECKOUT_SETTINGS_MAX_STALE_MS", 600000, 0, 86400000);
        config->settings_wait_ms = env.Int("LOYALTY_CHECKOUT_SETTINGS_WAIT_MS", 500, 1, 60000);
        config->recommendations_timeout_ms =
            env.Int("LOYALTY_CHECKOUT_RECOMMENDATIONS_TIMEOUT_MS", 300, 1, 60000);
        config->place_order_attempts = env.Int("LOYALTY_CHECKOUT_PLACE_ORDER_ATTEMPTS", 8, 1, 20);
        config->code_claim_ttl_seconds =
            env.Int("LOYALTY_CHECKOUT_CODE_CLAIM_TTL_SECONDS", 900, 1, 86400 * 30);
        config->job_interval_seconds =
            env.Int("LOYALTY_CHECKOUT_JOB_INTERVAL_SECONDS", 30, 1, 86400);
        retention_hours = env.Int("LOYALTY_EVENT_RETENTION_HOURS", 168, 1, 24 * 365);
      },
      [config, &retention_hours](common::ServiceHost& host) {
        struct Wiring {
          Wiring(common::ServiceHost& h, const checkout::CheckoutConfig& c, int retention)
              : service(h, c),
                // Checkout's events go to the points service, which logs them for the store.
                publisher(h, "checkout", {{"points", c.points_addr}},
                          std::chrono::hours(retention)) {}
          checkout::CheckoutService service;
          common::Publisher publisher;
        };
        auto wiring = std::make_shared<Wiring>(host, *config, retention_hours);
        host.AddService(&wiring->service);
        host.AddSingletonJob(
            "checkout.jobs", std::chrono::seconds(config->job_interval_seconds),
            [svc = &wiring->service](const common::CallContext& call, int64_t now) {
              const auto claims = svc->ExpireCodeClaimsDue(call, "", now);
              const auto carts = svc->AbandonCartsDue(call, "", now);
              const int64_t renewals = svc->AnnounceRenewalsDue(call, "", now);
              if (claims.released() + claims.kept() + carts.abandoned() + renewals > 0) {
                common::log::Info("checkout jobs ran", {{"claims_released", claims.released()},
                                                        {"claims_kept", claims.kept()},
                                                        {"carts_abandoned", carts.abandoned()},
                                                        {"cart_codes", carts.codes()},
                                                        {"renewals_announced", renewals}});
              }
            });
        return wiring;
      });
}
