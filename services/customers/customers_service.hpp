// loyalty.customers.v1.CustomersService: request validation, calls into the rules and the store,
// idempotency. Thin on purpose: the rules are in customer_rules, the SQL in customer_store.
#pragma once

#include <mutex>
#include <random>

#include "customer_store.hpp"
#include "loyalty/common/idempotency.hpp"
#include "loyalty/common/server.hpp"
#include "loyalty/customers/v1/customers_service.grpc.pb.h"

namespace loyalty::customers {

class CustomersService final : public v1::CustomersService::CallbackService {
 public:
  explicit CustomersService(common::ServiceHost& host);

  grpc::ServerUnaryReactor* RegisterCustomer(grpc::CallbackServerContext* context,
                                             const v1::RegisterCustomerRequest* request,
                                             v1::RegisterCustomerResponse* response) override;
  grpc::ServerUnaryReactor* GetCustomer(grpc::CallbackServerContext* context,
                                        const v1::GetCustomerRequest* request,
                                        v1::GetCustomerResponse* response) override;
  grpc::ServerUnaryReactor* UpdateCustomer(grpc::CallbackServerContext* context,
                                           const v1::UpdateCustomerRequest* request,
                                           v1::UpdateCustomerResponse* response) override;
  grpc::ServerUnaryReactor* ListCustomers(grpc::CallbackServerContext* context,
                                          const v1::ListCustomersRequest* request,
                                          v1::ListCustomersResponse* response) override;
  grpc::ServerUnaryReactor* CountCustomers(grpc::CallbackServerContext* context,
                                           const v1::CountCustomersRequest* request,
                                           v1::CountCustomersResponse* response) override;
  grpc::ServerUnaryReactor* FilterConsenting(grpc::CallbackServerContext* context,
                                             const v1::FilterConsentingRequest* request,
                                             v1::FilterConsentingResponse* response) override;
  grpc::ServerUnaryReactor* LookupReferralCode(grpc::CallbackServerContext* context,
                                               const v1::LookupReferralCodeRequest* request,
                                               v1::LookupReferralCodeResponse* response) override;
  grpc::ServerUnaryReactor* EraseCustomer(grpc::CallbackServerContext* context,
                                          const v1::EraseCustomerRequest* request,
                                          v1::EraseCustomerResponse* response) override;
  grpc::ServerUnaryReactor* ExportCustomer(grpc::CallbackServerContext* context,
                                           const v1::ExportCustomerRequest* request,
                                           v1::ExportCustomerResponse* response) override;

 private:
  v1::Customer Require(pqxx::transaction_base& tx, const std::string& store_id,
                       const std::string& customer_id, bool for_update = false) const;
  std::string NextReferralCode();

  common::ServiceHost& host_;
  common::Database& db_;
  CustomerStore store_;
  common::Idempotency idempotency_;
  std::mutex rng_mutex_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace loyalty::customers
