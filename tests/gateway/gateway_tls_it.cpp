// TLS on the gateway's gRPC port, with health also on a plaintext port of its own for probes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "loyalty/gateway/v1/gateway_service.grpc.pb.h"
#include "test_env.hpp"

namespace loyalty {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

grpc::health::v1::HealthCheckResponse::ServingStatus Check(std::shared_ptr<grpc::Channel> channel,
                                                           grpc::Status* status) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  grpc::health::v1::HealthCheckResponse response;
  *status = stub->Check(&context, {}, &response);
  return response.status();
}

TEST(GatewayTlsIT, TlsClientsWorkAndProbesReachHealthInPlaintext) {
  const auto dir = std::filesystem::temp_directory_path() / ("loyalty-tls-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string cert = (dir / "cert.pem").string();
  const std::string key = (dir / "key.pem").string();
  const std::string make_cert =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " + key + " -out " + cert +
      " >/dev/null 2>&1";
  ASSERT_EQ(std::system(make_cert.c_str()), 0);

  testing::TestDatabase db;
  const int health_port = testing::FreePort();
  testing::ServiceProcess gateway("gateway", db.url(),
                                  {{"LOYALTY_TLS_CERT_FILE", cert},
                                   {"LOYALTY_TLS_KEY_FILE", key},
                                   {"LOYALTY_HEALTH_PORT", std::to_string(health_port)}});
  const std::string probe = "127.0.0.1:" + std::to_string(health_port);
  for (int i = 0; i < 100 && testing::HealthStatus(probe, "") != "SERVING"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(testing::HealthStatus(probe, ""), "SERVING") << "probes reach readiness in plaintext";
  EXPECT_EQ(testing::HealthStatus(probe, "liveness"), "SERVING");

  grpc::SslCredentialsOptions options;
  options.pem_root_certs = Slurp(cert);
  auto tls = grpc::CreateChannel("localhost:" + std::to_string(gateway.port()),
                                 grpc::SslCredentials(options));
  grpc::Status status;
  EXPECT_EQ(Check(tls, &status), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_TRUE(status.ok()) << status.error_message();

  // The API answers over TLS (here: no key, so UNAUTHENTICATED from the gateway itself).
  auto storefront = gateway::v1::StorefrontService::NewStub(tls);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  gateway::v1::GetCustomerRequest request;
  gateway::v1::GetCustomerResponse response;
  EXPECT_EQ(storefront->GetCustomer(&context, request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  // Plaintext to the TLS port is refused, and the health port does not serve the API.
  Check(grpc::CreateChannel(gateway.address(), grpc::InsecureChannelCredentials()), &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  auto plaintext = gateway::v1::StorefrontService::NewStub(
      grpc::CreateChannel(probe, grpc::InsecureChannelCredentials()));
  grpc::ClientContext plain_context;
  plain_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  EXPECT_EQ(plaintext->GetCustomer(&plain_context, request, &response).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  std::filesystem::remove_all(dir);
}

TEST(GatewayTlsIT, HalfATlsConfigurationIsRefusedNamingTheVariable) {
  std::string output;
  EXPECT_EQ(testing::RunCapture("LOYALTY_TLS_CERT_FILE=/nonexistent.pem " LOYALTY_BIN_DIR
                                "/loyalty-gateway",
                                &output),
            2);
  EXPECT_NE(output.find("LOYALTY_TLS_KEY_FILE"), std::string::npos) << output;
}

}  // namespace
}  // namespace loyalty
