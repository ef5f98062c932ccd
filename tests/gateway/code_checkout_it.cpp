// Discount codes on all six services and a real Postgres (docs/codes.md): the admin creates one
// code or a batch (idempotent, paged back); a quote prices a usable code or says why not; the
// order claims it exactly once under concurrency (1 of 50 for a single-use code, 10 of 50 for a
// limit of 10); a refused checkout gives its use back; refusals name cart.discount_code and keep
// the order id free.
#include <atomic>
#include <set>
#include <thread>

#include "gateway_fixture.hpp"
#include "loyalty/checkout/v1/checkout_service.grpc.pb.h"

namespace loyalty::gateway {
namespace {

class CodeCheckoutIT : public GatewayIT {
 protected:
  static v1::CodeDefinition AmountOff(int64_t off, int64_t max_uses) {
    v1::CodeDefinition d;
    d.set_kind(v1::CODE_KIND_AMOUNT_OFF);
    d.set_amount_off_minor(off);
    d.set_max_uses(max_uses);
    return d;
  }

  grpc::Status Create(const TestStore& s, const std::string& request_id, const std::string& code,
                      int count, const v1::CodeDefinition& d,
                      v1::CreateDiscountCodesResponse* resp) {
    v1::CreateDiscountCodesRequest req;
    req.set_request_id(request_id);
    req.set_code(code);
    req.set_count(count);
    *req.mutable_definition() = d;
    req.set_reason("spring campaign");
    return admin_->CreateDiscountCodes(Ctx(s.owner).get(), req, resp);
  }

  void CreateOne(const TestStore& s, const std::string& code, const v1::CodeDefinition& d) {
    v1::CreateDiscountCodesResponse resp;
    const auto status = Create(s, "create-" + code, code, 0, d, &resp);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  int64_t Uses(const TestStore& s, const std::string& code) {
    v1::ListDiscountCodesRequest req;
    req.set_code(code);
    v1::ListDiscountCodesResponse resp;
    const auto status = admin_->ListDiscountCodes(Ctx(s.owner).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp.codes_size() == 1 ? resp.codes(0).uses() : -1;
  }

  grpc::Status Quote(const TestStore& s, const v1::Cart& cart, v1::QuoteCartResponse* resp) {
    v1::QuoteCartRequest req;
    *req.mutable_cart() = cart;
    return storefront_->QuoteCart(Ctx(s.storefront).get(), req, resp);
  }

  static v1::Cart WithCode(v1::Cart cart, const std::string& code) {
    cart.set_discount_code(code);
    return cart;
  }

  static void ExpectRefused(const grpc::Status& status, grpc::StatusCode code,
                            const std::string& reason) {
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_EQ(common::ErrorReason(status), reason);
    EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"cart.discount_code"});
  }

  // `racers` concurrent checkouts of `code`, each its own order id: how many placed; every other
  // must be refused as CODE_USED_UP.
  int Race(const TestStore& s, const std::string& code, const std::vector<std::string>& customers,
           int racers) {
    std::atomic<int> placed{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < racers; ++i) {
      threads.emplace_back([&, i] {
        v1::PlaceOrderResponse resp;
        const auto status =
            Place(s, code + "-race-" + std::to_string(i),
                  WithCode(TwoLineCart(customers[i % customers.size()], 0), code), &resp);
        if (status.ok()) {
          ++placed;
          EXPECT_EQ(resp.order().discount_minor(), 700);
        } else {
          EXPECT_EQ(common::ErrorReason(status), "CODE_USED_UP") << status.error_message();
        }
      });
    }
    for (auto& t : threads) t.join();
    return placed.load();
  }
};

TEST_F(CodeCheckoutIT, TheQuotePricesOrExplainsACodeAndTheOrderClaimsItOnce) {
  const auto s = CreateStore("codes");
  SetUpProgram(s);  // free shipping from 60.00
  const auto ada = Register(s, "ada@example.com");
  const auto bob = Register(s, "bob@example.com");
  v1::CodeDefinition spring;
  spring.set_kind(v1::CODE_KIND_PERCENT_OFF);
  spring.set_percent_off_bps(1000);  // 10 %, at most 4.00
  spring.set_cap_minor(400);
  spring.set_minimum_spend_minor(4000);
  spring.set_per_customer_limit(1);
  CreateOne(s, "Spring10", spring);
  auto mine = AmountOff(300, 0);
  mine.set_customer_id(bob);
  CreateOne(s, "BOB-ONLY", mine);
  auto old = AmountOff(300, 0);
  *old.mutable_expires_at() = InDays(-1);
  CreateOne(s, "OLD", old);

  // Usable: typed in any case, 10 % of 50.00 capped at 4.00, in the totals.
  const auto cart = TwoLineCart(ada, 0);  // 30.00 + 20.00, shipping 4.99
  v1::QuoteCartResponse quoted;
  ASSERT_TRUE(Quote(s, WithCode(cart, "spring10"), &quoted).ok());
  EXPECT_TRUE(quoted.code().applied());
  EXPECT_EQ(quoted.code().code(), "SPRING10");
  EXPECT_EQ(quoted.code().merchandise_off_minor(), 400);
  EXPECT_EQ(quoted.totals().discount_minor(), 400);
  EXPECT_EQ(quoted.totals().total_minor(), 5000 - 400 + 499);
  EXPECT_EQ(quoted.points_to_earn(), 27 + 18);  // whole units of each line's net: 27.60, 18.40

  // Refused at the quote: priced without it, with the reason.
  auto small = cart;
  small.mutable_lines()->RemoveLast();  // 30.00 < 40.00
  v1::QuoteCartResponse refused;
  ASSERT_TRUE(Quote(s, WithCode(small, "SPRING10"), &refused).ok());
  EXPECT_FALSE(refused.code().applied());
  EXPECT_EQ(refused.code().refusal_reason(), "CODE_MINIMUM_NOT_MET");
  EXPECT_EQ(refused.totals().discount_minor(), 0);
  for (const auto& [code, reason] : std::vector<std::pair<std::string, std::string>>{
           {"NOPE", "CODE_NOT_FOUND"}, {"BOB-ONLY", "CODE_NOT_YOURS"}, {"OLD", "CODE_EXPIRED"}}) {
    ASSERT_TRUE(Quote(s, WithCode(cart, code), &refused).ok());
    EXPECT_EQ(refused.code().refusal_reason(), reason) << code;
    EXPECT_FALSE(refused.code().refusal_message().empty());
  }
  // Malformed: INVALID_ARGUMENT naming the field.
  const auto bad = Quote(s, WithCode(cart, "no spaces"), &refused);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(bad), std::vector<std::string>{"cart.discount_code"});

  // At the order a refusal names the field and keeps the order id free.
  v1::PlaceOrderResponse order;
  ExpectRefused(Place(s, "o-1", WithCode(cart, "BOB-ONLY"), &order),
                grpc::StatusCode::FAILED_PRECONDITION, "CODE_NOT_YOURS");
  ExpectRefused(Place(s, "o-1", WithCode(cart, "NOPE"), &order), grpc::StatusCode::NOT_FOUND,
                "CODE_NOT_FOUND");
  const auto placed = Place(s, "o-1", WithCode(cart, "Spring10"), &order);
  ASSERT_TRUE(placed.ok()) << placed.error_message();
  EXPECT_EQ(order.order().total_minor(), quoted.totals().total_minor());
  ASSERT_EQ(order.order().discounts_size(), 1);
  EXPECT_EQ(order.order().discounts(0).code(), "SPRING10");
  EXPECT_EQ(Uses(s, "spring10"), 1);
  // A retry of the same checkout claims nothing more.
  ASSERT_TRUE(Place(s, "o-1", WithCode(cart, "Spring10"), &order).ok());
  EXPECT_EQ(Uses(s, "SPRING10"), 1);

  // Once per customer: Ada is refused, Bob is not.
  ASSERT_TRUE(Quote(s, WithCode(cart, "SPRING10"), &refused).ok());
  EXPECT_EQ(refused.code().refusal_reason(), "CODE_CUSTOMER_LIMIT");
  ExpectRefused(Place(s, "o-2", WithCode(cart, "SPRING10"), &order),
                grpc::StatusCode::FAILED_PRECONDITION, "CODE_CUSTOMER_LIMIT");
  ASSERT_TRUE(Place(s, "o-2", cart, &order).ok());  // the id was kept free
  ASSERT_TRUE(Place(s, "o-3", WithCode(TwoLineCart(bob, 0), "SPRING10"), &order).ok());
  EXPECT_EQ(Uses(s, "SPRING10"), 2);
  ExpectLedgerClean(s);
}

TEST_F(CodeCheckoutIT, FiftyRacersGetASingleUseCodeOnceAndALimitOfTenTenTimes) {
  const auto s = CreateStore("code-race");
  SetUpProgram(s);
  std::vector<std::string> customers;
  for (int i = 0; i < 10; ++i) {
    customers.push_back(Register(s, "racer" + std::to_string(i) + "@example.com"));
  }
  CreateOne(s, "ONCE", AmountOff(700, 1));
  CreateOne(s, "TEN", AmountOff(700, 10));
  EXPECT_EQ(Race(s, "ONCE", customers, 50), 1);
  EXPECT_EQ(Uses(s, "ONCE"), 1);
  EXPECT_EQ(Race(s, "TEN", customers, 50), 10);
  EXPECT_EQ(Uses(s, "TEN"), 10);
}

TEST_F(CodeCheckoutIT, ARefusedCheckoutGivesItsCodeBack) {
  const auto s = CreateStore("code-back");
  SetUpProgram(s);
  const auto ada = Register(s, "ada@example.com");
  CreateOne(s, "SOLO", AmountOff(700, 1));
  v1::PlaceOrderResponse order;
  // The orders service refuses a customer the store does not have: the use goes back.
  const auto stranger = Place(s, "o-1", WithCode(TwoLineCart("nobody", 0), "SOLO"), &order);
  EXPECT_EQ(common::ErrorReason(stranger), "CUSTOMER_NOT_FOUND") << stranger.error_message();
  EXPECT_EQ(Uses(s, "SOLO"), 0);
  // The ledger refuses points Ada does not have: the use goes back.
  const auto broke = Place(s, "o-2", WithCode(TwoLineCart(ada, 500), "SOLO"), &order);
  EXPECT_EQ(common::ErrorReason(broke), "INSUFFICIENT_POINTS") << broke.error_message();
  EXPECT_EQ(Uses(s, "SOLO"), 0);
  // So the single-use code is still there for an order that goes through (the same id).
  const auto placed = Place(s, "o-2", WithCode(TwoLineCart(ada, 0), "SOLO"), &order);
  ASSERT_TRUE(placed.ok()) << placed.error_message();
  EXPECT_EQ(order.order().discount_minor(), 700);
  EXPECT_EQ(Uses(s, "SOLO"), 1);
}

// The orders service is down: the checkout's outcome is unknown and its code stays claimed (a
// retry must find it). Once the claim is older than its TTL (15 minutes), the expiry job asks the
// orders service to abandon the order id and gives the use back.
TEST_F(CodeCheckoutIT, AClaimLeftByAnUnansweredCheckoutIsGivenBackByTheExpiryJob) {
  const auto s = CreateStore("code-expiry");
  SetUpProgram(s);
  const auto ada = Register(s, "ada@example.com");
  CreateOne(s, "LATE", AmountOff(700, 1));
  ASSERT_EQ(orders_->Terminate(), 0);
  v1::PlaceOrderResponse order;
  const auto status = Place(s, "o-lost", WithCode(TwoLineCart(ada, 0), "LATE"), &order);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(Uses(s, "LATE"), 1);
  orders_->Start();
  WaitHealthy(orders_addr_);

  auto checkout = checkout::v1::CheckoutService::NewStub(
      grpc::CreateChannel(checkout_->address(), grpc::InsecureChannelCredentials()));
  checkout::v1::ExpireCodeClaimsResponse done;
  auto expire = [&](int minutes) {
    checkout::v1::ExpireCodeClaimsRequest req;
    req.set_store_id(s.store_id);
    *req.mutable_as_of() = common::NowTimestamp();
    req.mutable_as_of()->set_seconds(req.as_of().seconds() + minutes * 60);
    return checkout->ExpireCodeClaims(testing::InternalContext().get(), req, &done);
  };
  // Not yet due: nothing changes.
  ASSERT_TRUE(expire(1).ok());
  EXPECT_EQ(done.released(), 0);
  EXPECT_EQ(Uses(s, "LATE"), 1);
  // Due. Checkout's channel to orders may still be reconnecting after the outage: the job then
  // fails UNAVAILABLE and its next round retries, as the scheduler's would.
  EXPECT_TRUE(Eventually([&] { return expire(16).ok(); }));
  EXPECT_EQ(done.released(), 1);
  EXPECT_EQ(done.kept(), 0);
  EXPECT_EQ(Uses(s, "LATE"), 0);
  // The abandoned order id answers so; the code is there for another order.
  EXPECT_EQ(common::ErrorReason(Place(s, "o-lost", WithCode(TwoLineCart(ada, 0), "LATE"), &order)),
            "ORDER_ABANDONED");
  ASSERT_TRUE(Place(s, "o-next", WithCode(TwoLineCart(ada, 0), "LATE"), &order).ok());
  EXPECT_EQ(Uses(s, "LATE"), 1);
  ASSERT_TRUE(expire(60).ok());
  EXPECT_EQ(done.released() + done.kept(), 0);  // a used claim is not the job's
}

// A store that names a thank-you template gets a code of the customer's own with each order:
// in the PlaceOrder answer (the same on a retry) and in the order.confirmed event.
TEST_F(CodeCheckoutIT, EachOrderBringsAThankYouCodeWhenTheStoreWantsOne) {
  const auto s = CreateStore("thanks");
  SetUpProgram(s, [](points::v1::Settings* st) {
    st->set_thank_you_code_batch_id("thanks-template");
  });
  const auto ada = Register(s, "ada@example.com");
  const auto bob = Register(s, "bob@example.com");
  v1::PlaceOrderResponse order;
  // No template batch yet: the order goes through without a code.
  ASSERT_TRUE(Place(s, "o-0", TwoLineCart(ada, 0), &order).ok());
  EXPECT_EQ(order.order().thank_you_code(), "");
  v1::CreateDiscountCodesResponse created;
  ASSERT_TRUE(Create(s, "thanks-template", "", 1, AmountOff(300, 1), &created).ok());

  ASSERT_TRUE(Place(s, "o-1", TwoLineCart(ada, 0), &order).ok());
  const std::string code = order.order().thank_you_code();
  ASSERT_EQ(code.size(), 12u);
  ASSERT_TRUE(Place(s, "o-1", TwoLineCart(ada, 0), &order).ok());  // a retry: the same code
  EXPECT_EQ(order.order().thank_you_code(), code);
  v1::ListDiscountCodesRequest list;
  list.set_code(code);
  v1::ListDiscountCodesResponse listed;
  ASSERT_TRUE(admin_->ListDiscountCodes(Ctx(s.owner).get(), list, &listed).ok());
  ASSERT_EQ(listed.codes_size(), 1);
  EXPECT_EQ(listed.codes(0).batch_id(), "thanks:o-1");
  EXPECT_EQ(listed.codes(0).definition().customer_id(), ada);

  bool in_event = false;
  for (const auto& e : StoreEvents(s, "order.confirmed", 2)) {
    if (e.order_id() == "o-1") in_event = e.details_json().find(code) != std::string::npos;
  }
  EXPECT_TRUE(in_event);
  // Ada's alone: Bob is refused it; Ada's next order uses it.
  v1::QuoteCartResponse quoted;
  ASSERT_TRUE(Quote(s, WithCode(TwoLineCart(bob, 0), code), &quoted).ok());
  EXPECT_EQ(quoted.code().refusal_reason(), "CODE_NOT_YOURS");
  ASSERT_TRUE(Place(s, "o-2", WithCode(TwoLineCart(ada, 0), code), &order).ok());
  EXPECT_EQ(order.order().discount_minor(), 300);
  EXPECT_NE(order.order().thank_you_code(), code);  // and brings the next one
}

TEST_F(CodeCheckoutIT, ABatchIsGeneratedOncePagedBackAndEachCodeWorks) {
  const auto s = CreateStore("code-batch");
  SetUpProgram(s);
  const auto ada = Register(s, "ada@example.com");
  v1::CreateDiscountCodesResponse created;
  auto bad = AmountOff(700, 1);
  bad.set_kind(v1::CODE_KIND_PERCENT_OFF);
  auto status = Create(s, "batch-1", "", 2500, bad, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status),
            (std::vector<std::string>{"definition.amount_off_minor",
                                      "definition.percent_off_bps", "definition.cap_minor"}));
  status = Create(s, "batch-1", "", 2500, AmountOff(700, 1), &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(created.batch_id(), "batch-1");
  EXPECT_EQ(created.count(), 2500);
  // The same request again: the same answer, no new codes.
  v1::CreateDiscountCodesResponse again;
  ASSERT_TRUE(Create(s, "batch-1", "", 2500, AmountOff(700, 1), &again).ok());
  EXPECT_EQ(again.SerializeAsString(), created.SerializeAsString());
  // A reused request id with another request is refused.
  status = Create(s, "batch-1", "", 10, AmountOff(700, 1), &again);
  EXPECT_EQ(common::ErrorReason(status), "REQUEST_ID_REUSED");

  std::set<std::string> codes;
  v1::ListDiscountCodesRequest list;
  list.set_batch_id("batch-1");
  list.set_page_size(1000);
  int pages = 0;
  do {
    v1::ListDiscountCodesResponse page;
    ASSERT_TRUE(admin_->ListDiscountCodes(Ctx(s.owner).get(), list, &page).ok());
    ++pages;
    for (const auto& c : page.codes()) {
      EXPECT_EQ(c.code().size(), 12u);
      EXPECT_EQ(c.definition().amount_off_minor(), 700);
      codes.insert(c.code());
    }
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(codes.size(), 2500u);
  list.set_page_token("forged");
  v1::ListDiscountCodesResponse page;
  EXPECT_EQ(admin_->ListDiscountCodes(Ctx(s.owner).get(), list, &page).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // A generated code works at checkout, typed in lower case.
  std::string typed = *codes.begin();
  for (char& c : typed) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  v1::PlaceOrderResponse order;
  const auto placed = Place(s, "o-1", WithCode(TwoLineCart(ada, 0), typed), &order);
  ASSERT_TRUE(placed.ok()) << placed.error_message();
  EXPECT_EQ(order.order().discount_minor(), 700);
  // A chosen code the store already has is refused.
  v1::CreateDiscountCodesResponse dup;
  EXPECT_EQ(Create(s, "dup", *codes.begin(), 0, AmountOff(1, 1), &dup).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
}

}  // namespace
}  // namespace loyalty::gateway
