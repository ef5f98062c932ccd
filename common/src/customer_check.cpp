#include "loyalty/common/customer_check.hpp"

namespace loyalty::common {

ApiError CustomerNotFound(const std::string& customer_id, const std::string& field) {
  return ApiError(grpc::StatusCode::NOT_FOUND, "CUSTOMER_NOT_FOUND",
                  "customer " + customer_id + " is not registered in this store",
                  {{field, "is not a customer of this store"}});
}

void RequireCustomer(const CallContext& call,
                     customers::v1::CustomersService::StubInterface& customers,
                     const std::string& store_id, const std::string& customer_id,
                     const std::string& field) {
  customers::v1::GetCustomerRequest request;
  request.set_store_id(store_id);
  request.set_customer_id(customer_id);
  customers::v1::GetCustomerResponse response;
  const auto status = customers.GetCustomer(DownstreamContext(call).get(), request, &response);
  if (status.ok()) return;
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    throw CustomerNotFound(customer_id, field);
  }
  ThrowDownstream(status, "customers");
}

}  // namespace loyalty::common
