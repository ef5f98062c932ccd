#include "storefront_service.hpp"

#include <condition_variable>
#include <future>
#include <thread>

#include "loyalty/common/failpoint.hpp"
#include "loyalty/common/idempotency.hpp"
#include "loyalty/common/time.hpp"

namespace loyalty::gateway {

using common::ApiError;
using common::CallContext;
using common::Validator;

namespace {

int64_t Micros(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000 + t.nanos() / 1000;
}

// Codes after which an order may or may not exist: retry with the same order id.
bool OutcomeUnknown(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return true;
    default:
      return false;
  }
}

void CheckCart(Validator& v, const v1::Cart& cart, const std::string& currency, bool need_customer) {
  if (need_customer || !cart.customer_id().empty()) v.RequireId(cart.customer_id(), "cart.customer_id");
  v.Check(cart.currency_code().empty() || cart.currency_code() == currency, "cart.currency_code",
          "must be the store's currency (" + currency + ")");
  v.Check(cart.lines_size() >= 1 && cart.lines_size() <= 500, "cart.lines", "1 to 500 lines");
  for (int i = 0; i < cart.lines_size(); ++i) {
    const auto& l = cart.lines(i);
    const std::string f = "cart.lines[" + std::to_string(i) + "].";
    v.RequireId(l.line_id(), f + "line_id");
    v.RequireId(l.sku(), f + "sku");
    v.Check(l.unit_price_minor() >= 0 && l.unit_price_minor() <= 1000000000000LL,
            f + "unit_price_minor", "must be 0 to 10^12");
    v.Check(l.quantity() >= 1 && l.quantity() <= 10000, f + "quantity", "must be 1 to 10,000");
  }
  for (int i = 0; i < cart.discounts_size(); ++i) {
    v.Check(cart.discounts(i).amount_minor() >= 0,
            "cart.discounts[" + std::to_string(i) + "].amount_minor", "must be 0 or more");
  }
  v.Check(cart.shipping_fee_minor() >= 0, "cart.shipping_fee_minor", "must be 0 or more");
  v.Check(cart.points_to_redeem() >= 0, "cart.points_to_redeem", "must be 0 or more");
}

// The most lines recommendations.RecommendForCart accepts.
constexpr int kMaxSuggestionCartLines = 100;

QuoteInput ToQuoteInput(const v1::Cart& cart, const points::v1::Settings& s, int64_t available) {
  QuoteInput in;
  for (const auto& l : cart.lines()) {
    QuoteLine q;
    q.line_id = l.line_id();
    q.unit_price_minor = l.unit_price_minor();
    q.quantity = l.quantity();
    in.lines.push_back(q);
  }
  for (const auto& d : cart.discounts()) in.discounts_minor += d.amount_minor();
  in.shipping_fee_minor = cart.shipping_fee_minor();
  in.points_to_redeem = cart.points_to_redeem();
  in.points_available = available;
  in.redeem_points = s.redeem_points();
  in.redeem_value_minor = s.redeem_value_minor();
  in.free_shipping_threshold_minor = s.free_shipping_threshold_minor();
  return in;
}

}  // namespace

grpc::ServerUnaryReactor* StorefrontService::RegisterCustomer(
    grpc::CallbackServerContext* context, const v1::RegisterCustomerRequest* request,
    v1::RegisterCustomerResponse* response) {
  return host_.Serve(context, "RegisterCustomer", request->store_id(), [=, this](CallContext& call) {
    const auto p = Auth(context, call, request->store_id());
    customers::v1::RegisterCustomerRequest req;
    req.set_store_id(p.store.store_id);
    req.set_request_id(request->request_id());
    req.set_email(request->email());
    req.set_name(request->name());
    if (request->has_birthday()) *req.mutable_birthday() = request->birthday();
    req.set_marketing_consent(request->marketing_consent());
    *req.mutable_tags() = request->tags();
    req.set_referred_by_code(request->referred_by_code());
    customers::v1::RegisterCustomerResponse resp;
    CallOrThrow(call, gw_.customers(), &customers::v1::CustomersService::Stub::RegisterCustomer,
                req, &resp);
    *response->mutable_customer() = resp.customer();
  });
}

grpc::ServerUnaryReactor* StorefrontService::GetCustomer(grpc::CallbackServerContext* context,
                                                         const v1::GetCustomerRequest* request,
                                                         v1::GetCustomerResponse* response) {
  return host_.Serve(context, "GetCustomer", request->store_id(), [=, this](CallContext& call) {
    const auto p = Auth(context, call, request->store_id());
    customers::v1::GetCustomerRequest req;
    req.set_store_id(p.store.store_id);
    if (request->has_email()) req.set_email(request->email());
    if (request->has_customer_id()) req.set_customer_id(request->customer_id());
    customers::v1::GetCustomerResponse resp;
    CallOrThrow(call, gw_.customers(), &customers::v1::CustomersService::Stub::GetCustomer, req,
                &resp);
    *response->mutable_customer() = resp.customer();
  });
}

grpc::ServerUnaryReactor* StorefrontService::UpdateCustomer(
    grpc::CallbackServerContext* context, const v1::UpdateCustomerRequest* request,
    v1::UpdateCustomerResponse* response) {
  return host_.Serve(context, "UpdateCustomer", request->store_id(), [=, this](CallContext& call) {
    const auto p = Auth(context, call, request->store_id());
    customers::v1::UpdateCustomerRequest req;
    req.set_store_id(p.store.store_id);
    req.set_request_id(request->request_id());
    *req.mutable_customer() = request->customer();
    req.mutable_customer()->set_store_id(p.store.store_id);
    *req.mutable_update_mask() = request->update_mask();
    customers::v1::UpdateCustomerResponse resp;
    CallOrThrow(call, gw_.customers(), &customers::v1::CustomersService::Stub::UpdateCustomer, req,
                &resp);
    *response->mutable_customer() = resp.customer();
  });
}

grpc::ServerUnaryReactor* StorefrontService::GetLoyaltyStatus(
    grpc::CallbackServerContext* context, const v1::GetLoyaltyStatusRequest* request,
    v1::GetLoyaltyStatusResponse* response) {
  return host_.Serve(context, "GetLoyaltyStatus", request->store_id(), [=, this](CallContext& call) {
    const auto p = Auth(context, call, request->store_id());
    Validator v;
    v.RequireId(request->customer_id(), "customer_id");
    v.Check(request->expiring_within_days() >= 0 && request->expiring_within_days() <= 3660,
            "expiring_within_days", "must be 0 to 3660");
    v.ThrowIfInvalid();
    // Both calls at once.
    auto settings = std::async(std::launch::async,
                               [&] { return gw_.PreviewSettings(call, p.store.store_id); });
    points::v1::GetBalanceRequest req;
    req.set_store_id(p.store.store_id);
    req.set_customer_id(request->customer_id());
    points::v1::GetBalanceResponse balance;
    CallOrThrow(call, gw_.points(), &points::v1::PointsService::Stub::GetBalance, req, &balance);
    const auto s = settings.get();
    int days = request->expiring_within_days();
    if (days == 0) days = s.expiry_warning_days() > 0 ? s.expiry_warning_days() : 30;
    const int64_t until = common::NowMicros() + int64_t{days} * 86400 * 1000000;
    *response->mutable_balance() = balance.balance();
    for (const auto& lot : balance.expiring_soonest()) {
      if (!lot.has_expires_at() || lot.available() <= 0 || Micros(lot.expires_at()) > until) continue;
      auto* e = response->add_expiring_soon();
      e->set_points(lot.available());
      *e->mutable_expire_time() = lot.expires_at();
      response->set_expiring_soon_points(response->expiring_soon_points() + lot.available());
    }
    response->set_available_value_minor(balance.balance().available_value_minor());
    response->set_currency_code(p.store.currency_code);
    response->set_redeem_points(s.redeem_points());
    response->set_redeem_value_minor(s.redeem_value_minor());
  });
}

grpc::ServerUnaryReactor* StorefrontService::QuoteCart(grpc::CallbackServerContext* context,
                                                       const v1::QuoteCartRequest* request,
                                                       v1::QuoteCartResponse* response) {
  return host_.Serve(context, "QuoteCart", request->store_id(), [=, this](CallContext& call) {
    const auto p = Auth(context, call, request->store_id());
    const auto& cart = request->cart();
    Validator v;
    CheckCart(v, cart, p.store.currency_code, false);
    v.Check(request->suggestion_limit() >= 0 && request->suggestion_limit() <= 50,
            "suggestion_limit", "must be 0 to 50");
    v.ThrowIfInvalid();
    const std::string& store_id = p.store.store_id;

    // Phase 1, in parallel: the settings and the shopper's balance.
    auto settings_f =
        std::async(std::launch::async, [&] { return gw_.PreviewSettings(call, store_id); });
    int64_t available = 0;
    if (!cart.customer_id().empty()) {
      points::v1::GetBalanceRequest req;
      req.set_store_id(store_id);
      req.set_customer_id(cart.customer_id());
      points::v1::GetBalanceResponse resp;
      auto ctx = common::DownstreamContext(call);
      const auto status = gw_.points().GetBalance(ctx.get(), req, &resp);
      if (status.ok()) {
        available = resp.balance().available();
      } else if (status.error_code() != grpc::StatusCode::NOT_FOUND) {
        settings_f.wait();
        ThrowDownstream(status);
      }
    }
    const auto settings = settings_f.get();
    const auto q = Quote(ToQuoteInput(cart, settings, available));

    // Phase 2, in parallel: recommendations (with a budget of their own: a slow service only
    // makes the quote partial) and the points this cart would earn.
    struct RecsCall {
      grpc::ClientContext* context = nullptr;
      std::unique_ptr<grpc::ClientContext> owned;
      recommendations::v1::RecommendForCartRequest request;
      recommendations::v1::RecommendForCartResponse response;
      std::promise<grpc::Status> done;
    };
    auto recs = std::make_shared<RecsCall>();
    recs->owned = common::DownstreamContext(call);
    const auto recs_deadline = std::min(
        call.deadline, common::Clock::now() +
                           std::chrono::milliseconds(gw_.config().recommendations_timeout_ms));
    recs->owned->set_deadline(recs_deadline);
    recs->request.set_store_id(store_id);
    for (const auto& l : cart.lines()) {
      // RecommendForCart takes at most 100 lines (a cart may have 500): suggestions come from
      // the first 100, rather than the whole quote being marked partial.
      if (recs->request.lines_size() == kMaxSuggestionCartLines) break;
      auto* line = recs->request.add_lines();
      line->set_sku(l.sku());
      line->set_quantity(l.quantity());
    }
    recs->request.set_customer_id(cart.customer_id());
    recs->request.set_free_shipping_missing_minor(q.free_shipping_gap_minor);
    recs->request.set_limit(request->suggestion_limit());
    auto recs_done = recs->done.get_future();
    gw_.recommendations().async()->RecommendForCart(
        recs->owned.get(), &recs->request, &recs->response,
        [recs](grpc::Status status) { recs->done.set_value(std::move(status)); });

    points::v1::PreviewEarnRequest earn_req;
    earn_req.set_store_id(store_id);
    earn_req.set_customer_id(cart.customer_id());
    for (int i = 0; i < cart.lines_size(); ++i) {
      auto* line = earn_req.add_lines();
      line->set_line_id(cart.lines(i).line_id());
      line->set_sku(cart.lines(i).sku());
      line->set_category(cart.lines(i).category());
      line->set_net_minor(q.line_net_minor[static_cast<size_t>(i)]);
    }
    points::v1::PreviewEarnResponse earn;
    auto earn_ctx = common::DownstreamContext(call);
    const auto earn_status = gw_.points().PreviewEarn(earn_ctx.get(), earn_req, &earn);
    const auto recs_status = recs_done.get();  // bounded by recs_deadline
    if (!earn_status.ok()) ThrowDownstream(earn_status);

    auto* t = response->mutable_totals();
    t->set_subtotal_minor(q.subtotal_minor);
    t->set_discount_minor(q.discount_minor);
    t->set_points_used(q.points_used);
    t->set_points_amount_minor(q.points_amount_minor);
    t->set_shipping_minor(q.shipping_minor);
    t->set_total_minor(q.total_minor);
    t->set_currency_code(p.store.currency_code);
    response->set_points_available(available);
    response->set_max_points_redeemable(q.max_points);
    response->set_max_points_amount_minor(q.max_points_amount_minor);
    response->set_points_to_earn(earn.total_points());
    *response->mutable_line_points() = earn.lines();
    response->set_rule_version(earn.rule_version());
    response->set_free_shipping_threshold_minor(settings.free_shipping_threshold_minor());
    response->set_free_shipping_gap_minor(q.free_shipping_gap_minor);
    if (recs_status.ok()) {
      *response->mutable_free_shipping_gap_closers() = recs->response.free_shipping_gap_closers();
      *response->mutable_cross_sell() = recs->response.cross_sell();
      *response->mutable_upsell() = recs->response.upsell();
      *response->mutable_gift_wrap() = recs->response.gift_wrap();
    } else {
      response->set_partial(true);
      response->add_missing_parts("recommendations");
    }
  });
}

grpc::ServerUnaryReactor* StorefrontService::PlaceOrder(grpc::CallbackServerContext* context,
                                                        const v1::PlaceOrderRequest* request,
                                                        v1::PlaceOrderResponse* response) {
  return host_.Serve(context, "PlaceOrder", request->store_id(), [=, this](CallContext& call) {
    const auto p = Auth(context, call, request->store_id());
    PlaceOrderBody(call, p, *request, response);
  });
}

void StorefrontService::PlaceOrderBody(const CallContext& call, const Principal& p,
                                       const v1::PlaceOrderRequest& request,
                                       v1::PlaceOrderResponse* response) {
  const std::string& store_id = p.store.store_id;
  const auto& cart = request.cart();
  Validator v;
  v.RequireId(request.order_id(), "order_id");
  CheckCart(v, cart, p.store.currency_code, true);
  v.ThrowIfInvalid();

  // 1. The checkout record: the order id is the idempotency key of the whole checkout.
  v1::PlaceOrderRequest canonical = request;
  canonical.set_store_id(store_id);
  const std::string hash = common::DeterministicHash(canonical);
  auto& db = gw_.db();
  const auto& store = gw_.store();
  const auto row = db.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    store.InsertCheckout(tx, store_id, request.order_id(), hash);
    return *store.FindCheckout(tx, store_id, request.order_id(), false);
  });
  if (row.request_hash != hash) {
    throw ApiError(grpc::StatusCode::ALREADY_EXISTS, "ORDER_ID_REUSED",
                   "this order id was used for a different checkout", {{"order_id", "is used"}});
  }
  if (row.state == "placed") {
    response->ParseFromString(row.response);
    return;
  }
  if (row.state == "refused") {
    throw ApiError(static_cast<grpc::StatusCode>(row.error_code), row.error_reason,
                   row.error_message);
  }

  // 2. Hold the points paid with. The points service answers a retry with the same hold.
  const auto settings = gw_.Settings(call, store_id);
  const auto q = Quote(ToQuoteInput(cart, settings, cart.points_to_redeem()));
  points::v1::Hold hold;
  if (cart.points_to_redeem() > 0) {
    if (q.points_used != cart.points_to_redeem()) {
      db.Write(call.deadline, [&](pqxx::transaction_base& tx) {
        store.DeleteUnheldCheckout(tx, store_id, request.order_id());
      });
      throw common::InvalidField("cart.points_to_redeem",
                                 "worth more than the merchandise after discounts");
    }
    points::v1::ReserveRedemptionRequest req;
    req.set_store_id(store_id);
    req.set_request_id("checkout:" + Sha256Hex(request.order_id()).substr(0, 40));
    req.set_customer_id(cart.customer_id());
    req.set_order_id(request.order_id());
    req.set_points(cart.points_to_redeem());
    points::v1::ReserveRedemptionResponse resp;
    auto ctx = common::DownstreamContext(call);
    const auto status = gw_.points().ReserveRedemption(ctx.get(), req, &resp);
    if (!status.ok()) {
      if (!OutcomeUnknown(status.error_code()) && row.hold_id.empty()) {
        // Nothing was held: the order id stays free for a corrected checkout.
        db.Write(call.deadline, [&](pqxx::transaction_base& tx) {
          store.DeleteUnheldCheckout(tx, store_id, request.order_id());
        });
      }
      ThrowDownstream(status);
    }
    hold = resp.hold();
    if (row.hold_id != hold.hold_id()) {
      db.Write(call.deadline, [&](pqxx::transaction_base& tx) {
        store.SetCheckoutHold(tx, store_id, request.order_id(), hold.hold_id());
      });
    }
  }

  // 3. Create the order naming the hold; the points service commits the hold when it applies
  // the order's event, so nothing is lost if this process dies after this call.
  orders::v1::PlaceOrderRequest order_req;
  order_req.set_store_id(store_id);
  order_req.set_order_id(request.order_id());
  order_req.set_customer_id(cart.customer_id());
  order_req.set_currency_code(p.store.currency_code);
  order_req.set_store_currency_code(p.store.currency_code);
  for (const auto& l : cart.lines()) {
    auto* line = order_req.add_lines();
    line->set_line_id(l.line_id());
    line->set_sku(l.sku());
    line->set_category(l.category());
    line->set_unit_price_minor(l.unit_price_minor());
    line->set_quantity(l.quantity());
    line->set_gift_wrappable(l.gift_wrappable());
  }
  *order_req.mutable_discounts() = cart.discounts();
  const int64_t points_amount = cart.points_to_redeem() > 0 ? hold.value_minor() : 0;
  order_req.set_shipping_fee_minor(ShippingAfterThreshold(
      q.subtotal_minor - q.discount_minor - points_amount, cart.shipping_fee_minor(),
      settings.free_shipping_threshold_minor()));
  if (cart.points_to_redeem() > 0) {
    auto* pay = order_req.add_points_payments();
    pay->set_hold_id(hold.hold_id());
    pay->set_points(hold.points());
    pay->set_amount_minor(hold.value_minor());
  }
  orders::v1::PlaceOrderResponse order_resp;
  grpc::Status status;
  for (int attempt = 1;; ++attempt) {
    auto ctx = common::DownstreamContext(call);
    status = gw_.orders().PlaceOrder(ctx.get(), order_req, &order_resp);
    if (status.ok() || !OutcomeUnknown(status.error_code())) break;
    if (attempt >= gw_.config().place_order_attempts ||
        common::Clock::now() + std::chrono::milliseconds(100 * attempt) >= call.deadline) {
      // The order may or may not exist: the hold stays; the points service's expiry job asks the
      // orders service to abandon the id before it releases the hold.
      throw ApiError(grpc::StatusCode::UNAVAILABLE, "ORDER_OUTCOME_UNKNOWN",
                     "the order could not be confirmed; retry PlaceOrder with the same order id");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
  }
  if (!status.ok()) {
    // Refused: the order id is dead, and the hold goes back.
    orders::v1::AbandonOrderRequest abandon;
    abandon.set_store_id(store_id);
    abandon.set_order_id(request.order_id());
    orders::v1::AbandonOrderResponse abandoned;
    auto actx = common::DownstreamContext(call);
    const auto astatus = gw_.orders().AbandonOrder(actx.get(), abandon, &abandoned);
    if (astatus.ok() && abandoned.abandoned() && cart.points_to_redeem() > 0) {
      points::v1::VoidRedemptionRequest vreq;
      vreq.set_store_id(store_id);
      vreq.set_hold_id(hold.hold_id());
      points::v1::VoidRedemptionResponse vresp;
      auto vctx = common::DownstreamContext(call);
      (void)gw_.points().VoidRedemption(vctx.get(), vreq, &vresp);  // else the expiry job will
    }
    if (astatus.ok() && abandoned.abandoned()) {
      std::string reason = common::ErrorReason(status);
      db.Write(call.deadline, [&](pqxx::transaction_base& tx) {
        store.SetCheckoutRefused(tx, store_id, request.order_id(),
                                 static_cast<int>(status.error_code()), reason,
                                 status.error_message());
      });
    }
    ThrowDownstream(status);
  }
  common::failpoint::Hit("gateway.after_order_created");
  *response->mutable_order() = order_resp.order();
  if (cart.points_to_redeem() > 0) *response->mutable_hold() = hold;
  const std::string bytes = response->SerializeAsString();
  db.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    store.SetCheckoutPlaced(tx, store_id, request.order_id(), bytes);
  });
}

grpc::ServerUnaryReactor* StorefrontService::FulfillOrder(grpc::CallbackServerContext* context,
                                                          const v1::FulfillOrderRequest* request,
                                                          v1::FulfillOrderResponse* response) {
  return host_.Serve(context, "FulfillOrder", request->store_id(), [=, this](CallContext& call) {
    const auto p = Auth(context, call, request->store_id());
    orders::v1::FulfillOrderRequest req;
    req.set_store_id(p.store.store_id);
    req.set_order_id(request->order_id());
    orders::v1::FulfillOrderResponse resp;
    CallOrThrow(call, gw_.orders(), &orders::v1::OrdersService::Stub::FulfillOrder, req, &resp);
    *response->mutable_order() = resp.order();
  });
}

grpc::ServerUnaryReactor* StorefrontService::RefundOrder(grpc::CallbackServerContext* context,
                                                         const v1::RefundOrderRequest* request,
                                                         v1::RefundOrderResponse* response) {
  return host_.Serve(context, "RefundOrder", request->store_id(), [=, this](CallContext& call) {
    const auto p = Auth(context, call, request->store_id());
    orders::v1::RefundOrderRequest req;
    req.set_store_id(p.store.store_id);
    req.set_order_id(request->order_id());
    req.set_refund_id(request->refund_id());
    *req.mutable_lines() = request->lines();
    orders::v1::RefundOrderResponse resp;
    CallOrThrow(call, gw_.orders(), &orders::v1::OrdersService::Stub::RefundOrder, req, &resp);
    *response->mutable_order() = resp.order();
    response->set_refunded_minor(resp.refunded_minor());
  });
}

grpc::ServerUnaryReactor* StorefrontService::CancelOrder(grpc::CallbackServerContext* context,
                                                         const v1::CancelOrderRequest* request,
                                                         v1::CancelOrderResponse* response) {
  return host_.Serve(context, "CancelOrder", request->store_id(), [=, this](CallContext& call) {
    const auto p = Auth(context, call, request->store_id());
    orders::v1::CancelOrderRequest req;
    req.set_store_id(p.store.store_id);
    req.set_order_id(request->order_id());
    orders::v1::CancelOrderResponse resp;
    CallOrThrow(call, gw_.orders(), &orders::v1::OrdersService::Stub::CancelOrder, req, &resp);
    *response->mutable_order() = resp.order();
  });
}

grpc::ServerUnaryReactor* StorefrontService::RecommendForProduct(
    grpc::CallbackServerContext* context, const v1::RecommendForProductRequest* request,
    v1::RecommendForProductResponse* response) {
  return host_.Serve(context, "RecommendForProduct", request->store_id(), [=, this](CallContext& call) {
    const auto p = Auth(context, call, request->store_id());
    recommendations::v1::RecommendForProductRequest req;
    req.set_store_id(p.store.store_id);
    req.set_sku(request->sku());
    req.set_limit(request->limit());
    *req.mutable_exclude_skus() = request->exclude_skus();
    recommendations::v1::RecommendForProductResponse resp;
    CallOrThrow(call, gw_.recommendations(),
                &recommendations::v1::RecommendationsService::Stub::RecommendForProduct, req, &resp);
    *response->mutable_suggestions() = resp.suggestions();
  });
}

// ---- StreamEvents ---------------------------------------------------------------------------
// A thread of its own per stream: long polls of the points service's ListEvents, one write at a
// time, a heartbeat when nothing happened for heartbeat_seconds.
namespace {

class EventStream final : public grpc::ServerWriteReactor<v1::StreamEventsResponse> {
 public:
  EventStream(Gateway& gw, grpc::CallbackServerContext* context,
              const v1::StreamEventsRequest* request)
      : gw_(gw), context_(context), request_(*request) {
    std::thread([this] { Run(); }).detach();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mutex_);
    writing_ = false;
    if (!ok) stop_ = true;
    cv_.notify_all();
  }
  void OnCancel() override {
    std::lock_guard lock(mutex_);
    stop_ = true;
    cv_.notify_all();
  }
  void OnDone() override { delete this; }

 private:
  bool Write(const v1::StreamEventsResponse& item) {
    std::unique_lock lock(mutex_);
    if (stop_) return false;
    out_ = item;
    writing_ = true;
    StartWrite(&out_);
    cv_.wait(lock, [&] { return !writing_; });
    return !stop_;
  }
  bool Stopped() {
    std::lock_guard lock(mutex_);
    return stop_;
  }

  void Run() {
    grpc::Status result = grpc::Status::OK;
    try {
      common::CallContext call;
      call.method = "StreamEvents";
      call.internal_token = gw_.host().config().internal_token;
      const auto& md = context_->client_metadata();
      auto corr = md.find(common::kCorrelationHeader);
      call.correlation_id = corr != md.end() ? std::string(corr->second.data(), corr->second.size())
                                             : "stream-" + std::to_string(common::NowMicros());
      call.deadline = common::Clock::now() + std::chrono::seconds(5);
      const auto p = gw_.Authenticate(*context_, call.deadline, request_.store_id(),
                                      Surface::kStorefront, Role::kNone);
      Validator v;
      v.Check(request_.heartbeat_seconds() >= 0 && request_.heartbeat_seconds() <= 60,
              "heartbeat_seconds", "must be 0 to 60");
      v.ThrowIfInvalid();
      const auto heartbeat =
          std::chrono::seconds(request_.heartbeat_seconds() > 0 ? request_.heartbeat_seconds() : 15);
      std::string cursor = request_.after();
      auto last_sent = std::chrono::steady_clock::now();
      while (!Stopped()) {
        const auto now = std::chrono::steady_clock::now();
        const auto to_heartbeat =
            std::chrono::duration_cast<std::chrono::milliseconds>(last_sent + heartbeat - now);
        const int wait_ms = static_cast<int>(
            std::clamp<int64_t>(to_heartbeat.count(), 0, 1000));
        points::v1::ListEventsRequest req;
        req.set_store_id(p.store.store_id);
        req.set_after(cursor);
        req.set_limit(100);
        req.set_wait_ms(wait_ms);
        points::v1::ListEventsResponse resp;
        call.deadline = common::Clock::now() + std::chrono::milliseconds(wait_ms + 5000);
        auto ctx = common::DownstreamContext(call);
        const auto status = gw_.points().ListEvents(ctx.get(), req, &resp);
        if (!status.ok()) {
          if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
              status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            continue;  // the points service comes back; the cursor loses nothing
          }
          ThrowDownstream(status);
        }
        for (const auto& e : resp.events()) {
          v1::StreamEventsResponse item;
          *item.mutable_event() = e;
          if (!Write(item)) break;
          cursor = e.cursor();
          last_sent = std::chrono::steady_clock::now();
        }
        if (!resp.next_cursor().empty() && resp.events_size() == 0) cursor = resp.next_cursor();
        if (std::chrono::steady_clock::now() >= last_sent + heartbeat) {
          v1::StreamEventsResponse item;
          item.mutable_heartbeat()->set_cursor(cursor);
          *item.mutable_heartbeat()->mutable_server_time() = common::NowTimestamp();
          if (!Write(item)) break;
          last_sent = std::chrono::steady_clock::now();
        }
      }
      if (Stopped()) result = grpc::Status(grpc::StatusCode::CANCELLED, "stream ended");
    } catch (...) {
      result = common::StatusFromException(std::current_exception());
    }
    Finish(result);  // OnDone deletes this: touch nothing after
  }

  Gateway& gw_;
  grpc::CallbackServerContext* context_;
  v1::StreamEventsRequest request_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool writing_ = false;
  bool stop_ = false;
  v1::StreamEventsResponse out_;
};

}  // namespace

grpc::ServerWriteReactor<v1::StreamEventsResponse>* StorefrontService::StreamEvents(
    grpc::CallbackServerContext* context, const v1::StreamEventsRequest* request) {
  return new EventStream(gw_, context, request);
}

}  // namespace loyalty::gateway
