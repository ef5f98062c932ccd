// Page tokens (page_token.hpp): what a service issues comes back; nothing else is accepted.
#include "loyalty/common/page_token.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace loyalty::common::page_token {
namespace {

TEST(PageToken, ReportTokensRoundTripAndBelongToTheirReport) {
  const auto token = Encode("top", "100");
  EXPECT_EQ(Decode("top", token), "100");
  EXPECT_EQ(Decode("top", ""), "");  // the first page
  EXPECT_EQ(Encode("top", ""), "");  // no next page
  EXPECT_FALSE(Decode("rfm", token));
  EXPECT_FALSE(Decode("to", token));
  EXPECT_FALSE(Decode("top", Encode("top", "100") + "0"));
  EXPECT_FALSE(Decode("top", "746f703a"));  // "top:" with no cursor
}

TEST(PageToken, IntegersInExactlyTheFormIssued) {
  EXPECT_EQ(ParseInt("42"), 42);
  EXPECT_EQ(ParseInt("-9223372036854775808"), INT64_MIN);
  // std::stoll, used before, took all of these.
  for (const char* lax : {" 42", "+42", "042", "42abc", "42 ", "", "9223372036854775808"}) {
    EXPECT_FALSE(ParseInt(lax)) << lax;
  }
}

TEST(PageToken, TimeAndIdCursors) {
  const TimeId cursor{1767225600000000, "order:7"};
  EXPECT_EQ(FormatTimeId(cursor, ':'), "1767225600000000:order:7");
  const auto back = ParseTimeId(FormatTimeId(cursor, ':'), ':');
  ASSERT_TRUE(back);
  EXPECT_EQ(back->micros, cursor.micros);
  EXPECT_EQ(back->id, "order:7");
  EXPECT_FALSE(ParseTimeId("12x:order", ':'));
  EXPECT_FALSE(ParseTimeId("12 order", ':'));
}

}  // namespace
}  // namespace loyalty::common::page_token
