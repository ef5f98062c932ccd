#include "orders_service.hpp"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <map>

#include "loyalty/common/customer_check.hpp"
#include "loyalty/common/idempotency.hpp"
#include "loyalty/common/page_token.hpp"
#include "loyalty/common/time.hpp"
#include "order_rules.hpp"

namespace loyalty::orders {

using common::ApiError;
using common::CallContext;
using common::Validator;
using google::protobuf::util::TimeUtil;

namespace {

constexpr const char* kSchema = "orders";
constexpr int64_t kEndOfTimeMicros = 253402300799000000;  // 9999-12-31: the first page's cursor

ApiError OrderNotFound(const std::string& order_id) {
  return ApiError(grpc::StatusCode::NOT_FOUND, "ORDER_NOT_FOUND", "order " + order_id + " not found");
}

void CheckKeys(Validator& v, const std::string& store_id, const std::string& order_id) {
  v.RequireId(store_id, "store_id");
  v.RequireId(order_id, "order_id");
}

}  // namespace

OrdersService::OrdersService(common::ServiceHost& host, std::shared_ptr<grpc::Channel> customers,
                             std::vector<std::string> subscribers)
    : host_(host),
      db_(host.db()),
      store_(host.db()),
      analytics_(host.db()),
      outbox_(host.db(), kSchema, std::move(subscribers)),
      customers_(customers::v1::CustomersService::NewStub(std::move(customers))) {}

void OrdersService::RequireCustomer(const CallContext& call, const std::string& store_id,
                                    const std::string& customer_id) const {
  common::RequireCustomer(call, *customers_, store_id, customer_id, "customer_id");
}

grpc::ServerUnaryReactor* OrdersService::PlaceOrder(grpc::CallbackServerContext* context,
                                                    const v1::PlaceOrderRequest* request,
                                                    v1::PlaceOrderResponse* response) {
  return host_.Serve(context, "PlaceOrder", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    CheckKeys(v, request->store_id(), request->order_id());
    v.RequireId(request->customer_id(), "customer_id");
    CheckOrderContent(v, *request, "");
    if (!request->thank_you_code().empty()) {
      v.Check(request->thank_you_code().size() <= 32, "thank_you_code", "at most 32 characters");
    }
    if (!request->subscription_id().empty()) v.RequireId(request->subscription_id(), "subscription_id");
    v.Check(request->renewal_bonus_points() >= 0 && request->renewal_bonus_points() <= 1'000'000 &&
                (request->renewal_bonus_points() == 0 || !request->subscription_id().empty()),
            "renewal_bonus_points", "must be 0 to 1,000,000, and only with a subscription_id");
    v.ThrowIfInvalid();
    // The order's content: the thank-you code is not part of it.
    auto content = *request;
    content.clear_thank_you_code();
    const std::string hash = common::DeterministicHash(content);

    // A replay must not depend on the customers service: answer it before asking.
    auto replay = [&](const OrderHead& head) {
      if (head.status == "abandoned") {
        throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "ORDER_ABANDONED",
                       "order_id " + request->order_id() + " was abandoned and can never be placed");
      }
      if (head.content_hash != hash) {
        throw ApiError(grpc::StatusCode::ALREADY_EXISTS, "ORDER_ID_REUSED",
                       "order_id " + request->order_id() + " was placed with different content",
                       {{"order_id", "was already used for a different order"}});
      }
      response->ParseFromString(head.placed_response);
    };
    auto existing = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return store_.Head(tx, request->store_id(), request->order_id(), false);
    });
    if (existing) return replay(*existing);

    RequireCustomer(call, request->store_id(), request->customer_id());
    const PricedOrder priced = PriceOrder(*request);
    db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      // The insert is the claim: a concurrent identical call waits here, then replays.
      NewOrder row;
      row.request = request;
      row.priced = &priced;
      row.content_hash = hash;
      if (!store_.Insert(tx, row)) {
        return replay(*store_.Head(tx, request->store_id(), request->order_id(), false));
      }
      *response->mutable_order() = *store_.Load(tx, request->store_id(), request->order_id());
      response->mutable_order()->set_thank_you_code(request->thank_you_code());
      response->mutable_order()->set_subscription_id(request->subscription_id());
      response->mutable_order()->set_renewal_bonus_points(request->renewal_bonus_points());
      store_.SavePlacedResponse(tx, request->store_id(), request->order_id(),
                                response->SerializeAsString());
      v1::OrderPlaced event;
      *event.mutable_order() = response->order();
      outbox_.Append(tx, request->store_id(), request->order_id(),
                     store_.NextEventSequence(tx, request->store_id(), request->order_id()),
                     "order.placed", event);
    });
  });
}

grpc::ServerUnaryReactor* OrdersService::AbandonOrder(grpc::CallbackServerContext* context,
                                                      const v1::AbandonOrderRequest* request,
                                                      v1::AbandonOrderResponse* response) {
  return host_.Serve(context, "AbandonOrder", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    CheckKeys(v, request->store_id(), request->order_id());
    v.ThrowIfInvalid();
    db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      // Same key as PlaceOrder's insert: whichever commits first wins, the other sees it.
      if (store_.InsertTombstone(tx, request->store_id(), request->order_id())) {
        response->set_abandoned(true);
        return;
      }
      const auto head = store_.Head(tx, request->store_id(), request->order_id(), false);
      response->set_abandoned(head->status == "abandoned");
      if (!response->abandoned()) {
        response->set_existing_status(
            store_.Load(tx, request->store_id(), request->order_id())->status());
      }
    });
  });
}

grpc::ServerUnaryReactor* OrdersService::FulfillOrder(grpc::CallbackServerContext* context,
                                                      const v1::FulfillOrderRequest* request,
                                                      v1::FulfillOrderResponse* response) {
  return host_.Serve(context, "FulfillOrder", request->store_id(), [=, this](CallContext& call) {
    const Transition fulfil{"fulfilled", "cancelled", "ORDER_CANCELLED",
                            "a cancelled order cannot be fulfilled", "order.fulfilled"};
    *response->mutable_order() =
        ChangeStatus(call, request->store_id(), request->order_id(), fulfil, [](const v1::Order& o) {
          v1::OrderFulfilled event;
          event.set_order_id(o.order_id());
          event.set_customer_id(o.customer_id());
          *event.mutable_fulfilled_at() = o.fulfilled_at();
          return std::make_unique<v1::OrderFulfilled>(event);
        });
  });
}

grpc::ServerUnaryReactor* OrdersService::RefundOrder(grpc::CallbackServerContext* context,
                                                     const v1::RefundOrderRequest* request,
                                                     v1::RefundOrderResponse* response) {
  return host_.Serve(context, "RefundOrder", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    CheckKeys(v, request->store_id(), request->order_id());
    v.RequireId(request->refund_id(), "refund_id");
    v.Check(request->lines_size() >= 1 && request->lines_size() <= kMaxLines, "lines",
            "must name 1 to 500 lines");
    std::map<std::string, int> wanted;
    for (int i = 0; i < request->lines_size(); ++i) {
      const auto& line = request->lines(i);
      const std::string f = "lines[" + std::to_string(i) + "].";
      if (v.RequireId(line.line_id(), f + "line_id")) {
        v.Check(!wanted.contains(line.line_id()), f + "line_id", "is named twice");
      }
      v.Check(line.quantity() >= 1 && line.quantity() <= kMaxQuantity, f + "quantity",
              "must be 1 to 10000");
      wanted[line.line_id()] = line.quantity();
    }
    v.ThrowIfInvalid();
    const std::string hash = common::DeterministicHash(*request);
    db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      // The order's row lock serialises refunds of one order: two racing refunds cannot both
      // take the last unit.
      const auto head = store_.Head(tx, request->store_id(), request->order_id(), true);
      if (!head || head->status == "abandoned") throw OrderNotFound(request->order_id());
      if (auto previous = store_.FindRefund(tx, request->store_id(), request->refund_id())) {
        if (previous->content_hash != hash) {
          throw ApiError(grpc::StatusCode::ALREADY_EXISTS, "REFUND_ID_REUSED",
                         "refund_id was already used for a different refund",
                         {{"refund_id", "was already used for a different refund"}});
        }
        response->ParseFromString(previous->response);
        return;
      }
      if (head->status == "cancelled") {
        throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "ORDER_CANCELLED",
                       "a cancelled order has nothing left to refund");
      }
      const auto order = *store_.Load(tx, request->store_id(), request->order_id());
      v1::OrderRefunded event;
      int64_t total = 0;
      for (const auto& placed : order.lines()) {
        auto it = wanted.find(placed.line().line_id());
        if (it == wanted.end()) continue;
        const int quantity = it->second;
        const int after = placed.refunded_quantity() + quantity;
        if (after > placed.line().quantity()) {
          throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "OVER_REFUND",
                         "line " + placed.line().line_id() + " has only " +
                             std::to_string(placed.line().quantity() - placed.refunded_quantity()) +
                             " units left to refund",
                         {{"lines", "refund more units than were bought"}});
        }
        const int64_t amount =
            common::CumulativeShare(placed.net_minor(), after, placed.line().quantity()) -
            placed.refunded_minor();
        store_.RefundLine(tx, request->store_id(), request->order_id(), request->refund_id(),
                          placed.line().line_id(), quantity, amount);
        total += amount;
        auto* line = event.add_lines();
        line->set_line_id(placed.line().line_id());
        line->set_sku(placed.line().sku());
        line->set_quantity(quantity);
        line->set_refunded_quantity_total(after);
        line->set_line_quantity(placed.line().quantity());
        line->set_amount_minor(amount);
        wanted.erase(it);
      }
      if (!wanted.empty()) {
        throw common::InvalidField("lines", "line " + wanted.begin()->first + " is not in the order");
      }
      *response->mutable_order() = *store_.Load(tx, request->store_id(), request->order_id());
      response->set_refunded_minor(total);
      event.set_order_refunded_in_full(std::all_of(
          response->order().lines().begin(), response->order().lines().end(),
          [](const auto& line) { return line.refunded_quantity() == line.line().quantity(); }));
      store_.InsertRefund(tx, request->store_id(), request->refund_id(), request->order_id(), hash,
                          response->SerializeAsString(), total);
      event.set_order_id(request->order_id());
      event.set_customer_id(head->customer_id);
      event.set_refund_id(request->refund_id());
      *event.mutable_refunded_at() = common::NowTimestamp();
      outbox_.Append(tx, request->store_id(), request->order_id(),
                     store_.NextEventSequence(tx, request->store_id(), request->order_id()),
                     "order.refunded", event);
    });
  });
}

grpc::ServerUnaryReactor* OrdersService::CancelOrder(grpc::CallbackServerContext* context,
                                                     const v1::CancelOrderRequest* request,
                                                     v1::CancelOrderResponse* response) {
  return host_.Serve(context, "CancelOrder", request->store_id(), [=, this](CallContext& call) {
    const Transition cancel{"cancelled", "fulfilled", "ORDER_FULFILLED",
                            "a fulfilled order cannot be cancelled; refund it instead",
                            "order.cancelled"};
    *response->mutable_order() =
        ChangeStatus(call, request->store_id(), request->order_id(), cancel, [](const v1::Order& o) {
          v1::OrderCancelled event;
          event.set_order_id(o.order_id());
          event.set_customer_id(o.customer_id());
          *event.mutable_cancelled_at() = o.cancelled_at();
          return std::make_unique<v1::OrderCancelled>(event);
        });
  });
}

v1::Order OrdersService::ChangeStatus(
    const CallContext& call, const std::string& store_id, const std::string& order_id,
    const Transition& transition,
    const std::function<std::unique_ptr<google::protobuf::Message>(const v1::Order&)>& event) {
  Validator v;
  CheckKeys(v, store_id, order_id);
  v.ThrowIfInvalid();
  return db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    const auto head = store_.Head(tx, store_id, order_id, true);
    if (!head || head->status == "abandoned") throw OrderNotFound(order_id);
    if (head->status == transition.refused_from) {
      throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, transition.refused_reason,
                     transition.refused_message);
    }
    // Only a placed order moves; one already in the target status is a replay and answers as is.
    if (head->status == "placed") {
      if (transition.to == "fulfilled") store_.MarkFulfilled(tx, store_id, order_id);
      if (transition.to == "cancelled") store_.MarkCancelled(tx, store_id, order_id);
      auto order = *store_.Load(tx, store_id, order_id);
      outbox_.Append(tx, store_id, order_id, store_.NextEventSequence(tx, store_id, order_id),
                     transition.event_type, *event(order));
      return order;
    }
    return *store_.Load(tx, store_id, order_id);
  });
}

grpc::ServerUnaryReactor* OrdersService::GetOrder(grpc::CallbackServerContext* context,
                                                  const v1::GetOrderRequest* request,
                                                  v1::GetOrderResponse* response) {
  return host_.Serve(context, "GetOrder", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    CheckKeys(v, request->store_id(), request->order_id());
    v.ThrowIfInvalid();
    auto order = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return store_.Load(tx, request->store_id(), request->order_id());
    });
    if (!order) throw OrderNotFound(request->order_id());
    *response->mutable_order() = std::move(*order);
  });
}

grpc::ServerUnaryReactor* OrdersService::ListOrders(grpc::CallbackServerContext* context,
                                                    const v1::ListOrdersRequest* request,
                                                    v1::ListOrdersResponse* response) {
  return host_.Serve(context, "ListOrders", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    v.RequireId(request->customer_id(), "customer_id");
    v.Check(request->page_size() >= 0 && request->page_size() <= 200, "page_size", "must be 0 to 200");
    // Token: "<placed_at micros>:<order id>" of the last order of the previous page.
    common::page_token::TimeId before{kEndOfTimeMicros, ""};
    if (!request->page_token().empty()) {
      const auto token = common::page_token::ParseTimeId(request->page_token(), ':');
      if (v.Check(token.has_value(), "page_token", "is not a token this service issued")) {
        before = *token;
      }
    }
    v.ThrowIfInvalid();
    const int size = request->page_size() == 0 ? 50 : request->page_size();
    db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      auto ids = store_.ListIds(tx, request->store_id(), request->customer_id(), before.micros,
                                before.id, size + 1);
      const bool more = static_cast<int>(ids.size()) > size;
      if (more) ids.pop_back();
      for (const auto& id : ids) *response->add_orders() = *store_.Load(tx, request->store_id(), id);
      if (more) {
        const auto& last = response->orders(response->orders_size() - 1);
        const int64_t micros =
            google::protobuf::util::TimeUtil::TimestampToMicroseconds(last.placed_at());
        response->set_next_page_token(
            common::page_token::FormatTimeId({micros, last.order_id()}, ':'));
      }
      return 0;
    });
  });
}

grpc::ServerUnaryReactor* OrdersService::ListPlacedOrders(
    grpc::CallbackServerContext* context, const v1::ListPlacedOrdersRequest* request,
    v1::ListPlacedOrdersResponse* response) {
  return host_.Serve(context, "ListPlacedOrders", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    common::CheckPeriod(v, request->has_from() ? &request->from() : nullptr,
                        request->has_to() ? &request->to() : nullptr, 0);
    v.Check(request->page_size() >= 0 && request->page_size() <= 5000, "page_size",
            "must be 0 to 5000");
    PlacedPeriod period;
    period.from_micros = TimeUtil::TimestampToMicroseconds(request->from());
    period.to_micros = TimeUtil::TimestampToMicroseconds(request->to());
    // Token: "<placed_at micros>:<order id>" of the last order of the previous page.
    period.after = {period.from_micros - 1, ""};
    if (!request->page_token().empty()) {
      const auto token = common::page_token::ParseTimeId(request->page_token(), ':');
      if (v.Check(token.has_value(), "page_token", "is not a token this service issued")) {
        period.after = *token;
      }
    }
    v.ThrowIfInvalid();
    const int size = request->page_size() == 0 ? 1000 : request->page_size();
    // One order more than the page says whether another page follows, so the last page is
    // never an empty one.
    auto orders = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return store_.ListPlaced(tx, request->store_id(), period, size + 1);
    });
    // A page ends early once it holds kMaxPageLines lines, so that it stays well under gRPC's
    // 4 MB message limit whatever the orders' sizes.
    constexpr int kMaxPageLines = 20000;
    int lines = 0;
    size_t kept = 0;
    const size_t most = std::min(orders.size(), static_cast<size_t>(size));
    while (kept < most && (kept == 0 || lines + orders[kept].lines_size() <= kMaxPageLines)) {
      lines += orders[kept++].lines_size();
    }
    const bool more = kept < orders.size();
    for (size_t i = 0; i < kept; ++i) *response->add_orders() = std::move(orders[i]);
    if (more && kept > 0) {
      const auto& last = response->orders(response->orders_size() - 1);
      response->set_next_page_token(common::page_token::FormatTimeId(
          {TimeUtil::TimestampToMicroseconds(last.placed_at()), last.order_id()}, ':'));
    }
  });
}

grpc::ServerUnaryReactor* OrdersService::ImportOrders(grpc::CallbackServerContext* context,
                                                      const v1::ImportOrdersRequest* request,
                                                      v1::ImportOrdersResponse* response) {
  return host_.Serve(context, "ImportOrders", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    v.Check(request->orders_size() >= 1 && request->orders_size() <= 1000, "orders",
            "must hold 1 to 1000 orders");
    const int64_t now_micros = common::NowMicros();
    for (int i = 0; i < request->orders_size() && i < 1000; ++i) {
      const auto& imported = request->orders(i);
      const std::string f = "orders[" + std::to_string(i) + "].";
      v.Check(imported.order().store_id() == request->store_id(), f + "order.store_id",
              "must be the request's store_id");
      v.RequireId(imported.order().order_id(), f + "order.order_id");
      v.RequireId(imported.order().customer_id(), f + "order.customer_id");
      CheckOrderContent(v, imported.order(), f + "order.");
      v.Check(imported.has_placed_at() &&
                  google::protobuf::util::TimeUtil::TimestampToMicroseconds(imported.placed_at()) <=
                      now_micros,
              f + "placed_at", "is required and must be in the past");
    }
    v.ThrowIfInvalid();
    // Imported history names customers the store may not have registered yet: no customer check.
    db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      response->Clear();
      for (const auto& imported : request->orders()) {
        const auto& order = imported.order();
        const std::string hash = common::DeterministicHash(imported);
        const PricedOrder priced = PriceOrder(order);
        NewOrder row;
        row.request = &order;
        row.priced = &priced;
        row.content_hash = hash;
        row.status = imported.fulfilled() ? "fulfilled" : "placed";
        row.imported = true;
        row.earns_points = imported.earn_points();
        row.placed_at_micros =
            google::protobuf::util::TimeUtil::TimestampToMicroseconds(imported.placed_at());
        if (!store_.Insert(tx, row)) {
          const auto head = store_.Head(tx, order.store_id(), order.order_id(), false);
          if (head->content_hash == hash) {
            response->set_unchanged(response->unchanged() + 1);
          } else {
            response->add_conflicting_order_ids(order.order_id());
          }
          continue;
        }
        v1::OrderPlaced event;
        *event.mutable_order() = *store_.Load(tx, order.store_id(), order.order_id());
        v1::PlaceOrderResponse first;
        *first.mutable_order() = event.order();
        store_.SavePlacedResponse(tx, order.store_id(), order.order_id(), first.SerializeAsString());
        outbox_.Append(tx, order.store_id(), order.order_id(),
                       store_.NextEventSequence(tx, order.store_id(), order.order_id()),
                       "order.imported", event);
        response->set_imported(response->imported() + 1);
      }
    });
  });
}

}  // namespace loyalty::orders
