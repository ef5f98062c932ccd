// Failpoints: named places where a test can make the process crash, throw or stall, to prove that
// recovery works (e.g. the relay dying between delivery and acknowledgement). Off unless set;
// a production process only ever sets them from LOYALTY_FAILPOINTS, which operators never set.
//
//   LOYALTY_FAILPOINTS="relay.before_ack=crash;rpc.before_handler=sleep:2000"
//
// Actions: crash (exit 137 at once, like kill -9), throw (FailpointError), sleep:<ms>.
#pragma once

#include <stdexcept>
#include <string>

namespace loyalty::common::failpoint {

class FailpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses "name=action;name=action". Throws std::invalid_argument on a bad spec.
void Configure(const std::string& spec);
void Set(const std::string& name, const std::string& action);
void Clear();
// Runs the action set for `name`, if any. Costs one atomic load when none is set.
void Hit(const char* name);

}  // namespace loyalty::common::failpoint
