// loyalty-orders: wiring only; the rules live in the service's library.
#include "loyalty/common/publisher.hpp"
#include "orders_service.hpp"

namespace loyalty::orders {
const common::MigrationSet& Migrations();  // generated from migrations/
}

namespace {

// LOYALTY_ORDER_EVENT_SUBSCRIBERS="points=host:port,recommendations=host:port" overrides the
// subscribers derived from LOYALTY_POINTS_ADDR and LOYALTY_RECOMMENDATIONS_ADDR.
std::vector<loyalty::common::Subscriber> ParseSubscribers(loyalty::common::EnvReader& env,
                                                          const std::string& spec) {
  std::vector<loyalty::common::Subscriber> subscribers;
  size_t start = 0;
  while (start < spec.size()) {
    size_t end = spec.find(',', start);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(start, end - start);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || item.find(':', eq) == std::string::npos) {
      env.Reject("LOYALTY_ORDER_EVENT_SUBSCRIBERS", "must be name=host:port,...; got \"" + item + "\"");
    } else {
      subscribers.push_back({item.substr(0, eq), item.substr(eq + 1)});
    }
    start = end + 1;
  }
  return subscribers;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace loyalty;
  std::string customers_addr;
  std::vector<common::Subscriber> subscribers;
  int retention_hours = 0;
  return common::RunServiceMain(
      argc, argv, {"orders", 50053, 9103}, common::WithCommonTables(orders::Migrations()),
      [&](common::EnvReader& env) {
        customers_addr = env.Address("LOYALTY_CUSTOMERS_ADDR", "127.0.0.1:50052");
        const std::string points = env.Address("LOYALTY_POINTS_ADDR", "127.0.0.1:50054");
        const std::string recs = env.Address("LOYALTY_RECOMMENDATIONS_ADDR", "127.0.0.1:50055");
        subscribers = ParseSubscribers(
            env, env.String("LOYALTY_ORDER_EVENT_SUBSCRIBERS",
                            "points=" + points + ",recommendations=" + recs));
        retention_hours = env.Int("LOYALTY_EVENT_RETENTION_HOURS", 168, 1, 24 * 365);
      },
      [&](common::ServiceHost& host) {
        std::vector<std::string> names;
        for (const auto& s : subscribers) names.push_back(s.name);
        struct Wiring {
          Wiring(common::ServiceHost& h, const std::string& customers,
                 const std::vector<std::string>& names,
                 const std::vector<common::Subscriber>& subs, std::chrono::hours retention)
              : service(h, common::InternalChannel(customers, "customers"), names),
                publisher(h, "orders", subs, retention) {}
          orders::OrdersService service;
          // The relay, its metrics, the purge and the dead-letter operations.
          common::Publisher publisher;
        };
        auto wiring = std::make_shared<Wiring>(host, customers_addr, names, subscribers,
                                               std::chrono::hours(retention_hours));
        host.AddService(&wiring->service);
        return wiring;
      });
}
