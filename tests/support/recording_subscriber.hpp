// A real event subscriber for tests: a gRPC server (ServiceHost + InboxEventSink) that records
// every event it applies in <schema>.applied and counts every delivery, duplicates included.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "loyalty/common/events.hpp"

namespace loyalty::testing {

class RecordingSubscriber {
 public:
  // Applies events of `types`; events of type "test.poison" are rejected as invalid. Handlers of
  // "test.refused" (FAILED_PRECONDITION), "test.constraint" (a NOT NULL violation) and
  // "test.duplicate" (a unique violation) fail for good; "test.unavailable" fails as a database
  // that is down.
  RecordingSubscriber(const std::string& database_url, const std::string& schema, int port,
                      const std::vector<std::string>& types);
  ~RecordingSubscriber();
  void Stop();
  // While on, events of `types` are rejected as invalid too (as a subscriber with a bug would),
  // so that they are dead-lettered; turned off, a retried one is applied.
  void SetRejecting(bool rejecting) { rejecting_ = rejecting; }
  int deliveries() const { return deliveries_; }
  // Runs of the "test.duplicate" handler.
  int duplicate_runs() const { return duplicate_runs_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  class CountingSink;
  int port_;
  std::atomic<int> deliveries_{0};
  std::atomic<int> duplicate_runs_{0};
  std::atomic<bool> rejecting_{false};
  std::unique_ptr<common::ServiceHost> host_;
  std::unique_ptr<CountingSink> sink_;
};

}  // namespace loyalty::testing
