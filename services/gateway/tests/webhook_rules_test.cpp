// Webhook rules without I/O: signatures (the Standard Webhooks reference vector), secrets, URL
// parsing, the address rule, the retry schedule.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <vector>

#include "webhooks/webhook_rules.hpp"

namespace loyalty::gateway::webhooks {
namespace {

TEST(WebhookRules, SignsLikeTheStandardWebhooksReference) {
  // The vector the standard's libraries test with (checked with npm standardwebhooks 1.1.1).
  const auto sig = Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                        1614265330, R"({"test": 2432232314})");
  ASSERT_TRUE(sig.has_value());
  EXPECT_EQ(*sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  EXPECT_FALSE(Sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id", 1, "{}").has_value());
  EXPECT_FALSE(Sign("whsec_", "id", 1, "{}").has_value());
}

TEST(WebhookRules, RotationSendsBothSignaturesSpaceSeparated) {
  const std::string a = NewSecret(), b = NewSecret();
  const auto header = SignatureHeader({a, b}, "evt_1", 5, "{}");
  EXPECT_EQ(header, *Sign(a, "evt_1", 5, "{}") + " " + *Sign(b, "evt_1", 5, "{}"));
}

TEST(WebhookRules, SecretsAreWhsecAndAtLeast24RandomBytes) {
  const auto s = NewSecret();
  ASSERT_TRUE(s.starts_with("whsec_"));
  const auto bytes = Base64Decode(s.substr(6));
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(bytes->size(), 24u);
  EXPECT_NE(s, NewSecret());
}

TEST(WebhookRules, Base64RoundTrips) {
  const std::vector<std::string> texts = {"",     "a", "ab", "abc",
                                          "abcd", std::string("\0\xff\x10", 3)};
  for (const auto& text : texts) {
    EXPECT_EQ(Base64Decode(Base64Encode(text)), text);
  }
  EXPECT_FALSE(Base64Decode("abc").has_value());
}

TEST(WebhookRules, ParsesOnlyHttpUrlsWithoutCredentials) {
  std::string why;
  auto u = ParseUrl("https://example.com/hooks?x=1#frag", &why);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/hooks?x=1");
  u = ParseUrl("http://127.0.0.1:8081", &why);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->port, 8081);
  EXPECT_EQ(u->target, "/");
  u = ParseUrl("http://[::1]:9/x", &why);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "::1");
  for (const char* bad : {"ftp://x/", "http://", "http://user:pw@x/", "http://x:0/",
                          "http://x:99999/", "http://x:/", "http://a b/", "example.com"}) {
    EXPECT_FALSE(ParseUrl(bad, &why).has_value()) << bad;
    EXPECT_FALSE(why.empty());
  }
}

bool Forbidden(const char* text) {
  sockaddr_storage s{};
  if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in*>(&s)->sin_addr) == 1) {
    s.ss_family = AF_INET;
  } else if (inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6*>(&s)->sin6_addr) == 1) {
    s.ss_family = AF_INET6;
  } else {
    ADD_FAILURE() << text;
  }
  return IsForbiddenAddress(reinterpret_cast<sockaddr*>(&s));
}

TEST(WebhookRules, RefusesPrivateLoopbackAndLinkLocalAddresses) {
  for (const char* a : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                        "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
                        "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12::1",
                        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "ff02::1"}) {
    EXPECT_TRUE(Forbidden(a)) << a;
  }
  for (const char* a : {"93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700::1111",
                        "::ffff:8.8.8.8"}) {
    EXPECT_FALSE(Forbidden(a)) << a;
  }
}

TEST(WebhookRules, RetryScheduleWithJitterAndScale) {
  using std::chrono::milliseconds;
  EXPECT_EQ(ScheduleLength(), 10);
  EXPECT_EQ(RetryDelay(1, 1.0, 0.5), milliseconds(0));
  EXPECT_EQ(RetryDelay(2, 1.0, 0.5), milliseconds(5000));  // jitter 1.0 at the middle
  EXPECT_EQ(RetryDelay(10, 1.0, 0.5), milliseconds(24 * 3600 * 1000));
  EXPECT_GE(RetryDelay(3, 1.0, 0.0)->count(), 240000);  // 5 min - 20 %
  EXPECT_LT(RetryDelay(3, 1.0, 1.0)->count(), 360000);  // 5 min + 20 %
  EXPECT_EQ(RetryDelay(4, 0.001, 0.5), milliseconds(1800));
  EXPECT_FALSE(RetryDelay(11, 1.0, 0.5).has_value());
  EXPECT_FALSE(RetryDelay(0, 1.0, 0.5).has_value());
}

TEST(WebhookRules, RetryAfterSecondsOnly) {
  EXPECT_EQ(ParseRetryAfter("120"), std::chrono::seconds(120));
  EXPECT_FALSE(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT").has_value());
  EXPECT_FALSE(ParseRetryAfter("-1").has_value());
  EXPECT_FALSE(ParseRetryAfter("").has_value());
}

TEST(WebhookRules, WebhookIdIsTheEventIdOfTheCursor) {
  EXPECT_EQ(WebhookId("812:42"), "evt_42");
  EXPECT_TRUE(Wanted({}, "points.earned"));
  EXPECT_TRUE(Wanted({"points.earned"}, "points.earned"));
  EXPECT_FALSE(Wanted({"points.earned"}, "points.adjusted"));
}

}  // namespace
}  // namespace loyalty::gateway::webhooks
