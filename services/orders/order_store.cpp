#include "order_store.hpp"

#include <google/protobuf/util/time_util.h>

namespace loyalty::orders {
namespace {

using google::protobuf::util::TimeUtil;

v1::OrderStatus StatusOf(const std::string& s) {
  if (s == "placed") return v1::ORDER_STATUS_PLACED;
  if (s == "fulfilled") return v1::ORDER_STATUS_FULFILLED;
  if (s == "cancelled") return v1::ORDER_STATUS_CANCELLED;
  return v1::ORDER_STATUS_UNSPECIFIED;
}

void SetTime(const pqxx::field& micros, google::protobuf::Timestamp* out) {
  if (!micros.is_null()) *out = TimeUtil::MicrosecondsToTimestamp(micros.as<int64_t>());
}

}  // namespace

OrderStore::OrderStore(common::Database& db) {
  db.Prepare("orders_insert",
             "INSERT INTO orders.orders (store_id, order_id, status, customer_id, currency_code, "
             "subtotal_minor, discount_minor, points_amount_minor, points_paid, shipping_minor, "
             "total_minor, revenue_minor, imported, earns_points, content_hash, placed_at, "
             "fulfilled_at) "
             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
             "coalesce(to_timestamp($16::double precision / 1000000), now()), "
             "CASE WHEN $3 = 'fulfilled' "
             "  THEN coalesce(to_timestamp($16::double precision / 1000000), now()) END) "
             "ON CONFLICT DO NOTHING");
  db.Prepare("orders_insert_lines",
             "INSERT INTO orders.order_lines (store_id, order_id, line_id, position, sku, category, "
             "unit_price_minor, quantity, gift_wrappable, gross_minor, discount_minor, "
             "points_amount_minor, points_paid, net_minor) "
             "SELECT $1, $2, * FROM unnest($3::text[], $4::int[], $5::text[], $6::text[], "
             "$7::bigint[], $8::int[], $9::boolean[], $10::bigint[], $11::bigint[], $12::bigint[], "
             "$13::bigint[], $14::bigint[])");
  db.Prepare("orders_insert_discounts",
             "INSERT INTO orders.order_discounts (store_id, order_id, position, code, amount_minor) "
             "SELECT $1, $2, * FROM unnest($3::int[], $4::text[], $5::bigint[])");
  db.Prepare("orders_insert_payments",
             "INSERT INTO orders.order_points_payments (store_id, order_id, hold_id, points, "
             "amount_minor) SELECT $1, $2, * FROM unnest($3::text[], $4::bigint[], $5::bigint[])");
  db.Prepare("orders_head",
             "SELECT status, coalesce(customer_id, ''), coalesce(content_hash, ''), placed_response "
             "FROM orders.orders WHERE store_id = $1 AND order_id = $2");
  db.Prepare("orders_head_for_update",
             "SELECT status, coalesce(customer_id, ''), coalesce(content_hash, ''), placed_response "
             "FROM orders.orders WHERE store_id = $1 AND order_id = $2 FOR UPDATE");
  db.Prepare("orders_load",
             "SELECT order_id, customer_id, currency_code, status, subtotal_minor, discount_minor, "
             "points_amount_minor, points_paid, shipping_minor, total_minor, revenue_minor, imported, "
             "earns_points, (extract(epoch FROM placed_at) * 1000000)::bigint, "
             "(extract(epoch FROM fulfilled_at) * 1000000)::bigint, "
             "(extract(epoch FROM cancelled_at) * 1000000)::bigint "
             "FROM orders.orders WHERE store_id = $1 AND order_id = $2 AND status <> 'abandoned'");
  db.Prepare("orders_load_lines",
             "SELECT line_id, sku, category, unit_price_minor, quantity, gift_wrappable, gross_minor, "
             "discount_minor, points_amount_minor, points_paid, net_minor, refunded_quantity, "
             "refunded_minor FROM orders.order_lines WHERE store_id = $1 AND order_id = $2 "
             "ORDER BY position");
  db.Prepare("orders_load_discounts",
             "SELECT code, amount_minor FROM orders.order_discounts "
             "WHERE store_id = $1 AND order_id = $2 ORDER BY position");
  db.Prepare("orders_load_payments",
             "SELECT hold_id, points, amount_minor FROM orders.order_points_payments "
             "WHERE store_id = $1 AND order_id = $2 ORDER BY hold_id");
  db.Prepare("orders_save_response",
             "UPDATE orders.orders SET placed_response = $3 WHERE store_id = $1 AND order_id = $2");
  db.Prepare("orders_next_seq",
             "UPDATE orders.orders SET event_seq = event_seq + 1 WHERE store_id = $1 AND order_id = $2 "
             "RETURNING event_seq");
  db.Prepare("orders_tombstone",
             "INSERT INTO orders.orders (store_id, order_id, status, abandoned_at) "
             "VALUES ($1, $2, 'abandoned', now()) ON CONFLICT DO NOTHING");
  db.Prepare("orders_fulfill",
             "UPDATE orders.orders SET status = 'fulfilled', fulfilled_at = now() "
             "WHERE store_id = $1 AND order_id = $2 AND status = 'placed'");
  db.Prepare("orders_cancel",
             "UPDATE orders.orders SET status = 'cancelled', cancelled_at = now(), revenue_minor = 0 "
             "WHERE store_id = $1 AND order_id = $2 AND status = 'placed'");
  db.Prepare("orders_find_refund",
             "SELECT order_id, content_hash, response FROM orders.refunds "
             "WHERE store_id = $1 AND refund_id = $2");
  db.Prepare("orders_refund_line",
             "WITH l AS (UPDATE orders.order_lines SET refunded_quantity = refunded_quantity + $5, "
             "  refunded_minor = refunded_minor + $6 "
             "  WHERE store_id = $1 AND order_id = $2 AND line_id = $4 RETURNING 1), "
             "o AS (UPDATE orders.orders SET revenue_minor = revenue_minor - $6 "
             "  WHERE store_id = $1 AND order_id = $2 RETURNING 1) "
             "INSERT INTO orders.refund_lines (store_id, refund_id, line_id, quantity, amount_minor) "
             "SELECT $1, $3, $4, $5, $6 FROM l, o");
  db.Prepare("orders_insert_refund",
             "INSERT INTO orders.refunds (store_id, refund_id, order_id, content_hash, response, "
             "amount_minor) VALUES ($1, $2, $3, $4, $5, $6)");
  db.Prepare("orders_list_ids",
             "SELECT order_id FROM orders.orders WHERE store_id = $1 AND customer_id = $2 "
             "AND status IN ('placed', 'fulfilled', 'cancelled') "
             "AND (placed_at, order_id) < (to_timestamp($3::double precision / 1000000), $4) "
             "ORDER BY placed_at DESC, order_id DESC LIMIT $5");
  // A page of the period's standing orders after the cursor, and their lines, in one statement.
  db.Prepare("orders_list_placed",
             "SELECT o.order_id, o.customer_id, (extract(epoch FROM o.placed_at) * 1000000)::bigint, "
             "o.earns_points, l.line_id, l.sku, l.category, l.quantity, l.net_minor "
             "FROM (SELECT order_id, customer_id, placed_at, earns_points FROM orders.orders "
             "      WHERE store_id = $1 AND status IN ('placed', 'fulfilled') "
             "      AND placed_at >= to_timestamp($2::double precision / 1000000) "
             "      AND placed_at < to_timestamp($3::double precision / 1000000) "
             "      AND (placed_at, order_id) > (to_timestamp($4::double precision / 1000000), $5) "
             "      ORDER BY placed_at, order_id LIMIT $6) o "
             "JOIN orders.order_lines l ON l.store_id = $1 AND l.order_id = o.order_id "
             "ORDER BY o.placed_at, o.order_id, l.position");
}

bool OrderStore::Insert(pqxx::transaction_base& tx, const NewOrder& o) const {
  const auto& r = *o.request;
  const auto& p = *o.priced;
  const auto inserted = tx.exec_prepared(
      "orders_insert", r.store_id(), r.order_id(), o.status, r.customer_id(), r.currency_code(),
      p.subtotal, p.discount, p.points_amount, p.points_paid, p.shipping, p.total, p.merchandise,
      o.imported, o.earns_points, o.content_hash, o.placed_at_micros);
  if (inserted.affected_rows() == 0) return false;

  std::vector<std::string> ids, skus, categories;
  std::vector<int> positions, quantities;
  std::vector<int64_t> prices, gross, discount, points_amount, points_paid, net;
  std::string wrappable = "{";
  for (int i = 0; i < r.lines_size(); ++i) {
    const auto& line = r.lines(i);
    ids.push_back(line.line_id());
    positions.push_back(i);
    skus.push_back(line.sku());
    categories.push_back(line.category());
    prices.push_back(line.unit_price_minor());
    quantities.push_back(line.quantity());
    if (i > 0) wrappable += ',';
    wrappable += line.gift_wrappable() ? 't' : 'f';
    gross.push_back(p.lines[i].gross);
    discount.push_back(p.lines[i].discount);
    points_amount.push_back(p.lines[i].points_amount);
    points_paid.push_back(p.lines[i].points_paid);
    net.push_back(p.lines[i].net);
  }
  tx.exec_prepared("orders_insert_lines", r.store_id(), r.order_id(), common::PgTextArray(ids),
                   common::PgIntArray(positions), common::PgTextArray(skus), common::PgTextArray(categories),
                   common::PgIntArray(prices), common::PgIntArray(quantities), wrappable + "}", common::PgIntArray(gross),
                   common::PgIntArray(discount), common::PgIntArray(points_amount), common::PgIntArray(points_paid), common::PgIntArray(net));
  if (r.discounts_size() > 0) {
    std::vector<int> pos;
    std::vector<std::string> codes;
    std::vector<int64_t> amounts;
    for (int i = 0; i < r.discounts_size(); ++i) {
      pos.push_back(i);
      codes.push_back(r.discounts(i).code());
      amounts.push_back(r.discounts(i).amount_minor());
    }
    tx.exec_prepared("orders_insert_discounts", r.store_id(), r.order_id(), common::PgIntArray(pos),
                     common::PgTextArray(codes), common::PgIntArray(amounts));
  }
  if (r.points_payments_size() > 0) {
    std::vector<std::string> holds;
    std::vector<int64_t> points, amounts;
    for (const auto& payment : r.points_payments()) {
      holds.push_back(payment.hold_id());
      points.push_back(payment.points());
      amounts.push_back(payment.amount_minor());
    }
    tx.exec_prepared("orders_insert_payments", r.store_id(), r.order_id(),
                     common::PgTextArray(holds), common::PgIntArray(points), common::PgIntArray(amounts));
  }
  return true;
}

std::optional<OrderHead> OrderStore::Head(pqxx::transaction_base& tx, const std::string& store_id,
                                          const std::string& order_id, bool for_update) const {
  auto rows = tx.exec_prepared(for_update ? "orders_head_for_update" : "orders_head", store_id,
                               order_id);
  if (rows.empty()) return std::nullopt;
  OrderHead head{rows[0][0].as<std::string>(), rows[0][1].as<std::string>(),
                 rows[0][2].as<std::string>(), ""};
  if (!rows[0][3].is_null()) head.placed_response = pqxx::binarystring(rows[0][3]).str();
  return head;
}

std::optional<v1::Order> OrderStore::Load(pqxx::transaction_base& tx, const std::string& store_id,
                                          const std::string& order_id) const {
  auto rows = tx.exec_prepared("orders_load", store_id, order_id);
  if (rows.empty()) return std::nullopt;
  const auto& h = rows[0];
  v1::Order o;
  o.set_store_id(store_id);
  o.set_order_id(h[0].as<std::string>());
  o.set_customer_id(h[1].as<std::string>());
  o.set_currency_code(h[2].as<std::string>());
  o.set_status(StatusOf(h[3].as<std::string>()));
  o.set_subtotal_minor(h[4].as<int64_t>());
  o.set_discount_minor(h[5].as<int64_t>());
  o.set_points_amount_minor(h[6].as<int64_t>());
  o.set_points_paid(h[7].as<int64_t>());
  o.set_shipping_minor(h[8].as<int64_t>());
  o.set_total_minor(h[9].as<int64_t>());
  o.set_revenue_minor(h[10].as<int64_t>());
  o.set_imported(h[11].as<bool>());
  o.set_earns_points(h[12].as<bool>());
  SetTime(h[13], o.mutable_placed_at());
  if (!h[14].is_null()) SetTime(h[14], o.mutable_fulfilled_at());
  if (!h[15].is_null()) SetTime(h[15], o.mutable_cancelled_at());
  for (const auto& r : tx.exec_prepared("orders_load_lines", store_id, order_id)) {
    auto* placed = o.add_lines();
    auto* line = placed->mutable_line();
    line->set_line_id(r[0].as<std::string>());
    line->set_sku(r[1].as<std::string>());
    line->set_category(r[2].as<std::string>());
    line->set_unit_price_minor(r[3].as<int64_t>());
    line->set_quantity(r[4].as<int>());
    line->set_gift_wrappable(r[5].as<bool>());
    placed->set_gross_minor(r[6].as<int64_t>());
    placed->set_discount_minor(r[7].as<int64_t>());
    placed->set_points_amount_minor(r[8].as<int64_t>());
    placed->set_points_paid(r[9].as<int64_t>());
    placed->set_net_minor(r[10].as<int64_t>());
    placed->set_refunded_quantity(r[11].as<int>());
    placed->set_refunded_minor(r[12].as<int64_t>());
  }
  for (const auto& r : tx.exec_prepared("orders_load_discounts", store_id, order_id)) {
    auto* d = o.add_discounts();
    d->set_code(r[0].as<std::string>());
    d->set_amount_minor(r[1].as<int64_t>());
  }
  for (const auto& r : tx.exec_prepared("orders_load_payments", store_id, order_id)) {
    auto* p = o.add_points_payments();
    p->set_hold_id(r[0].as<std::string>());
    p->set_points(r[1].as<int64_t>());
    p->set_amount_minor(r[2].as<int64_t>());
  }
  return o;
}

void OrderStore::SavePlacedResponse(pqxx::transaction_base& tx, const std::string& store_id,
                                    const std::string& order_id, const std::string& response) const {
  tx.exec_prepared("orders_save_response", store_id, order_id, pqxx::binarystring(response));
}

int64_t OrderStore::NextEventSequence(pqxx::transaction_base& tx, const std::string& store_id,
                                      const std::string& order_id) const {
  return tx.exec_prepared1("orders_next_seq", store_id, order_id)[0].as<int64_t>();
}

bool OrderStore::InsertTombstone(pqxx::transaction_base& tx, const std::string& store_id,
                                 const std::string& order_id) const {
  return tx.exec_prepared("orders_tombstone", store_id, order_id).affected_rows() == 1;
}

void OrderStore::MarkFulfilled(pqxx::transaction_base& tx, const std::string& store_id,
                               const std::string& order_id) const {
  tx.exec_prepared("orders_fulfill", store_id, order_id);
}

void OrderStore::MarkCancelled(pqxx::transaction_base& tx, const std::string& store_id,
                               const std::string& order_id) const {
  tx.exec_prepared("orders_cancel", store_id, order_id);
}

std::optional<RefundRecord> OrderStore::FindRefund(pqxx::transaction_base& tx,
                                                   const std::string& store_id,
                                                   const std::string& refund_id) const {
  auto rows = tx.exec_prepared("orders_find_refund", store_id, refund_id);
  if (rows.empty()) return std::nullopt;
  return RefundRecord{rows[0][0].as<std::string>(), rows[0][1].as<std::string>(),
                      pqxx::binarystring(rows[0][2]).str()};
}

void OrderStore::RefundLine(pqxx::transaction_base& tx, const std::string& store_id,
                            const std::string& order_id, const std::string& refund_id,
                            const std::string& line_id, int quantity, int64_t amount) const {
  tx.exec_prepared("orders_refund_line", store_id, order_id, refund_id, line_id, quantity, amount);
}

void OrderStore::InsertRefund(pqxx::transaction_base& tx, const std::string& store_id,
                              const std::string& refund_id, const std::string& order_id,
                              const std::string& content_hash, const std::string& response,
                              int64_t amount) const {
  tx.exec_prepared("orders_insert_refund", store_id, refund_id, order_id, content_hash,
                   pqxx::binarystring(response), amount);
}

std::vector<std::string> OrderStore::ListIds(pqxx::transaction_base& tx,
                                             const std::string& store_id,
                                             const std::string& customer_id, int64_t before_micros,
                                             const std::string& before_id, int limit) const {
  std::vector<std::string> ids;
  for (const auto& r :
       tx.exec_prepared("orders_list_ids", store_id, customer_id, before_micros, before_id, limit)) {
    ids.push_back(r[0].as<std::string>());
  }
  return ids;
}

std::vector<v1::PlacedOrder> OrderStore::ListPlaced(pqxx::transaction_base& tx,
                                                    const std::string& store_id,
                                                    const PlacedPeriod& period, int limit) const {
  std::vector<v1::PlacedOrder> orders;
  for (const auto& r : tx.exec_prepared("orders_list_placed", store_id, period.from_micros,
                                        period.to_micros, period.after.micros, period.after.id,
                                        limit)) {
    const auto order_id = r[0].as<std::string>();
    if (orders.empty() || orders.back().order_id() != order_id) {
      auto& o = orders.emplace_back();
      o.set_order_id(order_id);
      o.set_customer_id(r[1].as<std::string>());
      *o.mutable_placed_at() = TimeUtil::MicrosecondsToTimestamp(r[2].as<int64_t>());
      o.set_earns_points(r[3].as<bool>());
    }
    auto* line = orders.back().add_lines();
    line->set_line_id(r[4].as<std::string>());
    line->set_sku(r[5].as<std::string>());
    line->set_category(r[6].as<std::string>());
    line->set_quantity(r[7].as<int32_t>());
    line->set_net_minor(r[8].as<int64_t>());
  }
  return orders;
}

}  // namespace loyalty::orders
