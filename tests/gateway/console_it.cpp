// The admin console in a real browser: the platform as real processes (GatewayIT) with the
// gateway's HTTP port on, then tests/console/browser_test.mjs (puppeteer-core driving Debian's
// headless chromium) seeds a store through the HTTP/JSON API, signs in, checks the overview's
// figures against the report RPCs, adjusts points and sees the ledger row, and saves screenshots
// to <build>/console-screenshots. Needs `npm ci` in tests/console and chromium (./dev test
// installs both) and the console built into bin/console (the admin_console target).
#include <cstdio>
#include <fstream>

#include "gateway_fixture.hpp"

namespace loyalty::gateway {
namespace {

class ConsoleIT : public GatewayIT {
 protected:
  Env GatewayEnv() const override { return {{"LOYALTY_HTTP_PORT", std::to_string(http_port_)}}; }

  int http_port_ = testing::FreePort();
};

bool Exists(const std::string& path) { return std::ifstream(path).good(); }

TEST_F(ConsoleIT, SignsInShowsTheReportsFiguresAndAdjustsPointsInChromium) {
  const std::string dir = std::string(LOYALTY_SOURCE_DIR) + "/tests/console";
  ASSERT_TRUE(Exists(dir + "/node_modules/puppeteer-core/package.json"))
      << "run `npm ci --prefix tests/console` first (./dev test does)";
  ASSERT_TRUE(Exists("/usr/bin/chromium")) << "apt-get install chromium (./dev test does)";
  ASSERT_TRUE(Exists(std::string(LOYALTY_BIN_DIR) + "/console/index.html"))
      << "the console is not built (the admin_console target needs npm)";

  const std::string command = "node " + dir + "/browser_test.mjs http://127.0.0.1:" +
                              std::to_string(http_port_) + " " + kOperatorToken + " " +
                              LOYALTY_BINARY_DIR + "/console-screenshots 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[512];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int rc = pclose(pipe);
  EXPECT_EQ(rc, 0) << output;
  EXPECT_NE(output.find("console browser test passed"), std::string::npos) << output;
}

}  // namespace
}  // namespace loyalty::gateway
