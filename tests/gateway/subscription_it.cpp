// Subscriptions on all six services and a real Postgres (docs/subscriptions.md): a renewal order
// placed through the normal checkout earns the store's bonus once, as quoted, and moves the
// renewal on; each renewal is announced once (subscription.renewal_due), however often and by
// however many runners the job runs; pause, skip, resume and cancel follow their rules; the
// report counts what was started, cancelled and renewed.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "gateway_fixture.hpp"
#include "loyalty/checkout/v1/checkout_service.grpc.pb.h"

namespace loyalty::gateway {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int64_t kBonus = 250;

int64_t HoursFromNowUs(double hours) {
  return common::NowMicros() + static_cast<int64_t>(hours * 3600e6);
}

class SubscriptionIT : public GatewayIT {
 protected:
  void SetUp() override {
    GatewayIT::SetUp();
    checkout_stub_ = checkout::v1::CheckoutService::NewStub(
        grpc::CreateChannel(checkout_->address(), grpc::InsecureChannelCredentials()));
  }

  TestStore SubscribingStore(const std::string& name) {
    const auto s = CreateStore(name);
    SetUpProgram(s, [](points::v1::Settings* st) { st->set_renewal_bonus_points(kBonus); });
    return s;
  }

  // Sku A every `interval_days`, first renewal `first_in_hours` from now, notice `notice_hours`.
  grpc::Status Subscribe(const TestStore& s, const std::string& customer, const std::string& id,
                         int interval_days, double first_in_hours, int notice_hours,
                         v1::CreateSubscriptionResponse* resp) {
    const auto req = SubscribeRequest(customer, id, interval_days, first_in_hours, notice_hours);
    return storefront_->CreateSubscription(Ctx(s.storefront).get(), req, resp);
  }

  v1::CreateSubscriptionRequest SubscribeRequest(const std::string& customer,
                                                 const std::string& id, int interval_days,
                                                 double first_in_hours, int notice_hours) {
    v1::CreateSubscriptionRequest req;
    req.set_request_id("sub-req-" + id);
    req.set_customer_id(customer);
    req.set_subscription_id(id);
    auto* line = req.add_lines();
    line->set_sku("A");
    line->set_quantity(1);
    req.set_interval_days(interval_days);
    req.set_notice_hours(notice_hours);
    *req.mutable_first_renewal_at() =
        TimeUtil::MicrosecondsToTimestamp(HoursFromNowUs(first_in_hours));
    return req;
  }

  grpc::Status Change(const TestStore& s, const std::string& id, v1::SubscriptionAction action,
                      const std::string& request_id, v1::ChangeSubscriptionResponse* resp) {
    v1::ChangeSubscriptionRequest req;
    req.set_request_id(request_id);
    req.set_subscription_id(id);
    req.set_action(action);
    return storefront_->ChangeSubscription(Ctx(s.storefront).get(), req, resp);
  }

  v1::Subscription Only(const TestStore& s, const std::string& customer) {
    v1::ListSubscriptionsRequest req;
    req.set_customer_id(customer);
    v1::ListSubscriptionsResponse resp;
    EXPECT_TRUE(storefront_->ListSubscriptions(Ctx(s.storefront).get(), req, &resp).ok());
    EXPECT_EQ(resp.subscriptions_size(), 1);
    return resp.subscriptions_size() ? resp.subscriptions(0) : v1::Subscription();
  }

  grpc::Status Quote(const TestStore& s, const v1::Cart& cart, v1::QuoteCartResponse* resp) {
    v1::QuoteCartRequest req;
    *req.mutable_cart() = cart;
    return storefront_->QuoteCart(Ctx(s.storefront).get(), req, resp);
  }

  int64_t Announce(const TestStore& s, double hours_from_now) {
    checkout::v1::AnnounceRenewalsRequest req;
    req.set_store_id(s.store_id);
    *req.mutable_as_of() = TimeUtil::MicrosecondsToTimestamp(HoursFromNowUs(hours_from_now));
    checkout::v1::AnnounceRenewalsResponse resp;
    const auto status =
        checkout_stub_->AnnounceRenewals(testing::InternalContext().get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp.announced();
  }

  v1::SubscriptionReportResponse Report(const TestStore& s) {
    v1::SubscriptionReportRequest req;
    *req.mutable_from() = TimeUtil::MicrosecondsToTimestamp(HoursFromNowUs(-1));
    *req.mutable_to() = TimeUtil::MicrosecondsToTimestamp(HoursFromNowUs(1));
    v1::SubscriptionReportResponse resp;
    const auto status = admin_->SubscriptionReport(Ctx(s.owner).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  }

  std::unique_ptr<checkout::v1::CheckoutService::Stub> checkout_stub_;
};

TEST_F(SubscriptionIT, ARenewalOrderEarnsTheQuotedBonusOnceAndMovesTheRenewalOn) {
  const auto s = SubscribingStore("subs-renewal");
  const auto ada = Register(s, "ada@example.com");
  const auto bob = Register(s, "bob@example.com");
  const auto create = SubscribeRequest(ada, "sub-ada", 30, 24, 72);
  v1::CreateSubscriptionResponse created, again;
  ASSERT_TRUE(storefront_->CreateSubscription(Ctx(s.storefront).get(), create, &created).ok());
  const int64_t first = TimeUtil::TimestampToMicroseconds(created.subscription().next_renewal_at());
  EXPECT_EQ(created.subscription().status(), v1::SUBSCRIPTION_STATUS_ACTIVE);
  // The same request again: the same answer, and still one subscription.
  ASSERT_TRUE(storefront_->CreateSubscription(Ctx(s.storefront).get(), create, &again).ok());
  EXPECT_EQ(again.SerializeAsString(), created.SerializeAsString());

  // The renewal's notice has begun (24 h ahead, 72 h of notice): the quote shows the bonus.
  auto cart = TwoLineCart(ada, 0);
  v1::QuoteCartResponse plain, renewal;
  ASSERT_TRUE(Quote(s, cart, &plain).ok());
  cart.set_subscription_id("sub-ada");
  ASSERT_TRUE(Quote(s, cart, &renewal).ok());
  EXPECT_EQ(renewal.renewal_bonus_points(), kBonus);
  EXPECT_EQ(plain.renewal_bonus_points(), 0);
  EXPECT_EQ(renewal.points_to_earn(), plain.points_to_earn() + kBonus);

  v1::PlaceOrderResponse order;
  ASSERT_TRUE(Place(s, "o-renew-1", cart, &order).ok());
  EXPECT_EQ(order.order().subscription_id(), "sub-ada");
  EXPECT_EQ(order.order().renewal_bonus_points(), kBonus);
  // The ledger earns what the quote showed: the lines' points and the bonus, pending until the
  // return window has passed.
  EXPECT_TRUE(Eventually([&] {
    return Status(s, ada).balance().pending() == renewal.points_to_earn();
  })) << Status(s, ada).balance().pending();

  auto sub = Only(s, ada);
  EXPECT_EQ(sub.renewals(), 1);
  EXPECT_EQ(sub.last_order_id(), "o-renew-1");
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(sub.next_renewal_at()),
            first + 30LL * 24 * 3600 * 1'000'000);

  // A retry of the checkout answers the same order and renews nothing more.
  v1::PlaceOrderResponse retried;
  ASSERT_TRUE(Place(s, "o-renew-1", cart, &retried).ok());
  EXPECT_EQ(retried.order().order_id(), "o-renew-1");
  EXPECT_EQ(Only(s, ada).renewals(), 1);

  // The next renewal is a month away: refused, naming the field, in the quote and the order
  // alike; the refused order id stays free.
  v1::QuoteCartResponse early_quote;
  auto status = Quote(s, cart, &early_quote);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(common::ErrorReason(status), "RENEWAL_NOT_DUE");
  status = Place(s, "o-renew-2", cart, &order);
  EXPECT_EQ(common::ErrorReason(status), "RENEWAL_NOT_DUE");
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"cart.subscription_id"});
  cart.clear_subscription_id();
  ASSERT_TRUE(Place(s, "o-renew-2", cart, &order).ok()) << "the refused order id is still free";
  EXPECT_EQ(order.order().renewal_bonus_points(), 0);

  // Another customer cannot renew Ada's subscription; nor can anyone renew one that is not there.
  auto bobs = TwoLineCart(bob, 0);
  bobs.set_subscription_id("sub-ada");
  status = Place(s, "o-bob", bobs, &order);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(common::ErrorReason(status), "SUBSCRIPTION_NOT_FOUND");
  bobs.set_subscription_id("sub-nobody");
  EXPECT_EQ(common::ErrorReason(Quote(s, bobs, &early_quote)), "SUBSCRIPTION_NOT_FOUND");

  const auto report = Report(s);
  EXPECT_EQ(report.started(), 1);
  EXPECT_EQ(report.renewals(), 1);
  EXPECT_EQ(report.renewal_bonus_points(), kBonus);
  EXPECT_EQ(report.active(), 1);

  // Cancelling the renewal order takes the bonus back with the lines' points (once o-renew-2,
  // which earns what the plain quote showed, has been applied too).
  ASSERT_TRUE(Eventually([&] {
    return Status(s, ada).balance().pending() == renewal.points_to_earn() + plain.points_to_earn();
  })) << Status(s, ada).balance().pending();
  const int64_t before = Status(s, ada).balance().pending();
  v1::CancelOrderRequest cancel;
  cancel.set_order_id("o-renew-1");
  v1::CancelOrderResponse cancelled;
  ASSERT_TRUE(storefront_->CancelOrder(Ctx(s.storefront).get(), cancel, &cancelled).ok());
  EXPECT_TRUE(Eventually([&] {
    return Status(s, ada).balance().pending() == before - renewal.points_to_earn();
  })) << Status(s, ada).balance().pending();
  ExpectLedgerClean(s);
}

TEST_F(SubscriptionIT, TenCheckoutsOfOneRenewalPlaceItOnceAndEarnTheBonusOnce) {
  const auto s = SubscribingStore("subs-race");
  const auto ada = Register(s, "ada@example.com");
  v1::CreateSubscriptionResponse created;
  ASSERT_TRUE(Subscribe(s, ada, "sub-race", 30, 24, 72, &created).ok());
  auto cart = TwoLineCart(ada, 0);
  cart.set_subscription_id("sub-race");
  v1::QuoteCartResponse quote;
  ASSERT_TRUE(Quote(s, cart, &quote).ok());

  // The storefront's scheduler fires the same renewal ten times, each with its own order id.
  std::vector<std::thread> racers;
  std::vector<std::string> outcome(10);
  for (int i = 0; i < 10; ++i) {
    racers.emplace_back([&, i] {
      v1::PlaceOrderResponse order;
      const auto status = Place(s, "race-" + std::to_string(i), cart, &order);
      outcome[i] = status.ok() ? "OK" : common::ErrorReason(status);
    });
  }
  for (auto& t : racers) t.join();
  int placed = 0;
  for (const auto& o : outcome) {
    placed += o == "OK";
    EXPECT_TRUE(o == "OK" || o == "RENEWAL_IN_PROGRESS" || o == "RENEWAL_NOT_DUE") << o;
  }
  EXPECT_EQ(placed, 1);
  EXPECT_EQ(Only(s, ada).renewals(), 1);
  EXPECT_TRUE(Eventually([&] {
    return Status(s, ada).balance().pending() == quote.points_to_earn();
  })) << Status(s, ada).balance().pending();
  EXPECT_EQ(Report(s).renewal_bonus_points(), kBonus);

  // A refund of one line keeps the bonus; the refund that leaves nothing unrefunded takes it back
  // with the last line's points.
  const auto winner = "race-" + std::to_string(
      std::find(outcome.begin(), outcome.end(), "OK") - outcome.begin());
  const auto refund = [&](const std::string& refund_id, const std::string& line_id) {
    v1::RefundOrderRequest req;
    req.set_order_id(winner);
    req.set_refund_id(refund_id);
    auto* line = req.add_lines();
    line->set_line_id(line_id);
    line->set_quantity(1);
    v1::RefundOrderResponse resp;
    const auto status = storefront_->RefundOrder(Ctx(s.storefront).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
  };
  refund("refund-l1", "l1");
  int64_t l1_points = 0;
  for (const auto& line : quote.line_points()) {
    if (line.line_id() == "l1") l1_points = line.points();
  }
  ASSERT_GT(l1_points, 0);
  EXPECT_TRUE(Eventually([&] {
    return Status(s, ada).balance().pending() == quote.points_to_earn() - l1_points;
  })) << Status(s, ada).balance().pending();
  refund("refund-l2", "l2");
  EXPECT_TRUE(Eventually([&] { return Status(s, ada).balance().pending() == 0; }))
      << Status(s, ada).balance().pending() << " left: the bonus is taken back with the last unit";
  ExpectLedgerClean(s);

  // A refused racer's order id is still free.
  const auto refused = std::find_if(outcome.begin(), outcome.end(),
                                    [](const std::string& o) { return o != "OK"; });
  ASSERT_NE(refused, outcome.end());
  cart.clear_subscription_id();
  v1::PlaceOrderResponse order;
  EXPECT_TRUE(
      Place(s, "race-" + std::to_string(refused - outcome.begin()), cart, &order).ok());
}

// A checkout killed after its renewal order exists keeps the renewal: the subscription cannot
// be skipped under it, and the retry with its order id records the renewal once.
TEST_F(SubscriptionIT, ACheckoutKilledAfterTheOrderKeepsItsRenewalUntilItsRetry) {
  const auto s = SubscribingStore("subs-crash");
  const auto ada = Register(s, "ada@example.com");
  v1::CreateSubscriptionResponse created;
  ASSERT_TRUE(Subscribe(s, ada, "sub-crash", 30, 24, 72, &created).ok());
  const int64_t first = TimeUtil::TimestampToMicroseconds(created.subscription().next_renewal_at());
  auto cart = TwoLineCart(ada, 0);
  cart.set_subscription_id("sub-crash");

  auto crashy = StartCheckout({{"LOYALTY_FAILPOINTS", "checkout.after_order_created=crash"}});
  crashy->WaitServing();
  auto front = StartGateway({{"LOYALTY_CHECKOUT_ADDR", crashy->address()}});
  front->WaitServing();
  Connect(front->address());
  v1::PlaceOrderResponse lost;
  EXPECT_FALSE(Place(s, "o-crash", cart, &lost).ok());
  crashy->Kill();
  Connect(gateway_->address());

  // The order exists and earns its bonus; the renewal is the killed checkout's.
  v1::ChangeSubscriptionResponse changed;
  auto status = Change(s, "sub-crash", v1::SUBSCRIPTION_ACTION_SKIP, "skip-1", &changed);
  EXPECT_EQ(common::ErrorReason(status), "RENEWAL_IN_PROGRESS");
  v1::PlaceOrderResponse other;
  EXPECT_EQ(common::ErrorReason(Place(s, "o-other", cart, &other)), "RENEWAL_IN_PROGRESS");

  v1::PlaceOrderResponse retried;
  status = Place(s, "o-crash", cart, &retried);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(retried.order().renewal_bonus_points(), kBonus);
  const auto sub = Only(s, ada);
  EXPECT_EQ(sub.renewals(), 1);
  EXPECT_EQ(sub.last_order_id(), "o-crash");
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(sub.next_renewal_at()),
            first + 30LL * 24 * 3600 * 1'000'000);
  // Now the skip goes through (it moves the next renewal).
  ASSERT_TRUE(Change(s, "sub-crash", v1::SUBSCRIPTION_ACTION_SKIP, "skip-2", &changed).ok());
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(changed.subscription().next_renewal_at()),
            first + 60LL * 24 * 3600 * 1'000'000);
  EXPECT_EQ(Report(s).renewals(), 1);
}

TEST_F(SubscriptionIT, EachRenewalIsAnnouncedOnceAndChangesFollowTheRules) {
  const auto s = SubscribingStore("subs-announce");
  std::vector<std::string> customers;
  for (int i = 0; i < 20; ++i) {
    customers.push_back(Register(s, "c" + std::to_string(i) + "@example.com"));
    v1::CreateSubscriptionResponse created;
    ASSERT_TRUE(
        Subscribe(s, customers.back(), "sub-" + std::to_string(i), 7, 48, 24, &created).ok());
  }
  EXPECT_EQ(Announce(s, 0), 0);  // the notice begins 24 h before the renewal, 48 h away
  std::atomic<int64_t> announced{0};
  std::vector<std::thread> runners;
  for (int i = 0; i < 2; ++i) runners.emplace_back([&] { announced += Announce(s, 30); });
  for (auto& t : runners) t.join();
  EXPECT_EQ(announced.load(), 20);
  EXPECT_EQ(Announce(s, 30), 0);
  auto events = StoreEvents(s, "subscription.renewal_due", 20);
  EXPECT_EQ(events.size(), 20u);
  std::set<std::string> who;
  for (const auto& e : events) {
    who.insert(e.customer_id());
    const auto details = nlohmann::json::parse(e.details_json());
    EXPECT_EQ(details["renewal_number"], 1);
    EXPECT_EQ(details["lines"][0]["sku"], "A");
  }
  EXPECT_EQ(who.size(), 20u);

  // Skip moves the renewal a week on: announced again when its notice begins, the others not.
  v1::ChangeSubscriptionResponse changed;
  ASSERT_TRUE(Change(s, "sub-0", v1::SUBSCRIPTION_ACTION_SKIP, "skip-0", &changed).ok());
  EXPECT_EQ(Announce(s, 30 + 7 * 24), 1);
  EXPECT_EQ(StoreEvents(s, "subscription.renewal_due", 21).size(), 21u);

  // Paused: no renewal order; a skip is refused; resume, then cancel for good.
  ASSERT_TRUE(Change(s, "sub-1", v1::SUBSCRIPTION_ACTION_PAUSE, "pause-1", &changed).ok());
  EXPECT_EQ(changed.subscription().status(), v1::SUBSCRIPTION_STATUS_PAUSED);
  auto cart = TwoLineCart(customers[1], 0);
  cart.set_subscription_id("sub-1");
  v1::PlaceOrderResponse order;
  EXPECT_EQ(common::ErrorReason(Place(s, "o-paused", cart, &order)), "SUBSCRIPTION_NOT_ACTIVE");
  auto status = Change(s, "sub-1", v1::SUBSCRIPTION_ACTION_SKIP, "skip-1", &changed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"action"});
  EXPECT_EQ(Report(s).paused(), 1);
  // Resumed, it renews again once its notice begins (tomorrow: its renewal is 48 h away).
  ASSERT_TRUE(Change(s, "sub-1", v1::SUBSCRIPTION_ACTION_RESUME, "resume-1", &changed).ok());
  EXPECT_EQ(common::ErrorReason(Place(s, "o-resumed", cart, &order)), "RENEWAL_NOT_DUE");
  ASSERT_TRUE(Change(s, "sub-1", v1::SUBSCRIPTION_ACTION_CANCEL, "cancel-1", &changed).ok());
  EXPECT_EQ(changed.subscription().status(), v1::SUBSCRIPTION_STATUS_CANCELLED);
  EXPECT_TRUE(changed.subscription().has_cancelled_at());
  v1::ChangeSubscriptionResponse replayed;  // a retry of the cancel answers the same
  ASSERT_TRUE(Change(s, "sub-1", v1::SUBSCRIPTION_ACTION_CANCEL, "cancel-1", &replayed).ok());
  EXPECT_EQ(replayed.SerializeAsString(), changed.SerializeAsString());
  EXPECT_EQ(common::ErrorReason(
                Change(s, "sub-1", v1::SUBSCRIPTION_ACTION_RESUME, "resume-again", &changed)),
            "SUBSCRIPTION_CANCELLED");

  const auto report = Report(s);
  EXPECT_EQ(report.started(), 20);
  EXPECT_EQ(report.cancelled(), 1);
  EXPECT_EQ(report.renewals(), 0);
  EXPECT_EQ(report.active(), 19);
  EXPECT_EQ(report.paused(), 0);
}

TEST_F(SubscriptionIT, BadRequestsNameTheFieldAndChangeNothing) {
  const auto s = SubscribingStore("subs-bad");
  const auto ada = Register(s, "ada@example.com");
  v1::CreateSubscriptionRequest req;
  req.set_request_id("bad-1");
  req.set_customer_id(ada);
  req.set_subscription_id("sub-bad");
  req.set_interval_days(0);
  v1::CreateSubscriptionResponse resp;
  auto status = storefront_->CreateSubscription(Ctx(s.storefront).get(), req, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status), (std::vector<std::string>{"lines", "interval_days"}));

  EXPECT_EQ(common::ErrorReason(Subscribe(s, "nobody", "sub-x", 30, 24, 24, &resp)),
            "CUSTOMER_NOT_FOUND");
  ASSERT_TRUE(Subscribe(s, ada, "sub-1", 30, 24, 24, &resp).ok());
  v1::CreateSubscriptionRequest twice;  // the same subscription id in a new request
  twice.set_request_id("another");
  twice.set_customer_id(ada);
  twice.set_subscription_id("sub-1");
  twice.add_lines()->set_sku("B");
  twice.mutable_lines(0)->set_quantity(1);
  twice.set_interval_days(14);
  status = storefront_->CreateSubscription(Ctx(s.storefront).get(), twice, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"subscription_id"});
  EXPECT_EQ(Only(s, ada).interval_days(), 30);

  v1::ChangeSubscriptionResponse changed;
  status = Change(s, "sub-1", v1::SUBSCRIPTION_ACTION_UNSPECIFIED, "c-1", &changed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"action"});
  EXPECT_EQ(Change(s, "sub-none", v1::SUBSCRIPTION_ACTION_PAUSE, "c-2", &changed).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Only(s, ada).status(), v1::SUBSCRIPTION_STATUS_ACTIVE);

  v1::SubscriptionReportRequest report;  // no period
  v1::SubscriptionReportResponse out;
  status = admin_->SubscriptionReport(Ctx(s.owner).get(), report, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status), (std::vector<std::string>{"from", "to"}));
}

}  // namespace
}  // namespace loyalty::gateway
