// Everything a service that publishes events runs besides its own handlers, so that a new
// publisher gets all of it by holding one Publisher: the relay on connections of its own, the
// relay's gauges (pending, lag, dead letters), the purge of old event rows, and
// loyalty.ops.v1.OperatorService over the schema's dead letters.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "loyalty/common/events.hpp"
#include "loyalty/common/operator.hpp"

namespace loyalty::common {

class Publisher {
 public:
  // Registers the service and the background loops on `host`: call before it starts, and keep
  // the Publisher until the host has stopped. Event rows are purged after `retention`.
  Publisher(ServiceHost& host, const std::string& schema, std::vector<Subscriber> subscribers,
            std::chrono::hours retention);

 private:
  // The relay's own connections: its workers hold one each while they deliver a batch, and
  // must neither wait behind the API's calls nor make them wait.
  Database relay_db_;
  Relay relay_;
  OperatorService operator_service_;
};

}  // namespace loyalty::common
