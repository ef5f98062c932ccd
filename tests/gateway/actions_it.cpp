// Member actions end to end, through the gateway on all six services: each action's cap and abuse
// case, replays (the same request_id; the same key under a new request_id) earning nothing twice,
// the birthday and first-order jobs with explicit as-of times, and a clean ledger after each.
#include <google/protobuf/util/time_util.h>

#include <future>

#include "gateway_fixture.hpp"

namespace loyalty::gateway {
namespace {

using google::protobuf::util::TimeUtil;
using points::v1::ActionKind;

class ActionsIT : public GatewayIT {
 protected:
  // The test store (America/New_York) with the fixture's program and these actions.
  TestStore StoreWithActions(int32_t referral_cap) {
    auto s = CreateStore("actions");
    SetUpProgram(s);
    v1::GetSettingsRequest get;
    v1::GetSettingsResponse current;
    EXPECT_TRUE(admin_->GetSettings(Ctx(s.owner).get(), get, &current).ok());
    v1::UpdateSettingsRequest update;
    update.set_request_id("settings-actions");
    *update.mutable_settings() = current.settings();
    auto* a = update.mutable_settings()->mutable_actions();
    a->set_signup_points(100);
    a->set_first_purchase_points(50);
    a->set_birthday_points(200);
    a->set_share_points(10);
    a->set_share_cap(3);
    a->set_share_period(points::v1::ACTION_PERIOD_MONTH);
    a->set_review_points(20);
    a->set_referrer_points(300);
    a->set_referee_points(150);
    a->set_referral_cap(referral_cap);
    a->set_referral_period(points::v1::ACTION_PERIOD_MONTH);
    v1::UpdateSettingsResponse updated;
    const auto status = admin_->UpdateSettings(Ctx(s.owner).get(), update, &updated);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return s;
  }

  customers::v1::Customer RegisterWith(const TestStore& s, const std::string& email,
                                       const std::string& referred_by = "",
                                       const customers::v1::Birthday* birthday = nullptr) {
    v1::RegisterCustomerRequest req;
    req.set_request_id("reg-" + email);
    req.set_email(email);
    req.set_name("Shopper");
    req.set_referred_by_code(referred_by);
    if (birthday) *req.mutable_birthday() = *birthday;
    v1::RegisterCustomerResponse resp;
    const auto status = storefront_->RegisterCustomer(Ctx(s.storefront).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp.customer();
  }

  grpc::Status Act(const TestStore& s, const std::string& request_id, const std::string& customer,
                   ActionKind kind, v1::RecordActionResponse* resp,
                   const std::function<void(v1::RecordActionRequest&)>& more = {}) {
    v1::RecordActionRequest req;
    req.set_request_id(request_id);
    req.set_customer_id(customer);
    req.set_kind(kind);
    if (more) more(req);
    return storefront_->RecordAction(Ctx(s.storefront).get(), req, resp);
  }

  grpc::Status Share(const TestStore& s, const std::string& request_id, const std::string& customer,
                     const std::string& reference, v1::RecordActionResponse* resp) {
    return Act(s, request_id, customer, points::v1::ACTION_KIND_SOCIAL_SHARE, resp,
               [&](auto& r) { r.set_share_reference(reference); });
  }

  int64_t Available(const TestStore& s, const std::string& customer) {
    return Status(s, customer).balance().available();
  }

  // An admin RunJob as the operator, as of an RFC 3339 time or a number of days from now.
  int64_t RunActionJob(const TestStore& s, v1::Job job, const google::protobuf::Timestamp& as_of) {
    v1::RunJobRequest req;
    req.set_store_id(s.store_id);
    req.set_job(job);
    *req.mutable_as_of() = as_of;
    v1::RunJobResponse resp;
    const auto status = admin_->RunJob(Ctx(kOperatorToken).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp.processed();
  }
  int64_t RunActionJob(const TestStore& s, v1::Job job, const std::string& as_of) {
    google::protobuf::Timestamp t;
    EXPECT_TRUE(TimeUtil::FromString(as_of, &t)) << as_of;
    return RunActionJob(s, job, t);
  }
};

TEST_F(ActionsIT, SignupSharesAndReviewsEarnOnceWithinTheirCaps) {
  const auto s = StoreWithActions(0);
  const auto ada = RegisterWith(s, "ada@example.com").customer_id();
  const auto bob = RegisterWith(s, "bob@example.com").customer_id();

  // Signup, replayed with the same request_id (the first answer) and with a new one (refused).
  v1::RecordActionResponse resp;
  auto status = Act(s, "signup-1", ada, points::v1::ACTION_KIND_SIGNUP, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.points(), 100);
  EXPECT_EQ(resp.reason(), "signup");
  EXPECT_EQ(resp.balance().available(), 100);
  status = Act(s, "signup-1", ada, points::v1::ACTION_KIND_SIGNUP, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.points(), 100);
  status = Act(s, "signup-2", ada, points::v1::ACTION_KIND_SIGNUP, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(common::ErrorReason(status), "ACTION_ALREADY_REWARDED");
  EXPECT_EQ(Available(s, ada), 100);

  // Three shares earn; the same reference under a new request_id earns nothing, for anyone.
  for (int i = 1; i <= 3; ++i) {
    status =
        Share(s, "share-" + std::to_string(i), ada, "https://social/p/" + std::to_string(i), &resp);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(resp.points(), 10);
  }
  status = Share(s, "share-1-again", ada, "https://social/p/1", &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(common::ErrorReason(status), "ACTION_ALREADY_REWARDED");
  status = Share(s, "share-bob", bob, "https://social/p/2", &resp);
  EXPECT_EQ(common::ErrorReason(status), "ACTION_ALREADY_REWARDED") << "unique in the store";
  // The 4th share of the month is over the cap of 3: refused, with the reason.
  status = Share(s, "share-4", ada, "https://social/p/4", &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(common::ErrorReason(status), "ACTION_CAP_REACHED");
  EXPECT_NE(status.error_message().find("at most 3 shares earn points per month"),
            std::string::npos)
      << status.error_message();
  // Bob's cap is his own.
  ASSERT_TRUE(Share(s, "share-bob-1", bob, "https://social/p/bob", &resp).ok());
  EXPECT_EQ(Available(s, ada), 130);
  EXPECT_EQ(Available(s, bob), 10);

  // A bad request names the field and changes nothing.
  status = Act(s, "share-empty", ada, points::v1::ACTION_KIND_SOCIAL_SHARE, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"share_reference"});
  status = Act(s, "who", "nobody", points::v1::ACTION_KIND_SIGNUP, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Available(s, ada), 130);

  // A review earns once per line the customer bought.
  v1::PlaceOrderResponse placed;
  status = Place(s, "order-ada", TwoLineCart(ada, 0), &placed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const auto review = [&](const std::string& id, const std::string& who, const std::string& line) {
    return Act(s, id, who, points::v1::ACTION_KIND_PRODUCT_REVIEW, &resp, [&](auto& r) {
      r.set_order_id("order-ada");
      r.set_line_id(line);
    });
  };
  status = review("review-1", ada, "l1");
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.points(), 20);
  status = review("review-1-again", ada, "l1");
  EXPECT_EQ(common::ErrorReason(status), "ACTION_ALREADY_REWARDED");
  status = review("review-9", ada, "l9");
  EXPECT_EQ(common::ErrorReason(status), "NOT_PURCHASED");
  status = review("review-bob", bob, "l2");
  EXPECT_EQ(common::ErrorReason(status), "NOT_PURCHASED") << "not Bob's order";
  ASSERT_TRUE(review("review-2", ada, "l2").ok());
  EXPECT_EQ(Available(s, ada), 170);
  ExpectLedgerClean(s);
}

TEST_F(ActionsIT, ConcurrentSharesStillStopAtTheCap) {
  const auto s = StoreWithActions(0);
  const auto ada = RegisterWith(s, "ada@example.com").customer_id();
  // Eight different shares at once: the cap is counted under the customer's lock, so three earn.
  std::vector<std::future<grpc::Status>> calls;
  for (int i = 0; i < 8; ++i) {
    calls.push_back(std::async(std::launch::async, [&, i] {
      v1::RecordActionResponse resp;
      return Share(s, "burst-" + std::to_string(i), ada,
                   "https://social/burst/" + std::to_string(i), &resp);
    }));
  }
  int earned = 0;
  int capped = 0;
  for (auto& call : calls) {
    const auto status = call.get();
    earned += status.ok();
    capped += common::ErrorReason(status) == "ACTION_CAP_REACHED";
  }
  EXPECT_EQ(earned, 3);
  EXPECT_EQ(capped, 5);
  EXPECT_EQ(Available(s, ada), 30);
  ExpectLedgerClean(s);
}

TEST_F(ActionsIT, BirthdaysOncePerYearInTheStoresTimeZoneWithTheTwentyNinthOfFebruary) {
  const auto s = StoreWithActions(0);
  customers::v1::Birthday leap;
  leap.set_month(2);
  leap.set_day(29);
  customers::v1::Birthday march;
  march.set_month(3);
  march.set_day(1);
  customers::v1::Birthday july;
  july.set_month(7);
  july.set_day(14);
  july.set_year(1990);
  const auto leapling = RegisterWith(s, "leap@example.com", "", &leap).customer_id();
  const auto marcher = RegisterWith(s, "march@example.com", "", &march).customer_id();
  auto julian = RegisterWith(s, "july@example.com", "", &july);

  // 03:00 UTC on 1 March 2027 is still 28 February in New York: the 29 February birthday, in a
  // year without one; not yet the 1 March one.
  EXPECT_EQ(RunActionJob(s, v1::JOB_BIRTHDAYS, "2027-03-01T03:00:00Z"), 1);
  EXPECT_EQ(Available(s, leapling), 200);
  EXPECT_EQ(Available(s, marcher), 0);
  EXPECT_EQ(RunActionJob(s, v1::JOB_BIRTHDAYS, "2027-03-01T03:00:00Z"), 0) << "run twice";
  EXPECT_EQ(RunActionJob(s, v1::JOB_BIRTHDAYS, "2027-03-01T15:00:00Z"), 1);
  EXPECT_EQ(Available(s, marcher), 200);
  EXPECT_EQ(Available(s, leapling), 200);

  // A second birthday in the same year (the birthday moved to a later day) earns nothing.
  EXPECT_EQ(RunActionJob(s, v1::JOB_BIRTHDAYS, "2027-07-14T15:00:00Z"), 1);
  v1::UpdateCustomerRequest update;
  update.set_request_id("move-birthday");
  *update.mutable_customer() = julian;
  update.mutable_customer()->mutable_birthday()->set_day(20);
  update.mutable_update_mask()->add_paths("birthday");
  v1::UpdateCustomerResponse updated;
  auto status = storefront_->UpdateCustomer(Ctx(s.storefront).get(), update, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(RunActionJob(s, v1::JOB_BIRTHDAYS, "2027-07-20T15:00:00Z"), 0);
  EXPECT_EQ(Available(s, julian.customer_id()), 200);
  EXPECT_EQ(RunActionJob(s, v1::JOB_BIRTHDAYS, "2028-07-20T15:00:00Z"), 1) << "the next year";
  EXPECT_EQ(Available(s, julian.customer_id()), 400);

  // In a leap year, 29 February on its own day only.
  EXPECT_EQ(RunActionJob(s, v1::JOB_BIRTHDAYS, "2028-02-28T15:00:00Z"), 0);
  EXPECT_EQ(RunActionJob(s, v1::JOB_BIRTHDAYS, "2028-02-29T15:00:00Z"), 1);
  EXPECT_EQ(Available(s, leapling), 400);
  ExpectLedgerClean(s);
}

TEST_F(ActionsIT, ReferralsPayBothWhenTheFirstOrderStaysWithinTheReferrersCap) {
  const auto s = StoreWithActions(1);  // one rewarded referral per referrer and month
  const auto referrer = RegisterWith(s, "rita@example.com");
  const std::string code = referrer.referral_code();
  ASSERT_FALSE(code.empty());

  // Self-referral: by the same customer, and by the same mailbox.
  v1::RecordActionResponse resp;
  auto status = Act(s, "self", referrer.customer_id(), points::v1::ACTION_KIND_REFERRAL, &resp,
                    [&](auto& r) { r.set_referral_code(code); });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(common::ErrorReason(status), "SELF_REFERRAL");
  const auto alias = RegisterWith(s, "Rita+shop@example.com", code);
  status = Act(s, "alias", alias.customer_id(), points::v1::ACTION_KIND_REFERRAL, &resp);
  EXPECT_EQ(common::ErrorReason(status), "SELF_REFERRAL");

  // Three friends referred (the code they registered with); one referrer each.
  std::vector<std::string> friends;
  for (const char* name : {"fay", "gus", "hal"}) {
    friends.push_back(RegisterWith(s, std::string(name) + "@example.com", code).customer_id());
    status =
        Act(s, std::string("ref-") + name, friends.back(), points::v1::ACTION_KIND_REFERRAL, &resp);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(resp.points(), 0) << "pays with the first order";
  }
  status = Act(s, "ref-fay-again", friends[0], points::v1::ACTION_KIND_REFERRAL, &resp);
  EXPECT_EQ(common::ErrorReason(status), "ACTION_ALREADY_REWARDED");

  // Each places a first order (50 points) and has it fulfilled; Gus's is refunded in part.
  for (size_t i = 0; i < friends.size(); ++i) {
    const std::string order = "first-" + std::to_string(i);
    v1::PlaceOrderResponse placed;
    status = Place(s, order, TwoLineCart(friends[i], 0), &placed);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_TRUE(Eventually([&] { return Status(s, friends[i]).balance().pending() == 50; }));
    v1::FulfillOrderRequest fulfil;
    fulfil.set_order_id(order);
    v1::FulfillOrderResponse fulfilled;
    ASSERT_TRUE(storefront_->FulfillOrder(Ctx(s.storefront).get(), fulfil, &fulfilled).ok());
  }
  v1::RefundOrderRequest refund;
  refund.set_order_id("first-1");
  refund.set_refund_id("refund-gus");
  auto* line = refund.add_lines();
  line->set_line_id("l2");
  line->set_quantity(1);
  v1::RefundOrderResponse refunded;
  status = storefront_->RefundOrder(Ctx(s.storefront).get(), refund, &refunded);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // After the 14-day return window every order's points are released (Gus's net of the refund):
  // the fulfilments and the refund were applied.
  ASSERT_TRUE(Eventually([&] {
    RunJob("release", s.store_id, 15);
    return Available(s, friends[0]) == 50 && Available(s, friends[1]) == 30 &&
           Available(s, friends[2]) == 50;
  }));
  EXPECT_EQ(RunActionJob(s, v1::JOB_FIRST_ORDERS, InDays(13)), 0) << "within the window";

  EXPECT_EQ(RunActionJob(s, v1::JOB_FIRST_ORDERS, InDays(15)), 2) << "Fay's and Hal's";
  // Fay: first purchase and referee points; Rita: the referral, once.
  EXPECT_EQ(Available(s, friends[0]), 50 + 50 + 150);
  EXPECT_EQ(Available(s, referrer.customer_id()), 300);
  // Gus's refunded first order earns nothing, for either side.
  EXPECT_EQ(Available(s, friends[1]), 30);
  // Hal's first purchase earns; his referral is over Rita's cap of one a month.
  EXPECT_EQ(Available(s, friends[2]), 50 + 50);
  // Safe to run twice.
  EXPECT_EQ(RunActionJob(s, v1::JOB_FIRST_ORDERS, InDays(16)), 0);
  EXPECT_EQ(Available(s, referrer.customer_id()), 300);
  EXPECT_EQ(Available(s, friends[0]), 250);
  // A referral recorded after the first order has been rewarded is too late.
  status = Act(s, "late", friends[0], points::v1::ACTION_KIND_REFERRAL, &resp,
               [&](auto& r) { r.set_referral_code(alias.referral_code()); });
  EXPECT_EQ(common::ErrorReason(status), "REFERRAL_TOO_LATE");
  ExpectLedgerClean(s);
}

}  // namespace
}  // namespace loyalty::gateway
