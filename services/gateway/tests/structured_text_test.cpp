// loyaltyctl's settings and rule files (cli/structured_text.hpp).
#include "structured_text.hpp"

#include <gtest/gtest.h>

#include <string>

#include "loyalty/points/v1/points_service.pb.h"

namespace loyalty::ctl {
namespace {

TEST(StructuredText, YamlAndJsonGiveTheSameRules) {
  points::v1::EarnRules yaml, json;
  FromStructuredText("base_rate: 1\nmultipliers:\n  - category: tea\n    multiplier_bps: 20000\n",
                     true, &yaml, "rules.yaml");
  FromStructuredText(R"({"base_rate": 1, "multipliers": [{"category": "tea",
                     "multiplier_bps": 20000}]})", false, &json, "rules.json");
  EXPECT_EQ(yaml.SerializeAsString(), json.SerializeAsString());
  EXPECT_EQ(yaml.multipliers(0).multiplier_bps(), 20000);
}

TEST(StructuredText, SettingsTakeMemberActionsAsANestedMapping) {
  // As in examples/demo/settings.yaml: enums by name, numbers as numbers.
  points::v1::Settings settings;
  FromStructuredText("return_window_days: 30\nactions:\n  share_points: 20\n  share_cap: 3\n"
                     "  share_period: ACTION_PERIOD_MONTH\n",
                     true, &settings, "settings.yaml");
  EXPECT_EQ(settings.actions().share_points(), 20);
  EXPECT_EQ(settings.actions().share_cap(), 3);
  EXPECT_EQ(settings.actions().share_period(), points::v1::ACTION_PERIOD_MONTH);
}

// The shape of examples/demo/tiers.yaml: enums by name, nested benefits.
TEST(StructuredText, ATierProgramFromYaml) {
  points::v1::TierProgram program;
  FromStructuredText(
      "measure: TIER_MEASURE_SPEND\nwindow: TIER_WINDOW_CALENDAR_YEAR\ngrace_days: 30\n"
      "tiers:\n  - tier_id: member\n    name: Member\n    threshold: 0\n"
      "  - tier_id: gold\n    name: Gold\n    threshold: 15000\n    benefits:\n"
      "      earn_multiplier_bps: 15000\n      free_shipping: true\n",
      true, &program, "tiers.yaml");
  EXPECT_EQ(program.measure(), points::v1::TIER_MEASURE_SPEND);
  EXPECT_EQ(program.window(), points::v1::TIER_WINDOW_CALENDAR_YEAR);
  EXPECT_EQ(program.grace_days(), 30);
  ASSERT_EQ(program.tiers_size(), 2);
  EXPECT_EQ(program.tiers(1).threshold(), 15000);
  EXPECT_TRUE(program.tiers(1).benefits().free_shipping());
}

TEST(StructuredText, AnUnknownFieldIsRefusedNamingTheFile) {
  points::v1::Settings settings;
  try {
    FromStructuredText("currency: EUR\n", true, &settings, "settings.yaml");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with("settings.yaml: ")) << e.what();
  }
}

// Found by tests/fuzz/rule_file_fuzz.cpp's contract: nine levels of ten aliases name 10^9 values
// in 450 bytes; the conversion used to build them all.
TEST(StructuredText, AliasesThatExpandBeyondAnyRulesFileAreRefused) {
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) yaml += (j ? ", *a" : "*a") + std::to_string(i - 1);
    yaml += "]\n";
  }
  points::v1::EarnRules rules;
  EXPECT_THROW(FromStructuredText(yaml, true, &rules, "rules.yaml"), std::runtime_error);
}

// Found by tests/fuzz/rule_file_fuzz.cpp: an alias inside its own anchor is an endless tree, and
// the conversion recursed until the stack overflowed.
TEST(StructuredText, AnAliasInsideItsOwnAnchorIsRefused) {
  points::v1::EarnRules rules;
  EXPECT_THROW(FromStructuredText("a: &a [*a]\n", true, &rules, "rules.yaml"), std::runtime_error);
}

}  // namespace
}  // namespace loyalty::ctl
