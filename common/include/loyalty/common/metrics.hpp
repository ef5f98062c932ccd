// Prometheus metrics in the text exposition format, served over HTTP at /metrics.
// Small on purpose (prometheus-cpp is not packaged): counters and histograms for RPCs, and gauges
// that are read from callbacks at scrape time (pool sizes, outbox lag).
#pragma once

#include <grpcpp/support/status_code_enum.h>

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace loyalty::common {

class Metrics {
 public:
  // One gauge sample: labels as `key="value",...` (already escaped) and its value.
  struct Sample {
    std::string labels;
    double value = 0;
  };
  using GaugeReader = std::function<std::vector<Sample>()>;

  void RecordRpc(const std::string& method, grpc::StatusCode code, double seconds);
  // An answer given without one of its parts (`missing`: "recommendations", "points"), as the
  // degraded modes in docs/operations.md allow: counted, since the call itself is OK.
  void RecordDegraded(const std::string& method, const std::string& missing);
  void AddGauge(const std::string& name, const std::string& help, GaugeReader reader);
  // A value that only grows, kept elsewhere and read when scraped.
  void AddCounter(const std::string& name, const std::string& help, GaugeReader reader);
  std::string Render() const;

  // Latency buckets in seconds, upper bounds.
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  5.0};

 private:
  struct Histogram {
    std::array<long long, kBuckets.size()> buckets{};
    long long count = 0;
    double sum = 0;
  };
  struct Gauge {
    std::string name;
    std::string help;
    GaugeReader reader;
    const char* type = "gauge";  // or "counter"
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, long long> requests_;
  std::map<std::pair<std::string, std::string>, long long> degraded_;
  std::map<std::string, Histogram> durations_;
  std::vector<Gauge> gauges_;
};

// The canonical name of a gRPC status code ("OK", "NOT_FOUND", ...), "UNKNOWN" when out of range.
const char* StatusCodeName(int code);

// Escapes a label value for the exposition format.
std::string LabelValue(const std::string& value);

// Serves GET /metrics on 0.0.0.0:port from a thread of its own.
class MetricsServer {
 public:
  MetricsServer(const Metrics& metrics, int port);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loyalty::common
