// Page tokens (page_token.hpp): what a service issues comes back; nothing else is accepted.
#include "loyalty/common/page_token.hpp"

#include "loyalty/common/versions.hpp"

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

// A versions list's page (versions.hpp): the newest first, then below the last version listed;
// a token of another list, a version that cannot be, or a page too large is refused by name.
namespace loyalty::common {
namespace {

std::vector<std::string> Refused(int32_t page_size, const std::string& token) {
  Validator v;
  CheckVersionPage(v, page_size, token);
  try {
    v.ThrowIfInvalid();
  } catch (const ApiError& e) {
    std::vector<std::string> fields;
    for (const auto& violation : e.fields()) fields.push_back(violation.field);
    return fields;
  }
  return {};
}

TEST(VersionPage, NewestFirstThenBelowTheLastListed) {
  Validator v;
  const auto first = CheckVersionPage(v, 0, "");
  EXPECT_EQ(first.before, INT32_MAX);
  EXPECT_EQ(first.size, 20);
  const auto next = CheckVersionPage(v, 5, page_token::Encode("versions", "17"));
  EXPECT_EQ(next.before, 17);
  EXPECT_EQ(next.size, 5);
  EXPECT_NO_THROW(v.ThrowIfInvalid());
  EXPECT_EQ(Refused(101, ""), std::vector<std::string>{"page_size"});
  EXPECT_EQ(Refused(-1, ""), std::vector<std::string>{"page_size"});
  for (const auto& bad : {page_token::Encode("top", "17"), page_token::Encode("versions", "0"),
                          page_token::Encode("versions", "2147483648"), std::string("17")}) {
    EXPECT_EQ(Refused(0, bad), std::vector<std::string>{"page_token"}) << bad;
  }
}

}  // namespace
}  // namespace loyalty::common
