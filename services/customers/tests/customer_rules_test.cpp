#include "customer_rules.hpp"

#include <gtest/gtest.h>

#include <set>

namespace loyalty::customers {
namespace {

v1::Birthday B(int month, int day, int year = 0) {
  v1::Birthday b;
  b.set_month(month);
  b.set_day(day);
  b.set_year(year);
  return b;
}

TEST(Email, NormalisesAndValidates) {
  EXPECT_EQ(NormalizeEmail("  Ada.Lovelace@Example.COM \n"), "ada.lovelace@example.com");
  EXPECT_TRUE(IsValidEmail("a@b.co"));
  EXPECT_TRUE(IsValidEmail("first.last+tag@shop.example"));
  for (const char* bad : {"", "plain", "@example.com", "a@", "a@b", "a@.com", "a@b.", "a b@c.com",
                          "a@b@c.com"}) {
    EXPECT_FALSE(IsValidEmail(bad)) << bad;
  }
}

TEST(Birthday, RejectsImpossibleDates) {
  EXPECT_TRUE(IsValidBirthday(B(2, 29), 2026)) << "no year: 29 February is possible";
  EXPECT_TRUE(IsValidBirthday(B(2, 29, 2000), 2026));
  EXPECT_FALSE(IsValidBirthday(B(2, 29, 1900), 2026)) << "1900 was not a leap year";
  EXPECT_FALSE(IsValidBirthday(B(2, 30), 2026));
  EXPECT_FALSE(IsValidBirthday(B(4, 31), 2026));
  EXPECT_TRUE(IsValidBirthday(B(12, 31, 1990), 2026));
  EXPECT_FALSE(IsValidBirthday(B(13, 1), 2026));
  EXPECT_FALSE(IsValidBirthday(B(0, 1), 2026));
  EXPECT_FALSE(IsValidBirthday(B(1, 0), 2026));
  EXPECT_FALSE(IsValidBirthday(B(1, 1, 2027), 2026)) << "born in the future";
  EXPECT_FALSE(IsValidBirthday(B(1, 1, 1850), 2026));
}

TEST(Validation, NamesEachBadField) {
  common::Validator v;
  CheckEmail(v, "nope", "email");
  CheckName(v, std::string(201, 'x'), "name");
  CheckName(v, std::string(200, 'x'), "name.ok");
  CheckTags(v, {"vip", "Bad Tag"}, "tags");
  try {
    v.ThrowIfInvalid();
    FAIL();
  } catch (const common::ApiError& e) {
    ASSERT_EQ(e.fields().size(), 3u);
    EXPECT_EQ(e.fields()[0].field, "email");
    EXPECT_EQ(e.fields()[1].field, "name");
    EXPECT_EQ(e.fields()[2].field, "tags");
  }
}

TEST(Names, CountCharactersNotBytes) {
  EXPECT_EQ(CharCount("Zoë"), 3u);
  common::Validator v;
  std::string name;
  for (int i = 0; i < 200; ++i) name += "é";  // 400 bytes, 200 characters
  CheckName(v, name, "name");
  EXPECT_NO_THROW(v.ThrowIfInvalid());
}

TEST(ReferralCode, UsesAnUnambiguousAlphabet) {
  std::mt19937_64 rng(7);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto code = NewReferralCode(rng);
    ASSERT_EQ(code.size(), 8u);
    EXPECT_EQ(code.find_first_of("01IOL"), std::string::npos) << code;
    seen.insert(code);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(NormalizeReferralCode(" ab3k9xyz "), "AB3K9XYZ");
}

}  // namespace
}  // namespace loyalty::customers
