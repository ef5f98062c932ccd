#include "cart_store.hpp"

namespace loyalty::checkout {

CartStore::CartStore(common::Database& db) {
  db.Prepare("cart_record",
             "INSERT INTO checkout.carts AS c (store_id, customer_id, state, cart, currency_code, "
             "  quoted_at, abandon_at, code_batch_id) "
             "VALUES ($1, $2, 'open', $3, $4, now(), now() + make_interval(hours => $5), $6) "
             "ON CONFLICT (store_id, customer_id) DO UPDATE SET "
             "  cart_number = CASE WHEN c.state = 'open' THEN c.cart_number "
             "                     ELSE c.cart_number + 1 END, "
             "  state = 'open', cart = EXCLUDED.cart, currency_code = EXCLUDED.currency_code, "
             "  quoted_at = EXCLUDED.quoted_at, abandon_at = EXCLUDED.abandon_at, "
             "  code_batch_id = EXCLUDED.code_batch_id");
  db.Prepare("cart_lock_due",
             "SELECT store_id, customer_id, cart_number, cart, currency_code, "
             "       (extract(epoch FROM quoted_at) * 1000000)::bigint, code_batch_id, "
             "       event_sequence "
             "FROM checkout.carts "
             "WHERE state = 'open' AND abandon_at <= to_timestamp($2::bigint / 1000000.0) "
             "AND ($1 = '' OR store_id = $1) ORDER BY abandon_at LIMIT $3 "
             "FOR UPDATE SKIP LOCKED");
  db.Prepare("cart_mark_abandoned",
             "UPDATE checkout.carts SET state = 'abandoned', event_sequence = $3 "
             "WHERE store_id = $1 AND customer_id = $2");
}

void CartStore::Record(pqxx::transaction_base& tx, const std::string& store_id,
                       const gateway::v1::Cart& cart, const std::string& currency_code,
                       int after_hours, const std::string& code_batch_id) const {
  const std::string bytes = cart.SerializeAsString();
  tx.exec_prepared("cart_record", store_id, cart.customer_id(), pqxx::binarystring(bytes),
                   currency_code, after_hours, code_batch_id);
}

std::vector<DueCart> CartStore::LockDue(pqxx::transaction_base& tx, const std::string& store_id,
                                        int64_t as_of_us, int limit) const {
  std::vector<DueCart> due;
  for (const auto& row : tx.exec_prepared("cart_lock_due", store_id, as_of_us, limit)) {
    DueCart c;
    c.store_id = row[0].as<std::string>();
    c.customer_id = row[1].as<std::string>();
    c.cart_number = row[2].as<int64_t>();
    c.cart.ParseFromString(pqxx::binarystring(row[3]).str());
    c.currency_code = row[4].as<std::string>();
    c.quoted_at_us = row[5].as<int64_t>();
    c.code_batch_id = row[6].as<std::string>();
    c.event_sequence = row[7].as<int64_t>();
    due.push_back(std::move(c));
  }
  return due;
}

void CartStore::MarkAbandoned(pqxx::transaction_base& tx, const DueCart& cart) const {
  tx.exec_prepared("cart_mark_abandoned", cart.store_id, cart.customer_id,
                   cart.event_sequence + 1);
}

}  // namespace loyalty::checkout
