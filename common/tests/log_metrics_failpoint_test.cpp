#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "loyalty/common/failpoint.hpp"
#include "loyalty/common/log.hpp"
#include "loyalty/common/metrics.hpp"

namespace loyalty::common {
namespace {

TEST(Log, FieldsAreOneEscapedJsonObject) {
  log::ScopedContext scope({"PlaceOrder", "corr-1", "store-9"});
  const std::string fields = log::Fields("line one\nline \"two\"", {{"code", 3}});
  EXPECT_EQ(fields.find('\n'), std::string::npos) << "a raw newline would split the line";
  auto parsed = nlohmann::json::parse("{" + fields + "}");
  EXPECT_EQ(parsed["msg"], "line one\nline \"two\"");
  EXPECT_EQ(parsed["method"], "PlaceOrder");
  EXPECT_EQ(parsed["correlation_id"], "corr-1");
  EXPECT_EQ(parsed["store_id"], "store-9");
  EXPECT_EQ(parsed["code"], 3);
}

TEST(Log, ContextIsRestoredAfterScope) {
  {
    log::ScopedContext outer({"Outer", "c1", ""});
    { log::ScopedContext inner({"Inner", "c2", "s"}); }
    EXPECT_EQ(log::Current().method, "Outer");
  }
  EXPECT_TRUE(log::Current().method.empty());
  auto parsed = nlohmann::json::parse("{" + log::Fields("m", nlohmann::json::object()) + "}");
  EXPECT_FALSE(parsed.contains("store_id"));
}

TEST(Metrics, RendersCountersHistogramsAndGauges) {
  Metrics metrics;
  metrics.RecordRpc("GetCustomer", grpc::StatusCode::OK, 0.002);
  metrics.RecordRpc("GetCustomer", grpc::StatusCode::OK, 0.2);
  metrics.RecordRpc("GetCustomer", grpc::StatusCode::NOT_FOUND, 0.0001);
  metrics.AddGauge("loyalty_test_gauge", "A test.", [] {
    return std::vector<Metrics::Sample>{{"kind=\"a\"", 7}};
  });
  const std::string text = metrics.Render();
  EXPECT_NE(text.find("loyalty_rpc_requests_total{method=\"GetCustomer\",code=\"OK\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("loyalty_rpc_requests_total{method=\"GetCustomer\",code=\"NOT_FOUND\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("loyalty_rpc_duration_seconds_bucket{method=\"GetCustomer\",le=\"0.0025\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("loyalty_rpc_duration_seconds_bucket{method=\"GetCustomer\",le=\"+Inf\"} 3"),
            std::string::npos);
  EXPECT_NE(text.find("loyalty_test_gauge{kind=\"a\"} 7"), std::string::npos);
  EXPECT_EQ(LabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(Failpoint, ParsesAndFires) {
  failpoint::Clear();
  EXPECT_NO_THROW(failpoint::Hit("x.y"));
  failpoint::Configure("x.y=throw;z=sleep:1");
  EXPECT_THROW(failpoint::Hit("x.y"), failpoint::FailpointError);
  EXPECT_NO_THROW(failpoint::Hit("z"));
  EXPECT_NO_THROW(failpoint::Hit("other"));
  EXPECT_THROW(failpoint::Configure("novalue"), std::invalid_argument);
  EXPECT_THROW(failpoint::Configure("a=explode"), std::invalid_argument);
  failpoint::Clear();
  EXPECT_NO_THROW(failpoint::Hit("x.y"));
}

}  // namespace
}  // namespace loyalty::common
