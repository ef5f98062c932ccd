// Every SQL statement of abandoned carts (docs/codes.md): the last cart each known customer
// quoted while the store's cart recovery is on. The checkout's claim (checkout_store.hpp) ends
// an open cart as ordered in its own statement.
#pragma once

#include <string>
#include <vector>

#include "loyalty/common/db.hpp"
#include "loyalty/gateway/v1/gateway_service.pb.h"

namespace loyalty::checkout {

struct DueCart {
  std::string store_id;
  std::string customer_id;
  int64_t cart_number = 0;
  gateway::v1::Cart cart;
  std::string currency_code;
  int64_t quoted_at_us = 0;
  std::string code_batch_id;
  int64_t event_sequence = 0;  // the last one published for this customer's carts
};

class CartStore {
 public:
  explicit CartStore(common::Database& db);

  // The customer's open cart is now `cart`, due `after_hours` from now; after an ended one, the
  // next cart starts.
  void Record(pqxx::transaction_base& tx, const std::string& store_id,
              const gateway::v1::Cart& cart, const std::string& currency_code, int after_hours,
              const std::string& code_batch_id) const;
  // Open carts due at `as_of_us`, of one store or every store (""), locked (others skipped).
  std::vector<DueCart> LockDue(pqxx::transaction_base& tx, const std::string& store_id,
                               int64_t as_of_us, int limit) const;
  void MarkAbandoned(pqxx::transaction_base& tx, const DueCart& cart) const;
};

}  // namespace loyalty::checkout
