// loyalty-health ADDRESS [SERVICE] [--wait SECONDS]
// Prints the gRPC health status of ADDRESS for SERVICE ("" = readiness, "liveness"); exits 0 only
// when SERVING. With --wait, polls until SERVING or the time is up. Used by ./dev and tests.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <iostream>
#include <string>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"

int main(int argc, char** argv) {
  std::string address;
  std::string service;
  int wait_seconds = 0;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--wait" && i + 1 < argc) {
      wait_seconds = std::stoi(argv[++i]);
    } else if (positional == 0) {
      address = arg;
      ++positional;
    } else {
      service = arg;
    }
  }
  if (address.empty()) {
    std::cerr << "usage: loyalty-health ADDRESS [SERVICE] [--wait SECONDS]\n";
    return 2;
  }
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
  for (;;) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    const auto status = stub->Check(&context, request, &response);
    const bool serving =
        status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    if (serving || std::chrono::steady_clock::now() >= until) {
      std::cout << address << " " << (service.empty() ? "readiness" : service) << ": "
                << (status.ok() ? grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
                                      response.status())
                                : "UNREACHABLE (" + status.error_message() + ")")
                << "\n";
      return serving ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}
