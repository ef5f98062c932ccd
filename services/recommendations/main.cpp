// loyalty-recommendations: wiring only; the rules live in the service's library.
#include "loyalty/common/events.hpp"
#include "recommendations_service.hpp"

namespace loyalty::recommendations {
const common::MigrationSet& Migrations();  // generated from migrations/
}

int main(int argc, char** argv) {
  using namespace loyalty;
  recommendations::Settings settings;
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
