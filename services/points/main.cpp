// loyalty-points: wiring only; the rules live in the service's library.
#include <google/protobuf/util/time_util.h>

#include "loyalty/common/time.hpp"
#include "points_service.hpp"

namespace loyalty::points {
const common::MigrationSet& Migrations();  // generated from migrations/
}

int main(int argc, char** argv) {
  using namespace loyalty;
  std::string orders_addr;
  std::string customers_addr;
  int job_interval = 0;
  return common::RunServiceMain(
      argc, argv, {"points", 50054, 9104}, common::WithCommonTables(points::Migrations()),
      [&](common::EnvReader& env) {
        orders_addr = env.Address("LOYALTY_ORDERS_ADDR", "127.0.0.1:50053");
        customers_addr = env.Address("LOYALTY_CUSTOMERS_ADDR", "127.0.0.1:50052");
        job_interval = env.Int("LOYALTY_JOB_INTERVAL_SECONDS", 30, 1, 86400);
      },
      [&](common::ServiceHost& host) {
        struct Wiring {
          Wiring(common::ServiceHost& h, const std::string& orders, const std::string& customers)
              : service(h, common::InternalChannel(orders, "orders"),
                        common::InternalChannel(customers, "customers")),
                sink(h, "points") {
            service.Subscribe(sink);
          }
          points::PointsService service;
          common::InboxEventSink sink;
        };
        auto wiring = std::make_shared<Wiring>(host, orders_addr, customers_addr);
        host.AddService(&wiring->service);
        host.AddService(&wiring->sink);
        // One replica at a time runs the jobs (common::ServiceHost::AddSingletonJob).
        host.AddSingletonJob(
            "points.jobs", std::chrono::seconds(job_interval),
            [w = wiring.get()](const common::CallContext& call, int64_t now) {
              const int64_t released = w->service.ReleaseDue("", now);
              const int64_t expired = w->service.ExpireDue("", now);
              const int64_t holds = w->service.ExpireHolds(call, "", now);
              const int64_t first_orders = w->service.FirstOrdersDue("", now);
              const int64_t tiers = w->service.ReviewTiers("", now);
              // Last: it calls the customers service, which may be down.
              const int64_t birthdays = w->service.BirthdaysDue(call, "", now);
              if (released + expired + holds + birthdays + first_orders + tiers > 0) {
                common::log::Info("jobs ran", {{"released", released},
                                               {"expired", expired},
                                               {"holds_expired", holds},
                                               {"birthdays", birthdays},
                                               {"first_orders", first_orders},
                                               {"tier_changes", tiers}});
              }
            });
        return wiring;
      });
}
