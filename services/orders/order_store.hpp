// The orders schema: every statement of the checkout and lifecycle RPCs, named and prepared in one
// place. (Analytics SQL is in analytics_store.)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "loyalty/common/db.hpp"
#include "loyalty/common/page_token.hpp"
#include "loyalty/orders/v1/orders_service.pb.h"
#include "order_rules.hpp"

namespace loyalty::orders {

// What PlaceOrder and friends need to know about an existing row before touching it.
struct OrderHead {
  std::string status;  // placed, fulfilled, cancelled, abandoned
  std::string customer_id;
  std::string content_hash;
  std::string placed_response;  // serialized PlaceOrderResponse
};

struct RefundRecord {
  std::string order_id;
  std::string content_hash;
  std::string response;  // serialized RefundOrderResponse
};

struct NewOrder {
  const v1::PlaceOrderRequest* request = nullptr;
  const PricedOrder* priced = nullptr;
  std::string content_hash;
  std::string status = "placed";
  bool imported = false;
  bool earns_points = true;
  std::optional<int64_t> placed_at_micros;  // nullopt: the server's now()
};

// A period [from, to) of placed times, read after the cursor `after` (placed time, order id).
struct PlacedPeriod {
  int64_t from_micros = 0;
  int64_t to_micros = 0;
  common::page_token::TimeId after;
};

class OrderStore {
 public:
  explicit OrderStore(common::Database& db);

  // False when the order id already has a row (an order or a tombstone).
  bool Insert(pqxx::transaction_base& tx, const NewOrder& order) const;
  std::optional<OrderHead> Head(pqxx::transaction_base& tx, const std::string& store_id,
                                const std::string& order_id, bool for_update) const;
  std::optional<v1::Order> Load(pqxx::transaction_base& tx, const std::string& store_id,
                                const std::string& order_id) const;
  void SavePlacedResponse(pqxx::transaction_base& tx, const std::string& store_id,
                          const std::string& order_id, const std::string& response) const;
  // The order's next event sequence number.
  int64_t NextEventSequence(pqxx::transaction_base& tx, const std::string& store_id,
                            const std::string& order_id) const;
  // False when a row for the id exists already.
  bool InsertTombstone(pqxx::transaction_base& tx, const std::string& store_id,
                       const std::string& order_id) const;
  void MarkFulfilled(pqxx::transaction_base& tx, const std::string& store_id,
                     const std::string& order_id) const;
  void MarkCancelled(pqxx::transaction_base& tx, const std::string& store_id,
                     const std::string& order_id) const;

  std::optional<RefundRecord> FindRefund(pqxx::transaction_base& tx, const std::string& store_id,
                                         const std::string& refund_id) const;
  // Records one refunded line: quantity and money on the line, and the order's revenue.
  void RefundLine(pqxx::transaction_base& tx, const std::string& store_id,
                  const std::string& order_id, const std::string& refund_id,
                  const std::string& line_id, int quantity, int64_t amount) const;
  void InsertRefund(pqxx::transaction_base& tx, const std::string& store_id,
                    const std::string& refund_id, const std::string& order_id,
                    const std::string& content_hash, const std::string& response,
                    int64_t amount) const;

  // A customer's orders, newest first, strictly before (placed_at, order_id) of the cursor.
  std::vector<std::string> ListIds(pqxx::transaction_base& tx, const std::string& store_id,
                                   const std::string& customer_id, int64_t before_micros,
                                   const std::string& before_id, int limit) const;
  // Up to `limit` orders placed in the period that stand (placed or fulfilled), oldest first,
  // with their lines.
  std::vector<v1::PlacedOrder> ListPlaced(pqxx::transaction_base& tx, const std::string& store_id,
                                          const PlacedPeriod& period, int limit) const;
};

}  // namespace loyalty::orders
