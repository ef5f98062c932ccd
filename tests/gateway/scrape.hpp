// Reads one sample of a service's Prometheus page, for tests that check what operators see.
#pragma once

#include <httplib.h>

#include <sstream>
#include <string>

namespace loyalty::gateway {

// The value of one sample (`name{labels}`) on /metrics at `port`; 0 when absent, -1 when the page
// could not be read.
inline double Metric(int port, const std::string& sample) {
  httplib::Client http("127.0.0.1", port);
  auto page = http.Get("/metrics");
  if (!page || page->status != 200) return -1;
  std::istringstream lines(page->body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
  }
  return 0;
}

}  // namespace loyalty::gateway
