#include "loyalty/common/config.hpp"

#include <gtest/gtest.h>

#include <map>

namespace loyalty::common {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const ServiceDefaults kDefaults{"customers", 50052, 9102};

TEST(Config, DefaultsWorkLocally) {
  EnvReader reader(FakeEnv({}));
  auto config = ReadServiceConfig(reader, kDefaults);
  EXPECT_NO_THROW(reader.ThrowIfErrors());
  EXPECT_EQ(config.grpc_port, 50052);
  EXPECT_EQ(config.metrics_port, 9102);
  EXPECT_EQ(config.database_url, kDefaultDatabaseUrl);
  EXPECT_EQ(config.shutdown_grace, std::chrono::seconds(10));
}

TEST(Config, ReadsOverrides) {
  EnvReader reader(FakeEnv({{"LOYALTY_GRPC_PORT", "6000"},
                            {"LOYALTY_DATABASE_URL", "postgresql://x@db/loyalty"},
                            {"LOYALTY_SHUTDOWN_GRACE_SECONDS", "3"},
                            {"LOYALTY_LOG_LEVEL", "debug"}}));
  auto config = ReadServiceConfig(reader, kDefaults);
  reader.ThrowIfErrors();
  EXPECT_EQ(config.grpc_port, 6000);
  EXPECT_EQ(config.database_url, "postgresql://x@db/loyalty");
  EXPECT_EQ(config.shutdown_grace, std::chrono::seconds(3));
  EXPECT_EQ(config.log_level, "debug");
}

TEST(Config, ReportsEveryBadVariableByName) {
  EnvReader reader(FakeEnv({{"LOYALTY_GRPC_PORT", "70000"},
                            {"LOYALTY_DB_POOL_SIZE", "many"},
                            {"LOYALTY_LOG_LEVEL", "loud"},
                            {"LOYALTY_INTERNAL_TOKEN", "short"}}));
  ReadServiceConfig(reader, kDefaults);
  try {
    reader.ThrowIfErrors();
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("LOYALTY_GRPC_PORT: must be between 1 and 65535, got 70000"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("LOYALTY_DB_POOL_SIZE: must be an integer"), std::string::npos);
    EXPECT_NE(message.find("LOYALTY_LOG_LEVEL"), std::string::npos);
    EXPECT_NE(message.find("LOYALTY_INTERNAL_TOKEN"), std::string::npos);
  }
}

TEST(Config, RequiredAndAddress) {
  EnvReader reader(FakeEnv({{"LOYALTY_ORDERS_ADDR", "orders"}}));
  EXPECT_EQ(reader.Address("LOYALTY_CUSTOMERS_ADDR", "127.0.0.1:50052"), "127.0.0.1:50052");
  reader.Address("LOYALTY_ORDERS_ADDR", "127.0.0.1:50053");
  reader.Required("LOYALTY_OPERATOR_TOKEN");
  try {
    reader.ThrowIfErrors();
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("LOYALTY_ORDERS_ADDR: must be host:port"),
              std::string::npos);
    EXPECT_NE(std::string(e.what()).find("LOYALTY_OPERATOR_TOKEN: is required"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace loyalty::common
