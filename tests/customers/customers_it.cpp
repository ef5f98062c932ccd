// CustomersService through a real loyalty-customers process on a real Postgres.
#include <gtest/gtest.h>

#include <google/protobuf/util/message_differencer.h>

#include <future>
#include <pqxx/pqxx>

#include "loyalty/common/errors.hpp"
#include "loyalty/customers/v1/customers_service.grpc.pb.h"
#include "test_env.hpp"

namespace loyalty::customers {
namespace {

using common::ErrorFields;
using common::ErrorReason;

class CustomersIT : public ::testing::Test {
 protected:
  void SetUp() override {
    process_ = std::make_unique<testing::ServiceProcess>("customers", db_.url());
    process_->WaitServing();
    stub_ = v1::CustomersService::NewStub(
        grpc::CreateChannel(process_->address(), grpc::InsecureChannelCredentials()));
  }

  v1::RegisterCustomerRequest Ada(const std::string& request_id = "req-ada") {
    v1::RegisterCustomerRequest r;
    r.set_store_id("store-1");
    r.set_request_id(request_id);
    r.set_email(" Ada@Example.com ");
    r.set_name("Ada Lovelace");
    r.mutable_birthday()->set_month(12);
    r.mutable_birthday()->set_day(10);
    r.set_marketing_consent(true);
    r.add_tags("vip");
    return r;
  }

  grpc::Status Register(const v1::RegisterCustomerRequest& r, v1::Customer* out = nullptr) {
    v1::RegisterCustomerResponse response;
    auto status = stub_->RegisterCustomer(testing::InternalContext().get(), r, &response);
    if (out) *out = response.customer();
    return status;
  }

  int Rows() {
    pqxx::connection conn(db_.url());
    pqxx::nontransaction tx(conn);
    return tx.exec1("SELECT count(*) FROM customers.customers")[0].as<int>();
  }

  testing::TestDatabase db_;
  std::unique_ptr<testing::ServiceProcess> process_;
  std::unique_ptr<v1::CustomersService::Stub> stub_;
};

TEST_F(CustomersIT, RegistersWithNormalisedEmailAndAReferralCode) {
  v1::Customer ada;
  ASSERT_TRUE(Register(Ada(), &ada).ok());
  EXPECT_EQ(ada.email(), "ada@example.com");
  EXPECT_EQ(ada.name(), "Ada Lovelace");
  EXPECT_EQ(ada.birthday().month(), 12);
  EXPECT_EQ(ada.referral_code().size(), 8u);
  EXPECT_GT(ada.signed_up_at().seconds(), 1700000000);

  v1::GetCustomerRequest by_email;
  by_email.set_store_id("store-1");
  by_email.set_email("ADA@example.com");
  v1::GetCustomerResponse got;
  ASSERT_TRUE(stub_->GetCustomer(testing::InternalContext().get(), by_email, &got).ok());
  EXPECT_EQ(got.customer().customer_id(), ada.customer_id());

  // Another store does not see her.
  by_email.set_store_id("store-2");
  EXPECT_EQ(stub_->GetCustomer(testing::InternalContext().get(), by_email, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(CustomersIT, ConcurrentRetriesCreateOneCustomerAndAnswerAlike) {
  constexpr int kCalls = 30;
  std::vector<std::future<std::pair<grpc::Status, v1::Customer>>> calls;
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(std::async(std::launch::async, [&] {
      v1::Customer c;
      auto status = Register(Ada(), &c);
      return std::make_pair(status, c);
    }));
  }
  std::vector<v1::Customer> answers;
  for (auto& call : calls) {
    auto [status, customer] = call.get();
    ASSERT_TRUE(status.ok()) << status.error_message();
    answers.push_back(customer);
  }
  for (const auto& answer : answers) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(answer, answers[0]));
  }
  EXPECT_EQ(Rows(), 1);
}

TEST_F(CustomersIT, ARequestIdReusedForAnotherRequestIsRefused) {
  ASSERT_TRUE(Register(Ada()).ok());
  auto changed = Ada();
  changed.set_name("Someone Else");
  auto status = Register(changed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ErrorReason(status), "REQUEST_ID_REUSED");
  EXPECT_EQ(Rows(), 1);
}

TEST_F(CustomersIT, DuplicateEmailIsAlreadyExistsWithAReason) {
  ASSERT_TRUE(Register(Ada("one")).ok());
  auto status = Register(Ada("two"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ErrorReason(status), "EMAIL_ALREADY_REGISTERED");
  EXPECT_EQ(Rows(), 1);
}

TEST_F(CustomersIT, BadInputNamesTheFieldAndWritesNothing) {
  auto bad = Ada();
  bad.set_store_id("");
  bad.set_email("not-an-email");
  bad.mutable_birthday()->set_month(2);
  bad.mutable_birthday()->set_day(30);
  bad.set_name(std::string(201, 'x'));
  auto status = Register(bad);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorFields(status),
            (std::vector<std::string>{"store_id", "email", "name", "birthday"}));
  auto unknown_referrer = Ada();
  unknown_referrer.set_referred_by_code("ZZZZZZZZ");
  status = Register(unknown_referrer);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorFields(status), (std::vector<std::string>{"referred_by_code"}));
  EXPECT_EQ(Rows(), 0);
}

TEST_F(CustomersIT, ReferralCodesLinkCustomers) {
  v1::Customer ada;
  ASSERT_TRUE(Register(Ada(), &ada).ok());
  v1::RegisterCustomerRequest bob;
  bob.set_store_id("store-1");
  bob.set_request_id("req-bob");
  bob.set_email("bob@example.com");
  bob.set_referred_by_code(ada.referral_code());
  v1::Customer b;
  ASSERT_TRUE(Register(bob, &b).ok());
  EXPECT_EQ(b.referred_by_code(), ada.referral_code());
  EXPECT_NE(b.referral_code(), ada.referral_code());

  v1::LookupReferralCodeRequest lookup;
  lookup.set_store_id("store-1");
  lookup.set_referral_code(ada.referral_code());
  v1::LookupReferralCodeResponse owner;
  ASSERT_TRUE(stub_->LookupReferralCode(testing::InternalContext().get(), lookup, &owner).ok());
  EXPECT_EQ(owner.customer_id(), ada.customer_id());
}

TEST_F(CustomersIT, UpdateChangesOnlyTheMaskedFields) {
  v1::Customer ada;
  ASSERT_TRUE(Register(Ada(), &ada).ok());
  v1::UpdateCustomerRequest update;
  update.set_store_id("store-1");
  update.set_request_id("upd-1");
  update.mutable_customer()->set_customer_id(ada.customer_id());
  update.mutable_customer()->set_name("Countess Lovelace");
  update.mutable_customer()->set_email("ignored@example.com");  // not in the mask
  update.mutable_update_mask()->add_paths("name");
  v1::UpdateCustomerResponse updated;
  ASSERT_TRUE(stub_->UpdateCustomer(testing::InternalContext().get(), update, &updated).ok());
  EXPECT_EQ(updated.customer().name(), "Countess Lovelace");
  EXPECT_EQ(updated.customer().email(), "ada@example.com");
  EXPECT_TRUE(updated.customer().marketing_consent());

  update.set_request_id("upd-2");
  update.mutable_update_mask()->add_paths("referral_code");
  auto status = stub_->UpdateCustomer(testing::InternalContext().get(), update, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorFields(status), (std::vector<std::string>{"update_mask"}));
}

TEST_F(CustomersIT, ListsPagesFilteredByTag) {
  for (int i = 0; i < 7; ++i) {
    v1::RegisterCustomerRequest r;
    r.set_store_id("store-1");
    r.set_request_id("r" + std::to_string(i));
    r.set_email("c" + std::to_string(i) + "@example.com");
    if (i % 2 == 0) r.add_tags("even");
    ASSERT_TRUE(Register(r).ok());
  }
  std::vector<std::string> seen;
  v1::ListCustomersRequest list;
  list.set_store_id("store-1");
  list.set_page_size(2);
  list.set_tag("even");
  for (int page = 0; page < 10; ++page) {
    v1::ListCustomersResponse response;
    ASSERT_TRUE(stub_->ListCustomers(testing::InternalContext().get(), list, &response).ok());
    for (const auto& c : response.customers()) seen.push_back(c.email());
    if (response.next_page_token().empty()) break;
    list.set_page_token(response.next_page_token());
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"c0@example.com", "c2@example.com", "c4@example.com",
                                            "c6@example.com"}));
}

TEST_F(CustomersIT, ListsTheCustomersBornOnADay) {
  const std::pair<int, int> days[] = {{2, 29}, {2, 28}, {2, 29}, {3, 1}};
  for (int i = 0; i < 4; ++i) {
    v1::RegisterCustomerRequest r;
    r.set_store_id("store-1");
    r.set_request_id("b" + std::to_string(i));
    r.set_email("b" + std::to_string(i) + "@example.com");
    r.mutable_birthday()->set_month(days[i].first);
    r.mutable_birthday()->set_day(days[i].second);
    ASSERT_TRUE(Register(r).ok());
  }
  v1::RegisterCustomerRequest none;  // no birthday
  none.set_store_id("store-1");
  none.set_request_id("b-none");
  none.set_email("none@example.com");
  ASSERT_TRUE(Register(none).ok());
  v1::ListCustomersRequest list;
  list.set_store_id("store-1");
  list.set_birthday_month(2);
  list.set_birthday_day(29);
  v1::ListCustomersResponse response;
  ASSERT_TRUE(stub_->ListCustomers(testing::InternalContext().get(), list, &response).ok());
  std::vector<std::string> seen;
  for (const auto& c : response.customers()) seen.push_back(c.email());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"b0@example.com", "b2@example.com"}));

  list.set_birthday_day(0);  // a month without a day names the field
  const auto status = stub_->ListCustomers(testing::InternalContext().get(), list, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorFields(status), (std::vector<std::string>{"birthday_day"}));
}

TEST_F(CustomersIT, EraseRemovesPersonalDataButKeepsTheId) {
  v1::Customer ada;
  ASSERT_TRUE(Register(Ada(), &ada).ok());
  v1::EraseCustomerRequest erase;
  erase.set_store_id("store-1");
  erase.set_request_id("erase-1");
  erase.set_customer_id(ada.customer_id());
  v1::EraseCustomerResponse erased;
  ASSERT_TRUE(stub_->EraseCustomer(testing::InternalContext().get(), erase, &erased).ok());
  EXPECT_TRUE(erased.customer().erased());
  EXPECT_EQ(erased.customer().email(), "");
  EXPECT_EQ(erased.customer().name(), "");
  EXPECT_FALSE(erased.customer().has_birthday());
  EXPECT_EQ(erased.customer().customer_id(), ada.customer_id());

  pqxx::connection conn(db_.url());
  pqxx::nontransaction tx(conn);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM customers.customers WHERE email IS NOT NULL OR name "
                     "IS NOT NULL OR birthday_month IS NOT NULL")[0]
                .as<int>(),
            0);
  // The email is free again for a new registration.
  EXPECT_TRUE(Register(Ada("again")).ok());
}

}  // namespace
}  // namespace loyalty::customers
