// Subscriptions' rules (subscription_rules.hpp): creates, changes and when an order renews.
#include "subscription_rules.hpp"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>

namespace loyalty::checkout {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int64_t kDay = 24 * kMicrosPerHour;
constexpr int64_t kNow = 1'780'000'000'000'000;  // 2026-05-28

gateway::v1::CreateSubscriptionRequest ValidCreate() {
  gateway::v1::CreateSubscriptionRequest c;
  c.set_request_id("r-1");
  c.set_customer_id("alice");
  c.set_subscription_id("sub-1");
  auto* line = c.add_lines();
  line->set_sku("coffee-1kg");
  line->set_quantity(2);
  c.set_interval_days(30);
  return c;
}

std::map<std::string, std::string> Fields(const gateway::v1::CreateSubscriptionRequest& c) {
  common::Validator v;
  CheckCreate(v, c);
  CheckFirstRenewal(v, c, kNow);
  std::map<std::string, std::string> fields;
  try {
    v.ThrowIfInvalid();
  } catch (const common::ApiError& e) {
    for (const auto& f : e.fields()) fields[f.field] = f.description;
  }
  return fields;
}

TEST(SubscriptionRules, AValidCreateStartsOneIntervalOnWithTheDefaultNotice) {
  EXPECT_TRUE(Fields(ValidCreate()).empty());
  const auto terms = StartTerms(ValidCreate(), kNow);
  EXPECT_EQ(terms.next_renewal_us, kNow + 30 * kDay);
  EXPECT_EQ(terms.notice_hours, kDefaultNoticeHours);
  EXPECT_EQ(NoticeStart(terms), kNow + 30 * kDay - 72 * kMicrosPerHour);
  EXPECT_EQ(terms.status, gateway::v1::SUBSCRIPTION_STATUS_ACTIVE);
}

TEST(SubscriptionRules, EachBadFieldIsNamed) {
  auto c = ValidCreate();
  c.set_interval_days(0);
  c.set_notice_hours(721);
  c.add_lines()->set_sku("coffee-1kg");  // twice, and quantity 0
  c.set_customer_id("");
  const auto fields = Fields(c);
  EXPECT_TRUE(fields.count("interval_days"));
  EXPECT_TRUE(fields.count("notice_hours"));
  EXPECT_TRUE(fields.count("lines[1].sku"));
  EXPECT_TRUE(fields.count("lines[1].quantity"));
  EXPECT_TRUE(fields.count("customer_id"));
  EXPECT_FALSE(fields.count("lines[0].sku"));

  auto none = ValidCreate();
  none.clear_lines();
  EXPECT_TRUE(Fields(none).count("lines"));

  auto far = ValidCreate();  // a first renewal more than one interval ahead, or past
  *far.mutable_first_renewal_at() = TimeUtil::MicrosecondsToTimestamp(kNow + 31 * kDay);
  EXPECT_TRUE(Fields(far).count("first_renewal_at"));
  *far.mutable_first_renewal_at() = TimeUtil::MicrosecondsToTimestamp(kNow - 1);
  EXPECT_TRUE(Fields(far).count("first_renewal_at"));
  *far.mutable_first_renewal_at() = TimeUtil::MicrosecondsToTimestamp(kNow + 2 * kDay);
  EXPECT_TRUE(Fields(far).empty());
  EXPECT_EQ(StartTerms(far, kNow).next_renewal_us, kNow + 2 * kDay);
}

std::string Reason(const std::function<void()>& f) {
  try {
    f();
  } catch (const common::ApiError& e) {
    return e.reason();
  }
  return "";
}

TEST(SubscriptionRules, TheNoticeIsShorterThanTheInterval) {
  auto daily = ValidCreate();
  daily.set_interval_days(1);
  EXPECT_TRUE(Fields(daily).empty());
  EXPECT_EQ(NoticeHoursOf(daily), 12);  // the default, at most half the interval
  daily.set_notice_hours(24);
  EXPECT_EQ(Fields(daily).count("notice_hours"), 1u);
  daily.set_notice_hours(23);
  EXPECT_TRUE(Fields(daily).empty());
}

TEST(SubscriptionRules, ARenewalMovesToTheFirstRenewalWhoseNoticeIsAhead) {
  const auto terms = StartTerms(ValidCreate(), kNow);  // every 30 days, 72 h of notice
  const int64_t next = terms.next_renewal_us;
  // Renewed in its notice: one interval on.
  EXPECT_EQ(NextAfterRenewal(terms, next - 24 * kMicrosPerHour), next + 30 * kDay);
  // Renewed 28 days late: the renewal after next is in its notice already, so the one after.
  EXPECT_EQ(NextAfterRenewal(terms, next + 28 * kDay), next + 60 * kDay);
  // Renewed 100 days late: the renewals missed are not owed one by one.
  const int64_t late = next + 100 * kDay;
  const int64_t after = NextAfterRenewal(terms, late);
  EXPECT_GT(after - 72 * kMicrosPerHour, late);
  EXPECT_LE(after - 30 * kDay - 72 * kMicrosPerHour, late);
  EXPECT_EQ((after - next) % (30 * kDay), 0);
}

TEST(SubscriptionRules, ChangesFollowTheStates) {
  auto terms = StartTerms(ValidCreate(), kNow);
  const int64_t first = terms.next_renewal_us;
  ApplyChange(terms, gateway::v1::SUBSCRIPTION_ACTION_SKIP, kNow);
  EXPECT_EQ(terms.next_renewal_us, first + 30 * kDay);
  EXPECT_EQ(Reason([&] { ApplyChange(terms, gateway::v1::SUBSCRIPTION_ACTION_RESUME, kNow); }),
            "SUBSCRIPTION_NOT_PAUSED");
  ApplyChange(terms, gateway::v1::SUBSCRIPTION_ACTION_PAUSE, kNow);
  EXPECT_EQ(terms.status, gateway::v1::SUBSCRIPTION_STATUS_PAUSED);
  EXPECT_EQ(Reason([&] { ApplyChange(terms, gateway::v1::SUBSCRIPTION_ACTION_SKIP, kNow); }),
            "SUBSCRIPTION_NOT_ACTIVE");
  // Resumed 100 days later: the renewals missed are not owed; the next is the first ahead, on
  // the subscription's own rhythm.
  const int64_t later = kNow + 100 * kDay;
  ApplyChange(terms, gateway::v1::SUBSCRIPTION_ACTION_RESUME, later);
  EXPECT_EQ(terms.status, gateway::v1::SUBSCRIPTION_STATUS_ACTIVE);
  EXPECT_GT(terms.next_renewal_us, later);
  EXPECT_LE(terms.next_renewal_us, later + 30 * kDay);
  EXPECT_EQ((terms.next_renewal_us - first) % (30 * kDay), 0);
  ApplyChange(terms, gateway::v1::SUBSCRIPTION_ACTION_CANCEL, later);
  EXPECT_EQ(terms.status, gateway::v1::SUBSCRIPTION_STATUS_CANCELLED);
  EXPECT_EQ(Reason([&] { ApplyChange(terms, gateway::v1::SUBSCRIPTION_ACTION_RESUME, later); }),
            "SUBSCRIPTION_CANCELLED");
  EXPECT_EQ(Reason([&] {
              ApplyChange(terms, gateway::v1::SUBSCRIPTION_ACTION_UNSPECIFIED, later);
            }),
            "INVALID_ARGUMENT");
}

TEST(SubscriptionRules, AnOrderRenewsFromTheNoticeOnForItsOwnCustomerOnly) {
  const auto terms = StartTerms(ValidCreate(), kNow);
  const int64_t notice = NoticeStart(terms);
  EXPECT_EQ(Reason([&] { CheckRenewal(terms, "alice", notice - 1); }), "RENEWAL_NOT_DUE");
  EXPECT_EQ(Reason([&] { CheckRenewal(terms, "alice", notice); }), "");
  EXPECT_EQ(Reason([&] { CheckRenewal(terms, "alice", notice + 90 * kDay); }), "");
  EXPECT_EQ(Reason([&] { CheckRenewal(terms, "bob", notice); }), "SUBSCRIPTION_NOT_FOUND");
  auto paused = terms;
  ApplyChange(paused, gateway::v1::SUBSCRIPTION_ACTION_PAUSE, kNow);
  EXPECT_EQ(Reason([&] { CheckRenewal(paused, "alice", notice); }), "SUBSCRIPTION_NOT_ACTIVE");
}

}  // namespace
}  // namespace loyalty::checkout
