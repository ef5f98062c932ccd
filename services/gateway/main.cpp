// loyalty-gateway: wiring only; the rules live in the service's library.
#include <grpcpp/security/server_credentials.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "admin_service.hpp"
#include "http/http_front.hpp"
#include "storefront_service.hpp"
#include "webhooks/webhook_dispatcher.hpp"

namespace loyalty::gateway {
const common::MigrationSet& Migrations();  // generated from migrations/
}

namespace {

std::string ReadFile(loyalty::common::EnvReader& env, const std::string& variable,
                     const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) env.Reject(variable, "cannot read \"" + path + "\"");
  return text.str();
}

// The admin console's directory: LOYALTY_CONSOLE_DIR, or else `console` next to the binary when
// the build put it there (cmake builds it into bin/console, beside loyalty-gateway). "" when
// there is none: the gateway then serves no console.
std::string ConsoleDir(loyalty::common::EnvReader& env) {
  namespace fs = std::filesystem;
  const std::string dir = env.String("LOYALTY_CONSOLE_DIR", "");
  if (!dir.empty()) {
    if (!fs::is_regular_file(fs::path(dir) / "index.html")) {
      env.Reject("LOYALTY_CONSOLE_DIR", "has no index.html: \"" + dir + "\"");
    }
    return dir;
  }
  std::error_code error;
  const auto beside = fs::read_symlink("/proc/self/exe", error).parent_path() / "console";
  return !error && fs::is_regular_file(beside / "index.html") ? beside.string() : "";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace loyalty;
  auto config = std::make_shared<gateway::GatewayConfig>();
  // Optional TLS on the gRPC port; probes then use the plaintext health port.
  auto tls = std::make_shared<grpc::SslServerCredentialsOptions::PemKeyCertPair>();
  auto health_port = std::make_shared<int>(0);
  auto http = std::make_shared<gateway::http::HttpOptions>();
  auto hooks = std::make_shared<gateway::webhooks::DispatcherOptions>();
  return common::RunServiceMain(
      argc, argv, {"gateway", 50051, 9101}, common::WithCommonTables(gateway::Migrations()),
      [config, tls, health_port, http, hooks](common::EnvReader& env) {
        config->customers_addr = env.Address("LOYALTY_CUSTOMERS_ADDR", config->customers_addr);
        config->orders_addr = env.Address("LOYALTY_ORDERS_ADDR", config->orders_addr);
        config->points_addr = env.Address("LOYALTY_POINTS_ADDR", config->points_addr);
        config->recommendations_addr =
            env.Address("LOYALTY_RECOMMENDATIONS_ADDR", config->recommendations_addr);
        config->checkout_addr = env.Address("LOYALTY_CHECKOUT_ADDR", config->checkout_addr);
        // Required in production; the dev default keeps `./dev up` working.
        config->operator_token =
            env.String("LOYALTY_OPERATOR_TOKEN", gateway::kDefaultOperatorToken);
        if (config->operator_token.size() < 16) {
          env.Reject("LOYALTY_OPERATOR_TOKEN", "must be at least 16 characters");
        }
        config->default_rate_limit = env.Int("LOYALTY_GATEWAY_RATE_LIMIT", 100, 1, 1000000);
        config->key_cache_ms = env.Int("LOYALTY_GATEWAY_KEY_CACHE_MS", 2000, 0, 60000);
        config->settings_cache_ms = env.Int("LOYALTY_GATEWAY_SETTINGS_CACHE_MS", 30000, 0, 3600000);
        const std::string cert = env.String("LOYALTY_TLS_CERT_FILE", "");
        const std::string key = env.String("LOYALTY_TLS_KEY_FILE", "");
        if (cert.empty() != key.empty()) {
          env.Reject(cert.empty() ? "LOYALTY_TLS_CERT_FILE" : "LOYALTY_TLS_KEY_FILE",
                     "set both LOYALTY_TLS_CERT_FILE and LOYALTY_TLS_KEY_FILE, or neither");
        } else if (!cert.empty()) {
          tls->cert_chain = ReadFile(env, "LOYALTY_TLS_CERT_FILE", cert);
          tls->private_key = ReadFile(env, "LOYALTY_TLS_KEY_FILE", key);
          http->tls_cert_file = cert;  // the HTTP port serves HTTPS with the same pair
          http->tls_key_file = key;
        }
        http->port = env.Int("LOYALTY_HTTP_PORT", http->port, 0, 65535);
        http->max_body_bytes = static_cast<std::size_t>(
            env.Int("LOYALTY_HTTP_MAX_BODY_BYTES", static_cast<int>(http->max_body_bytes), 1024,
                    64 * 1024 * 1024));
        http->console_dir = ConsoleDir(env);
        *health_port = env.Int("LOYALTY_HEALTH_PORT", 0, 0, 65535);
        // Webhooks (docs/webhooks.md).
        hooks->workers = env.Int("LOYALTY_WEBHOOK_WORKERS", hooks->workers, 0, 64);
        hooks->poll_ms = env.Int("LOYALTY_WEBHOOK_POLL_MS", hooks->poll_ms, 50, 60000);
        hooks->send.allow_private = env.Int("LOYALTY_WEBHOOKS_ALLOW_PRIVATE", 0, 0, 1) == 1;
        hooks->send.timeout =
            std::chrono::milliseconds(env.Int("LOYALTY_WEBHOOK_TIMEOUT_MS", 15000, 100, 60000));
        const std::string scale = env.String("LOYALTY_WEBHOOK_RETRY_SCALE", "1");
        char* end = nullptr;
        hooks->retry_scale = std::strtod(scale.c_str(), &end);
        if (end == scale.c_str() || *end != '\0' || !(hooks->retry_scale > 0.0) ||
            hooks->retry_scale > 1.0) {
          env.Reject("LOYALTY_WEBHOOK_RETRY_SCALE", "must be a number above 0 and at most 1");
        }
      },
      [config, tls, health_port, http, hooks](common::ServiceHost& host) {
        // Storefronts and admins authenticate with API keys, not the internal token.
        host.SetRequireInternalToken(false);
        if (!tls->cert_chain.empty()) {
          grpc::SslServerCredentialsOptions options;
          options.pem_key_cert_pairs.push_back(*tls);
          host.SetServerCredentials(grpc::SslServerCredentials(options));
        }
        host.SetHealthPort(*health_port);
        struct Services {
          Services(common::ServiceHost& h, gateway::GatewayConfig c,
                   gateway::webhooks::DispatcherOptions d)
              : gateway(h, std::move(c)), storefront(gateway), admin(gateway),
                dispatcher(gateway, d) {}
          gateway::Gateway gateway;
          gateway::StorefrontService storefront;
          gateway::AdminService admin;
          gateway::webhooks::Dispatcher dispatcher;
          std::unique_ptr<gateway::http::HttpFront> http;  // stops first: it calls the others
        };
        auto services = std::make_shared<Services>(host, *config, *hooks);
        host.AddService(&services->storefront);
        host.AddService(&services->admin);
        for (int i = 0; i < hooks->workers; ++i) {
          host.AddBackground("webhooks-" + std::to_string(i),
                             [d = &services->dispatcher](std::stop_token stop) { d->Run(stop); });
        }
        if (http->port != 0) {
          services->http = std::make_unique<gateway::http::HttpFront>(
              host, *http,
              gateway::http::PublicServices());
        }
        return services;
      });
}
