// Which request paths reach which console file, and the types they are served with.
#include <gtest/gtest.h>


#include "http/console_files.hpp"

namespace loyalty::gateway::http {
namespace {

TEST(ConsoleFileName, TheConsoleRootIsItsIndex) {
  EXPECT_EQ(ConsoleFileName("/admin"), "index.html");
  EXPECT_EQ(ConsoleFileName("/admin/"), "index.html");
  EXPECT_EQ(ConsoleFileName("/admin/app.js"), "app.js");
}

TEST(ConsoleFileName, NothingOutsideTheConsolesOwnFlatDirectory) {
  EXPECT_EQ(ConsoleFileName("/adminx"), std::nullopt);
  EXPECT_EQ(ConsoleFileName("/v1/admin"), std::nullopt);
  EXPECT_EQ(ConsoleFileName("/admin/../secret"), std::nullopt);
  EXPECT_EQ(ConsoleFileName("/admin/..%2fsecret"), std::nullopt);
  EXPECT_EQ(ConsoleFileName("/admin/.env"), std::nullopt);
  EXPECT_EQ(ConsoleFileName("/admin/a/b.js"), std::nullopt);
  EXPECT_EQ(ConsoleFileName("/admin/a\\b.js"), std::nullopt);
}

TEST(ConsoleContentType, ByExtension) {
  EXPECT_EQ(ConsoleContentType("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ConsoleContentType("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ConsoleContentType("app.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ConsoleContentType("README"), "application/octet-stream");
}

TEST(ConsoleSecurityPolicy, NoInlineScriptNoOtherOrigin) {
  const std::string policy = kConsoleSecurityPolicy;
  EXPECT_NE(policy.find("script-src 'self';"), std::string::npos);
  EXPECT_EQ(policy.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(policy.find("http"), std::string::npos);
  EXPECT_EQ(policy.find('*'), std::string::npos);
}

}  // namespace
}  // namespace loyalty::gateway::http
