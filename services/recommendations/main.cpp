// loyalty-recommendations: wiring only; the rules live in the service's library.
#include <cstdlib>
#include <string>

#include "loyalty/common/events.hpp"
#include "recommendations_service.hpp"

namespace loyalty::recommendations {
const common::MigrationSet& Migrations();  // generated from migrations/
}

namespace {

// Every connection of this service plans each prepared statement once, generically. The hot
// statements take a cart's SKUs as an array: a custom plan sees the array's length, so Postgres
// kept planning them on every call (planning cost as much as running most of them). Their plans
// are index ranges and key lookups per cart item, right whatever the parameters.
// RebuildModel, run once per call, asks for a custom plan in its own transaction. libpq applies
// PGOPTIONS to every connection; an `options` parameter in LOYALTY_DATABASE_URL replaces it, and
// an operator's own plan_cache_mode in PGOPTIONS is kept.
void UseGenericPlans() {
  const char* current = std::getenv("PGOPTIONS");
  std::string options = current ? current : "";
  if (options.find("plan_cache_mode") != std::string::npos) return;
  options += (options.empty() ? "" : " ") + std::string("-c plan_cache_mode=force_generic_plan");
  setenv("PGOPTIONS", options.c_str(), 1);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace loyalty;
  recommendations::Settings settings;
  UseGenericPlans();
  return common::RunServiceMain(
      argc, argv, {"recommendations", 50055, 9105},
      common::WithCommonTables(recommendations::Migrations()),
      [&](common::EnvReader& env) {
        settings.candidates = env.Int("LOYALTY_RECOMMENDATIONS_CANDIDATES",
                                      recommendations::kDefaultCandidates, 1, 1000);
        settings.rebuild_timeout = std::chrono::seconds(
            env.Int("LOYALTY_RECOMMENDATIONS_REBUILD_TIMEOUT_SECONDS", 300, 1, 86400));
      },
      [&](common::ServiceHost& host) {
        struct Wiring {
          Wiring(common::ServiceHost& host, const recommendations::Settings& settings)
              : service(host, settings), sink(host, "recommendations") {
            service.Subscribe(sink);
          }
          recommendations::RecommendationsService service;
          common::InboxEventSink sink;
        };
        auto wiring = std::make_shared<Wiring>(host, settings);
        host.AddService(&wiring->service);
        host.AddService(&wiring->sink);
        return wiring;
      });
}
