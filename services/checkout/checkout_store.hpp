// Every SQL statement of the checkout service: the checkouts table, PlaceOrder's idempotency
// record (one row per store order id).
#pragma once

#include <optional>
#include <string>

#include "loyalty/common/db.hpp"

namespace loyalty::checkout {

// The subscription renewal a checkout places (SetRenewal); empty subscription_id: none.
struct ClaimedRenewal {
  std::string subscription_id;
  int64_t renewal_us = 0;  // the renewal's time, its key
};

struct CheckoutRow {
  std::string request_hash;
  std::string state;  // started | placed | refused
  std::string hold_id;
  std::string response;  // serialized PlaceOrderResponse once placed
  int error_code = 0;
  std::string error_reason;
  std::string error_message;
  std::string thank_you_code;  // drawn at the claim; issued only if the store wants one
  ClaimedRenewal renewal;      // named by an earlier attempt of this checkout
};

class CheckoutStore {
 public:
  explicit CheckoutStore(common::Database& db);

  // Starts the checkout of an order id, or finds the one already started, and ends the
  // customer's open cart as ordered: one statement, autocommitted. nullopt only when a
  // concurrent claim committed between its two halves; the caller asks again.
  std::optional<CheckoutRow> Claim(pqxx::transaction_base& tx, const std::string& store_id,
                                   const std::string& order_id, const std::string& request_hash,
                                   const std::string& customer_id,
                                   const std::string& thank_you_code) const;
  void SetHold(pqxx::transaction_base& tx, const std::string& store_id,
               const std::string& order_id, const std::string& hold_id) const;
  // Names the subscription renewal the checkout places; pqxx::unique_violation when another
  // live checkout (started or placed) names it (migrations/V008).
  void SetRenewal(pqxx::transaction_base& tx, const std::string& store_id,
                  const std::string& order_id, const std::string& subscription_id,
                  int64_t renewal_us) const;
  void SetPlaced(pqxx::transaction_base& tx, const std::string& store_id,
                 const std::string& order_id, const std::string& response) const;
  void SetRefused(pqxx::transaction_base& tx, const std::string& store_id,
                  const std::string& order_id, int code, const std::string& reason,
                  const std::string& message) const;
  // Forgets a checkout that holds nothing yet (its cart or reservation was refused), so that
  // its order id stays free for a corrected cart.
  void DeleteUnheld(pqxx::transaction_base& tx, const std::string& store_id,
                    const std::string& order_id) const;
};

}  // namespace loyalty::checkout
