#include "lot_key.hpp"

#include <gtest/gtest.h>

namespace loyalty::points {
namespace {

TEST(LotId, IdsThatJoinedStringsConfusedStayApart) {
  // Joined with ':' both were "earn:a:b:c": the second insert failed, forever.
  EXPECT_NE(LotId(kEarnLot, {"a:b", "c"}), LotId(kEarnLot, {"a", "b:c"}));
  EXPECT_EQ(LotId(kEarnLot, {"a:b", "c"}), "earn:a%3Ab:c");
  EXPECT_EQ(LotId(kEarnLot, {"a", "b:c"}), "earn:a:b%3Ac");
  // '%' is escaped too, so an escaped-looking id is not the escape of another.
  EXPECT_NE(LotId(kEarnLot, {"a%3Ab", "c"}), LotId(kEarnLot, {"a:b", "c"}));
  EXPECT_NE(LotId(kEarnLot, {"a", ""}), LotId(kEarnLot, {"a:", ""}));
}

TEST(LotId, PlainIdsKeepTheFormExistingLotsHave) {
  EXPECT_EQ(LotId(kEarnLot, {"o-1", "l1"}), "earn:o-1:l1");
  EXPECT_EQ(LotId(kPaybackLot, {"o-1", "l1"}), "paid:o-1:l1");
  EXPECT_EQ(LotId(kAdjustLot, {"req-9"}), "adjust:req-9");
}

TEST(LotId, KindsNeverShareAnId) {
  EXPECT_NE(LotId(kEarnLot, {"o", "l"}), LotId(kPaybackLot, {"o", "l"}));
  EXPECT_NE(LotId(kAdjustLot, {"o:l"}), LotId(kEarnLot, {"o", "l"}));
}

}  // namespace
}  // namespace loyalty::points
