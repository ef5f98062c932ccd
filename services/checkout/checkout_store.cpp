#include "checkout_store.hpp"

#include "loyalty/common/hex.hpp"
#include "loyalty/common/sql_time.hpp"

namespace loyalty::checkout {

namespace {

// A statement that ends a checkout without an order: `ending` (an UPDATE or DELETE of its row)
// and, in the same statement, its held code claim goes and the code gets its use back.
std::string GivingCodeBack(const std::string& ending) {
  return "WITH ended AS (" + ending + " RETURNING order_id), "
         "released AS ("
         "  DELETE FROM checkout.code_claims k USING ended e "
         "  WHERE k.store_id = $1 AND k.order_id = e.order_id AND k.state = 'held' "
         "  RETURNING k.code) "
         "UPDATE checkout.codes c SET uses = c.uses - 1 FROM released r "
         "WHERE c.store_id = $1 AND c.code = r.code";
}

}  // namespace

CheckoutStore::CheckoutStore(common::Database& db) {
  // The insert and, when the row exists, the existing row, in one round trip. The CTE's SELECT
  // does not see the row the same statement inserts, hence the UNION. A checkout starting ends
  // the customer's open cart as ordered (abandoned carts, cart_store.hpp): no cart.abandoned
  // event can follow the order.
  db.Prepare("co_claim",
             "WITH ordered AS ("
             "  UPDATE checkout.carts SET state = 'ordered' "
             "  WHERE store_id = $1 AND customer_id = $4 AND state = 'open'), "
             "claimed AS ("
             "  INSERT INTO checkout.checkouts (store_id, order_id, request_hash, state, "
             "                                 thank_you_code) "
             "  VALUES ($1, $2, $3, 'started', $5) ON CONFLICT DO NOTHING "
             "  RETURNING request_hash, state, hold_id, '' AS response, error_code, "
             "            error_reason, error_message, thank_you_code, '' AS subscription_id, "
             "            0::bigint AS renewal_us) "
             "SELECT * FROM claimed UNION ALL "
             "SELECT request_hash, state, hold_id, coalesce(response, ''), error_code, "
             "       error_reason, error_message, thank_you_code, coalesce(subscription_id, ''), "
             "       coalesce(" MICROS("renewal_at") ", 0) FROM checkout.checkouts "
             "WHERE store_id = $1 AND order_id = $2 AND NOT EXISTS (SELECT 1 FROM claimed)");
  db.Prepare("co_set_hold",
             "UPDATE checkout.checkouts SET hold_id = $3, updated_at = now() "
             "WHERE store_id = $1 AND order_id = $2");
  db.Prepare("co_set_renewal",
             "UPDATE checkout.checkouts SET subscription_id = $3, renewal_at = "
             FROM_MICROS("$4") ", updated_at = now() WHERE store_id = $1 AND order_id = $2");
  // The order exists: its discount code's claim is used for good.
  db.Prepare("co_set_placed",
             "WITH used AS (UPDATE checkout.code_claims SET state = 'used' "
             "              WHERE store_id = $1 AND order_id = $2) "
             "UPDATE checkout.checkouts SET state = 'placed', response = $3, updated_at = now() "
             "WHERE store_id = $1 AND order_id = $2");
  db.Prepare("co_set_refused",
             GivingCodeBack("UPDATE checkout.checkouts SET state = 'refused', error_code = $3, "
                            "error_reason = $4, error_message = $5, updated_at = now() "
                            "WHERE store_id = $1 AND order_id = $2"));
  db.Prepare("co_delete_unheld",
             GivingCodeBack("DELETE FROM checkout.checkouts WHERE store_id = $1 AND order_id = $2 "
                            "AND state = 'started' AND hold_id = ''"));
}

std::optional<CheckoutRow> CheckoutStore::Claim(pqxx::transaction_base& tx,
                                                const std::string& store_id,
                                                const std::string& order_id,
                                                const std::string& request_hash,
                                                const std::string& customer_id,
                                                const std::string& thank_you_code) const {
  const auto r = tx.exec_prepared("co_claim", store_id, order_id, request_hash, customer_id,
                                  thank_you_code);
  if (r.empty()) return std::nullopt;
  CheckoutRow c;
  c.request_hash = r[0][0].as<std::string>();
  c.state = r[0][1].as<std::string>();
  c.hold_id = r[0][2].as<std::string>();
  c.response = common::HexDecode(r[0][3].as<std::string>()).value_or("");
  c.error_code = r[0][4].as<int>();
  c.error_reason = r[0][5].as<std::string>();
  c.error_message = r[0][6].as<std::string>();
  c.thank_you_code = r[0][7].as<std::string>();
  c.renewal.subscription_id = r[0][8].as<std::string>();
  c.renewal.renewal_us = r[0][9].as<int64_t>();
  return c;
}

void CheckoutStore::SetHold(pqxx::transaction_base& tx, const std::string& store_id,
                            const std::string& order_id, const std::string& hold_id) const {
  tx.exec_prepared("co_set_hold", store_id, order_id, hold_id);
}

void CheckoutStore::SetRenewal(pqxx::transaction_base& tx, const std::string& store_id,
                               const std::string& order_id, const std::string& subscription_id,
                               int64_t renewal_us) const {
  tx.exec_prepared("co_set_renewal", store_id, order_id, subscription_id, renewal_us);
}

void CheckoutStore::SetPlaced(pqxx::transaction_base& tx, const std::string& store_id,
                              const std::string& order_id, const std::string& response) const {
  tx.exec_prepared("co_set_placed", store_id, order_id, common::HexEncode(response));
}

void CheckoutStore::SetRefused(pqxx::transaction_base& tx, const std::string& store_id,
                               const std::string& order_id, int code, const std::string& reason,
                               const std::string& message) const {
  tx.exec_prepared("co_set_refused", store_id, order_id, code, reason, message);
}

void CheckoutStore::DeleteUnheld(pqxx::transaction_base& tx, const std::string& store_id,
                                 const std::string& order_id) const {
  tx.exec_prepared("co_delete_unheld", store_id, order_id);
}

}  // namespace loyalty::checkout
