// Discount codes' rules: definitions, who may use a code when, what it takes off a cart (priced
// by the one pricing path beside a reward), and generated codes.
#include "code_rules.hpp"

#include <gtest/gtest.h>

#include <set>

#include "checkout_rules.hpp"
#include "earn_rules.hpp"
#include "loyalty/common/hex.hpp"
#include "order_rules.hpp"

namespace loyalty::checkout {
namespace {

constexpr int64_t kNow = 1'800'000'000'000'000;  // micros

CodeState Code(gateway::v1::CodeKind kind) {
  CodeState code;
  code.code = "SAVE10";
  code.definition.set_kind(kind);
  return code;
}

std::vector<std::string> BadFields(const gateway::v1::CodeDefinition& d) {
  common::Validator v;
  CheckCodeDefinition(v, d, "definition.");
  std::vector<std::string> fields;
  try {
    v.ThrowIfInvalid();
  } catch (const common::ApiError& e) {
    for (const auto& f : e.fields()) fields.push_back(f.field);
  }
  return fields;
}

TEST(CheckCodeDefinition, EachKindNeedsItsOwnFieldsAndRefusesTheOthers) {
  gateway::v1::CodeDefinition d;
  EXPECT_EQ(BadFields(d), std::vector<std::string>{"definition.kind"});
  d.set_kind(gateway::v1::CODE_KIND_PERCENT_OFF);
  d.set_percent_off_bps(1500);
  EXPECT_EQ(BadFields(d), std::vector<std::string>{"definition.cap_minor"});
  d.set_cap_minor(2000);
  EXPECT_TRUE(BadFields(d).empty());
  d.set_amount_off_minor(5);
  EXPECT_EQ(BadFields(d), std::vector<std::string>{"definition.amount_off_minor"});
  d.clear_amount_off_minor();
  d.set_max_uses(-1);
  d.set_per_customer_limit(-2);
  d.set_minimum_spend_minor(-3);
  d.set_customer_id("bad id with spaces");
  EXPECT_EQ(BadFields(d),
            (std::vector<std::string>{"definition.minimum_spend_minor", "definition.max_uses",
                                      "definition.per_customer_limit",
                                      "definition.customer_id"}));
}

TEST(CheckCodeUsable, EachRefusalInItsOrder) {
  auto code = Code(gateway::v1::CODE_KIND_AMOUNT_OFF);
  auto& d = code.definition;
  d.set_amount_off_minor(500);
  d.set_minimum_spend_minor(2000);
  d.set_max_uses(10);
  d.set_per_customer_limit(1);
  d.mutable_expires_at()->set_seconds(kNow / 1'000'000 + 60);
  EXPECT_EQ(CheckCodeUsable(code, "ann", 2000, kNow), CodeRefusal::kNone);
  EXPECT_EQ(CheckCodeUsable(code, "ann", 1999, kNow), CodeRefusal::kMinimumNotMet);
  code.customer_uses = 1;
  EXPECT_EQ(CheckCodeUsable(code, "ann", 2000, kNow), CodeRefusal::kCustomerLimit);
  code.uses = 10;
  EXPECT_EQ(CheckCodeUsable(code, "ann", 2000, kNow), CodeRefusal::kUsedUp);
  d.set_customer_id("bob");
  EXPECT_EQ(CheckCodeUsable(code, "ann", 2000, kNow), CodeRefusal::kNotYours);
  // Expired from the instant itself on.
  EXPECT_EQ(CheckCodeUsable(code, "ann", 2000, kNow + 60'000'000), CodeRefusal::kExpired);
  // No limit at 0.
  auto open = Code(gateway::v1::CODE_KIND_FREE_SHIPPING);
  open.uses = 1'000'000;
  open.customer_uses = 1'000;
  EXPECT_EQ(CheckCodeUsable(open, "", 0, kNow), CodeRefusal::kNone);
}

TEST(PersonalTerms, BindsTheCodeToOneCustomerForOneUseAndKeepsTheRest) {
  gateway::v1::CodeDefinition terms;
  terms.set_kind(gateway::v1::CODE_KIND_AMOUNT_OFF);
  terms.set_amount_off_minor(500);
  terms.set_max_uses(100);
  terms.set_minimum_spend_minor(2000);
  const auto personal = PersonalTerms(terms, "c-7");
  EXPECT_EQ(personal.customer_id(), "c-7");
  EXPECT_EQ(personal.max_uses(), 1);
  EXPECT_EQ(personal.amount_off_minor(), 500);
  EXPECT_EQ(personal.minimum_spend_minor(), 2000);
  EXPECT_EQ(terms.customer_id(), "");  // the template's own terms are untouched
}

TEST(CodeRefusalError, NamesTheFieldWithTheReason) {
  auto code = Code(gateway::v1::CODE_KIND_AMOUNT_OFF);
  code.definition.set_minimum_spend_minor(2500);
  const auto e = CodeRefusalError(CodeRefusal::kMinimumNotMet, code);
  EXPECT_EQ(e.code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(e.reason(), "CODE_MINIMUM_NOT_MET");
  ASSERT_EQ(e.fields().size(), 1u);
  EXPECT_EQ(e.fields()[0].field, "cart.discount_code");
  EXPECT_NE(std::string(e.what()).find("2500"), std::string::npos);
  EXPECT_EQ(CodeNotFound("NOPE").code(), grpc::StatusCode::NOT_FOUND);
}

TEST(CodeText, CanonicalIsUpperCaseAndOnlyLettersDigitsAndDashesAreCodes) {
  EXPECT_EQ(CanonicalCode("spring-10x"), "SPRING-10X");
  EXPECT_TRUE(ValidCodeText("ab-9"));
  EXPECT_FALSE(ValidCodeText("ab"));
  EXPECT_FALSE(ValidCodeText("has space"));
  EXPECT_FALSE(ValidCodeText(std::string(33, 'A')));
  EXPECT_FALSE(ValidCodeText("caf\xc3\xa9"));
}

TEST(CodeFromRandom, TwelveCharactersOfTheAlphabetWithoutBias) {
  // A byte past 247 (8 × 31) is skipped rather than folded onto the first characters.
  std::string random(12, static_cast<char>(255));
  EXPECT_EQ(CodeFromRandom(random), "");
  random = std::string(1, static_cast<char>(248)) + std::string(12, '\0');
  EXPECT_EQ(CodeFromRandom(random), std::string(12, 'A'));
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const auto code = CodeFromRandom(common::RandomBytes(2 * kGeneratedCodeLength));
    ASSERT_EQ(code.size(), kGeneratedCodeLength);
    for (char c : code) {
      ASSERT_NE(kCodeAlphabet.find(c), std::string_view::npos) << code;
      ASSERT_TRUE(c != '0' && c != 'O' && c != '1' && c != 'I' && c != 'L');
    }
    EXPECT_TRUE(ValidCodeText(code));
    seen.insert(code);
  }
  EXPECT_EQ(seen.size(), 2000u);
}

gateway::v1::Cart Cart() {
  gateway::v1::Cart cart;
  cart.set_customer_id("c1");
  for (auto [price, qty] : {std::pair<int64_t, int>{1040, 1}, {999, 3}, {501, 2}}) {
    auto* l = cart.add_lines();
    l->set_line_id("l" + std::to_string(cart.lines_size()));
    l->set_sku("s" + std::to_string(cart.lines_size()));
    l->set_unit_price_minor(price);
    l->set_quantity(qty);
  }
  auto* d = cart.add_discounts();
  d->set_code("SPRING");
  d->set_amount_minor(500);
  cart.set_shipping_fee_minor(499);
  return cart;
}

TEST(PriceCart, ACodeIsOneMoreDiscountBeforeTheRewardAndTheOrderCarriesIt) {
  auto cart = Cart();  // 5039, 500 off by the cart: 4539 of merchandise
  EXPECT_EQ(CodeMerchandise(cart), 4539);
  auto code = Code(gateway::v1::CODE_KIND_PERCENT_OFF);
  code.definition.set_percent_off_bps(1000);  // 10 %, at most 400
  code.definition.set_cap_minor(400);
  cart.set_discount_code("save10");
  const auto settings = points::DefaultSettings("EUR", "Europe/Paris");
  const auto quote = PriceCart(cart, settings, 0, false, nullptr, &code);
  EXPECT_EQ(quote.code.merchandise_off, 400);  // 453 capped
  EXPECT_EQ(quote.priced.discount, 900);
  EXPECT_EQ(quote.priced.shipping, 499);
  const auto order = OrderRequest("st", "EUR", "o1", cart, settings, nullptr, false, nullptr,
                                  &code);
  ASSERT_EQ(order.discounts_size(), 2);
  EXPECT_EQ(order.discounts(1).code(), "SAVE10");
  EXPECT_EQ(order.discounts(1).amount_minor(), 400);
  EXPECT_EQ(orders::PriceOrder(order).total, quote.priced.total);

  // A free-shipping code ships free and takes nothing off the merchandise.
  auto ship = Code(gateway::v1::CODE_KIND_FREE_SHIPPING);
  const auto shipped = PriceCart(cart, settings, 0, false, nullptr, &ship);
  EXPECT_EQ(shipped.priced.shipping, 0);
  EXPECT_EQ(shipped.priced.discount, 500);
}

TEST(CheckCart, ACodeMustBeCodeTextAndLeaveRoomForItsDiscount) {
  auto cart = Cart();
  cart.set_discount_code("no spaces");
  common::Validator v;
  CheckCart(v, cart, "EUR", false);
  try {
    v.ThrowIfInvalid();
    ADD_FAILURE() << "a malformed code passed";
  } catch (const common::ApiError& e) {
    EXPECT_EQ(e.fields().at(0).field, "cart.discount_code");
  }
  cart.set_discount_code("SAVE10");
  cart.set_reward_id("five-off");
  while (cart.discounts_size() < 18) {
    auto* d = cart.add_discounts();
    d->set_code("D" + std::to_string(cart.discounts_size()));
    d->set_amount_minor(1);
  }
  common::Validator ok;
  CheckCart(ok, cart, "EUR", false);
  EXPECT_NO_THROW(ok.ThrowIfInvalid());  // 18 + the code + the reward = 20
  cart.add_discounts()->set_code("ONE-TOO-MANY");
  common::Validator full;
  CheckCart(full, cart, "EUR", false);
  EXPECT_THROW(full.ThrowIfInvalid(), common::ApiError);
}

}  // namespace
}  // namespace loyalty::checkout
