#include "loyalty/common/metrics.hpp"

#include <httplib.h>

#include <sstream>

#include "loyalty/common/log.hpp"

namespace loyalty::common {

const char* StatusCodeName(int code) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN";
}

std::string LabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void Metrics::RecordRpc(const std::string& method, grpc::StatusCode code, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{method, static_cast<int>(code)}];
  auto& h = durations_[method];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::RecordDegraded(const std::string& method, const std::string& missing) {
  std::lock_guard lock(mutex_);
  ++degraded_[{method, missing}];
}

void Metrics::AddGauge(const std::string& name, const std::string& help, GaugeReader reader) {
  std::lock_guard lock(mutex_);
  gauges_.push_back({name, help, std::move(reader)});
}

void Metrics::AddCounter(const std::string& name, const std::string& help, GaugeReader reader) {
  std::lock_guard lock(mutex_);
  gauges_.push_back({name, help, std::move(reader), "counter"});
}

std::string Metrics::Render() const {
  std::ostringstream out;
  std::vector<Gauge> gauges;
  {
    std::lock_guard lock(mutex_);
    out << "# HELP loyalty_rpc_requests_total RPCs handled, by method and status code.\n"
        << "# TYPE loyalty_rpc_requests_total counter\n";
    for (const auto& [key, count] : requests_) {
      out << "loyalty_rpc_requests_total{method=\"" << LabelValue(key.first) << "\",code=\""
          << StatusCodeName(key.second) << "\"} " << count << "\n";
    }
    out << "# HELP loyalty_degraded_answers_total Answers given without a part, by method and "
           "the part missing.\n"
        << "# TYPE loyalty_degraded_answers_total counter\n";
    for (const auto& [key, count] : degraded_) {
      out << "loyalty_degraded_answers_total{method=\"" << LabelValue(key.first)
          << "\",missing=\"" << LabelValue(key.second) << "\"} " << count << "\n";
    }
    out << "# HELP loyalty_rpc_duration_seconds RPC latency, by method.\n"
        << "# TYPE loyalty_rpc_duration_seconds histogram\n";
    for (const auto& [method, h] : durations_) {
      const std::string label = "method=\"" + LabelValue(method) + "\"";
      for (size_t i = 0; i < kBuckets.size(); ++i) {
        out << "loyalty_rpc_duration_seconds_bucket{" << label << ",le=\"" << kBuckets[i] << "\"} "
            << h.buckets[i] << "\n";
      }
      out << "loyalty_rpc_duration_seconds_bucket{" << label << ",le=\"+Inf\"} " << h.count << "\n"
          << "loyalty_rpc_duration_seconds_sum{" << label << "} " << h.sum << "\n"
          << "loyalty_rpc_duration_seconds_count{" << label << "} " << h.count << "\n";
    }
    gauges = gauges_;
  }
  // Readers may touch the database: call them without holding our lock.
  for (const auto& gauge : gauges) {
    out << "# HELP " << gauge.name << " " << gauge.help << "\n# TYPE " << gauge.name << " "
        << gauge.type << "\n";
    try {
      for (const auto& sample : gauge.reader()) {
        out << gauge.name;
        if (!sample.labels.empty()) out << "{" << sample.labels << "}";
        out << " " << sample.value << "\n";
      }
    } catch (const std::exception& e) {
      log::WarnEvery("metrics gauge " + gauge.name, log::kRepeatInterval, "metrics gauge failed",
                     {{"gauge", gauge.name}, {"error", e.what()}});
    }
  }
  return out.str();
}

struct MetricsServer::Impl {
  httplib::Server http;
  std::thread thread;
};

MetricsServer::MetricsServer(const Metrics& metrics, int port) : impl_(std::make_unique<Impl>()) {
  impl_->http.Get("/metrics", [&metrics](const httplib::Request&, httplib::Response& response) {
    response.set_content(metrics.Render(), "text/plain; version=0.0.4");
  });
  if (!impl_->http.bind_to_port("0.0.0.0", port)) {
    throw std::runtime_error("cannot listen for metrics on port " + std::to_string(port));
  }
  impl_->thread = std::thread([this] { impl_->http.listen_after_bind(); });
}

MetricsServer::~MetricsServer() {
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace loyalty::common
