// The one check that a store has a customer, for services that are given a customer id by a
// caller and keep no customers of their own (orders, checkout, the gateway): they ask customers.
// Ids are per store, so an id that another store has is a stranger here.
#pragma once

#include <string>

#include "loyalty/common/errors.hpp"
#include "loyalty/common/server.hpp"
#include "loyalty/customers/v1/customers_service.grpc.pb.h"

namespace loyalty::common {

// NOT_FOUND, reason CUSTOMER_NOT_FOUND, naming `field` (as the caller's request spells it).
ApiError CustomerNotFound(const std::string& customer_id, const std::string& field);

// Returns when the store has the customer; throws CustomerNotFound naming `field` when it has
// not, and the customers service's own failure (ThrowDownstream) when it could not say.
void RequireCustomer(const CallContext& call,
                     customers::v1::CustomersService::StubInterface& customers,
                     const std::string& store_id, const std::string& customer_id,
                     const std::string& field);

}  // namespace loyalty::common
