#include "loyalty/common/publisher.hpp"

namespace loyalty::common {

Publisher::Publisher(ServiceHost& host, const std::string& schema,
                     std::vector<Subscriber> subscribers, std::chrono::hours retention)
    : relay_db_(host.config().database_url, RelayPoolSize(subscribers.size())),
      relay_(relay_db_, schema, std::move(subscribers), host.config().internal_token),
      operator_service_(host, schema) {
  host.AddService(&operator_service_);
  relay_.RegisterMetrics(host.metrics());
  host.AddBackground("outbox-relay", [this](std::stop_token stop) {
    // Background loops start once the migrations are applied: only then may the relay's
    // statements (and gauges) touch the tables.
    relay_db_.SetAvailable(true);
    relay_.Run(stop);
  });
  host.AddBackground("outbox-purge", [&host, schema, retention](std::stop_token stop) {
    PurgeEventTables(host.db(), schema, retention);
    SleepUnlessStopped(stop, std::chrono::hours(1));
  });
}

}  // namespace loyalty::common
