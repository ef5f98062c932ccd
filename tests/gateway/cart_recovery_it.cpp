// Abandoned carts on all six services and a real Postgres (docs/codes.md): a known customer's
// quoted cart with no order and no newer quote for the store's after_hours becomes one
// cart.abandoned event in the store's event log, with a single-use code bound to them; a
// checkout cancels it; a second run, or two runners at once, report nothing twice.
#include <nlohmann/json.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "gateway_fixture.hpp"
#include "loyalty/checkout/v1/checkout_service.grpc.pb.h"

namespace loyalty::gateway {
namespace {

class CartRecoveryIT : public GatewayIT {
 protected:
  void SetUp() override {
    GatewayIT::SetUp();
    checkout_stub_ = checkout::v1::CheckoutService::NewStub(
        grpc::CreateChannel(checkout_->address(), grpc::InsecureChannelCredentials()));
  }

  // A store that reports carts after 2 hours with a code copying the batch "cart-template".
  TestStore RecoveringStore(const std::string& name) {
    const auto s = CreateStore(name);
    SetUpProgram(s, [](points::v1::Settings* st) {
      st->mutable_cart_recovery()->set_after_hours(2);
      st->mutable_cart_recovery()->set_code_batch_id("cart-template");
    });
    v1::CreateDiscountCodesRequest req;
    req.set_request_id("cart-template");
    req.set_count(1);
    req.mutable_definition()->set_kind(v1::CODE_KIND_AMOUNT_OFF);
    req.mutable_definition()->set_amount_off_minor(500);
    req.set_reason("cart recovery");
    v1::CreateDiscountCodesResponse resp;
    EXPECT_TRUE(admin_->CreateDiscountCodes(Ctx(s.owner).get(), req, &resp).ok());
    return s;
  }

  v1::QuoteCartResponse Quote(const TestStore& s, const v1::Cart& cart) {
    v1::QuoteCartRequest req;
    *req.mutable_cart() = cart;
    v1::QuoteCartResponse resp;
    const auto status = storefront_->QuoteCart(Ctx(s.storefront).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  }

  checkout::v1::AbandonCartsResponse Abandon(const TestStore& s, int hours_from_now) {
    checkout::v1::AbandonCartsRequest req;
    req.set_store_id(s.store_id);
    *req.mutable_as_of() = common::NowTimestamp();
    req.mutable_as_of()->set_seconds(req.as_of().seconds() + hours_from_now * 3600);
    checkout::v1::AbandonCartsResponse resp;
    const auto status =
        checkout_stub_->AbandonCarts(testing::InternalContext().get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  }

  std::unique_ptr<checkout::v1::CheckoutService::Stub> checkout_stub_;
};

TEST_F(CartRecoveryIT, AQuotedCartWithNoOrderIsReportedOnceWithItsOwnCode) {
  const auto s = RecoveringStore("carts");
  const auto ada = Register(s, "ada@example.com");
  const auto bob = Register(s, "bob@example.com");
  Quote(s, TwoLineCart(ada, 0));
  Quote(s, TwoLineCart(bob, 0));
  v1::PlaceOrderResponse order;
  ASSERT_TRUE(Place(s, "o-bob", TwoLineCart(bob, 0), &order).ok());  // ends Bob's cart
  Quote(s, TwoLineCart("", 0));  // a guest's cart is not recorded

  EXPECT_EQ(Abandon(s, 1).abandoned(), 0);  // not yet due
  const auto done = Abandon(s, 3);
  EXPECT_EQ(done.abandoned(), 1);
  EXPECT_EQ(done.codes(), 1);
  EXPECT_EQ(Abandon(s, 3).abandoned(), 0);  // once

  const auto events = StoreEvents(s, "cart.abandoned", 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].customer_id(), ada);
  const auto details = nlohmann::json::parse(events[0].details_json());
  EXPECT_EQ(details["cart_number"], 1);
  EXPECT_EQ(details["subtotal_minor"], 5000);
  EXPECT_EQ(details["currency_code"], "USD");
  ASSERT_EQ(details["lines"].size(), 2u);
  EXPECT_EQ(details["lines"][0]["sku"], "A");
  const std::string code = details["code"];
  ASSERT_EQ(code.size(), 12u);

  // The code is Ada's alone, 5.00 off, once.
  auto cart = TwoLineCart(ada, 0);
  cart.set_discount_code(code);
  EXPECT_TRUE(Quote(s, cart).code().applied());
  auto bobs = TwoLineCart(bob, 0);
  bobs.set_discount_code(code);
  EXPECT_EQ(Quote(s, bobs).code().refusal_reason(), "CODE_NOT_YOURS");
  ASSERT_TRUE(Place(s, "o-ada", cart, &order).ok());
  EXPECT_EQ(order.order().discount_minor(), 500);

  // Each quote after an order or an abandonment starts the customer's next cart: Ada's quote with
  // the code was her cart 2, which her order ended, so this one is 3; Bob's quote above (with
  // Ada's code) started his cart 2 after his order. Both are reported in their own time.
  Quote(s, TwoLineCart(ada, 0));
  EXPECT_EQ(Abandon(s, 1).abandoned(), 0);
  EXPECT_EQ(Abandon(s, 3).abandoned(), 2);
  // (Events of different carts reach the log in no set order: compared as a set.)
  const auto all = StoreEvents(s, "cart.abandoned", 3);
  ASSERT_EQ(all.size(), 3u);
  std::set<std::pair<std::string, int>> carts;
  for (const auto& e : all) {
    carts.emplace(e.customer_id(), nlohmann::json::parse(e.details_json())["cart_number"]);
  }
  EXPECT_EQ(carts, (std::set<std::pair<std::string, int>>{{ada, 1}, {ada, 3}, {bob, 2}}));
}

TEST_F(CartRecoveryIT, TwoRunnersAtOnceReportEachCartOnceAndAStoreWithoutItRecordsNothing) {
  const auto s = RecoveringStore("carts-race");
  std::vector<std::string> customers;
  for (int i = 0; i < 30; ++i) {
    customers.push_back(Register(s, "c" + std::to_string(i) + "@example.com"));
    Quote(s, TwoLineCart(customers.back(), 0));
  }
  std::atomic<int64_t> abandoned{0};
  std::vector<std::thread> runners;
  for (int i = 0; i < 2; ++i) {
    runners.emplace_back([&] { abandoned += Abandon(s, 3).abandoned(); });
  }
  for (auto& t : runners) t.join();
  EXPECT_EQ(abandoned.load(), 30);
  const auto events = StoreEvents(s, "cart.abandoned", 30);
  std::set<std::string> who;
  for (const auto& e : events) who.insert(e.customer_id());
  EXPECT_EQ(events.size(), 30u);
  EXPECT_EQ(who.size(), 30u);

  // Checkout relays these events: its dead letters are reachable like the orders service's.
  v1::ListDeadLettersRequest letters;
  letters.set_store_id(s.store_id);
  letters.set_service("checkout");
  v1::ListDeadLettersResponse none;
  const auto listed = admin_->ListDeadLetters(Ctx(kOperatorToken).get(), letters, &none);
  EXPECT_TRUE(listed.ok()) << listed.error_message();
  EXPECT_EQ(none.dead_letters_size(), 0);

  const auto off = CreateStore("carts-off");
  SetUpProgram(off);
  Quote(off, TwoLineCart(Register(off, "dee@example.com"), 0));
  EXPECT_EQ(Abandon(off, 24 * 30).abandoned(), 0);
}

}  // namespace
}  // namespace loyalty::gateway
