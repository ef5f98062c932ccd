#include "checkout_service.hpp"

#include <thread>

#include "async_call.hpp"
#include "loyalty/common/failpoint.hpp"
#include "loyalty/common/hex.hpp"
#include "loyalty/common/idempotency.hpp"

namespace loyalty::checkout {

using common::ApiError;
using common::CallContext;
using common::ThrowDownstream;
using common::Validator;

namespace {

// The most lines recommendations.RecommendForCart accepts.
constexpr int kMaxSuggestionCartLines = 100;

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

void CheckStore(Validator& v, const v1::Store& store) {
  v.RequireId(store.store_id(), "store.store_id");
  v.Check(store.currency_code().size() == 3, "store.currency_code", "must be an ISO 4217 code");
}

bool EmptyBalance(const points::v1::Balance& b) {
  return b.pending() == 0 && b.available() == 0 && b.held() == 0 && b.debt() == 0;
}

}  // namespace

CheckoutService::CheckoutService(common::ServiceHost& host, CheckoutConfig config)
    : host_(host),
      db_(host.db()),
      config_(std::move(config)),
      store_(host.db()),
      settings_(std::chrono::milliseconds(config_.settings_cache_ms)),
      customers_(customers::v1::CustomersService::NewStub(
          common::InternalChannel(config_.customers_addr))),
      orders_(orders::v1::OrdersService::NewStub(common::InternalChannel(config_.orders_addr))),
      points_(points::v1::PointsService::NewStub(common::InternalChannel(config_.points_addr))),
      recs_(recommendations::v1::RecommendationsService::NewStub(
          common::InternalChannel(config_.recommendations_addr))) {}

points::v1::Settings CheckoutService::Settings(const CallContext& call,
                                               const std::string& store_id, bool fresh) {
  const auto now = std::chrono::steady_clock::now();
  if (!fresh) {
    if (auto cached = settings_.Find(store_id, now)) return *cached;
  }
  points::v1::GetSettingsRequest request;
  request.set_store_id(store_id);
  points::v1::GetSettingsResponse response;
  const auto status =
      points_->GetSettings(common::DownstreamContext(call).get(), request, &response);
  if (!status.ok()) ThrowDownstream(status);
  settings_.Put(store_id, response.settings(), now);
  return response.settings();
}

void CheckoutService::RequireCustomer(const CallContext& call, const std::string& store_id,
                                      const std::string& customer_id) {
  customers::v1::GetCustomerRequest request;
  request.set_store_id(store_id);
  request.set_customer_id(customer_id);
  customers::v1::GetCustomerResponse response;
  const auto status =
      customers_->GetCustomer(common::DownstreamContext(call).get(), request, &response);
  if (status.ok()) return;
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    throw ApiError(grpc::StatusCode::NOT_FOUND, "CUSTOMER_NOT_FOUND",
                   "customer " + customer_id + " is not registered in this store",
                   {{"cart.customer_id", "is not a customer of this store"}});
  }
  ThrowDownstream(status);
}

grpc::ServerUnaryReactor* CheckoutService::QuoteCart(grpc::CallbackServerContext* context,
                                                     const v1::QuoteCartRequest* request,
                                                     gateway::v1::QuoteCartResponse* response) {
  return host_.Serve(context, "QuoteCart", request->store().store_id(), [=, this](CallContext& call) {
    const auto& store = request->store();
    const auto& cart = request->quote().cart();
    Validator v;
    CheckStore(v, store);
    CheckCart(v, cart, store.currency_code(), false);
    v.Check(request->quote().suggestion_limit() >= 0 && request->quote().suggestion_limit() <= 50,
            "suggestion_limit", "must be 0 to 50");
    v.ThrowIfInvalid();
    const std::string& store_id = store.store_id();

    // Phase 1: the shopper's balance (in flight) and the store's settings (usually cached).
    using Balance = AsyncCall<points::v1::GetBalanceRequest, points::v1::GetBalanceResponse>;
    std::shared_ptr<Balance> balance;
    if (!cart.customer_id().empty()) {
      points::v1::GetBalanceRequest req;
      req.set_store_id(store_id);
      req.set_customer_id(cart.customer_id());
      balance = Balance::Begin(common::DownstreamContext(call), std::move(req),
                               [&](auto... a) { points_->async()->GetBalance(a...); });
    }
    const auto settings = Settings(call, store_id, false);
    int64_t available = 0;
    if (balance) {
      const auto status = balance->Wait();
      if (!status.ok()) ThrowDownstream(status);
      // The ledger answers zeros for anyone; only an empty balance needs the customers check.
      if (EmptyBalance(balance->response().balance())) {
        RequireCustomer(call, store_id, cart.customer_id());
      }
      available = balance->response().balance().available();
    }
    const auto quote = PriceCart(cart, settings, available);

    // Phase 2: suggestions (on a budget of their own: a slow service only makes the quote
    // partial) beside the points this cart would earn on its nets.
    using Recs = AsyncCall<recommendations::v1::RecommendForCartRequest,
                           recommendations::v1::RecommendForCartResponse>;
    recommendations::v1::RecommendForCartRequest recs_req;
    recs_req.set_store_id(store_id);
    for (const auto& l : cart.lines()) {
      // Suggestions come from the first 100 lines rather than the quote being partial.
      if (recs_req.lines_size() == kMaxSuggestionCartLines) break;
      auto* line = recs_req.add_lines();
      line->set_sku(l.sku());
      line->set_quantity(l.quantity());
    }
    recs_req.set_customer_id(cart.customer_id());
    recs_req.set_free_shipping_missing_minor(quote.priced.free_shipping_gap);
    recs_req.set_limit(request->quote().suggestion_limit());
    auto recs_ctx = common::DownstreamContext(call);
    recs_ctx->set_deadline(std::min(
        call.deadline,
        common::Clock::now() + std::chrono::milliseconds(config_.recommendations_timeout_ms)));
    auto recs = Recs::Begin(std::move(recs_ctx), std::move(recs_req),
                            [&](auto... a) { recs_->async()->RecommendForCart(a...); });

    points::v1::PreviewEarnRequest earn_req;
    earn_req.set_store_id(store_id);
    earn_req.set_customer_id(cart.customer_id());
    for (int i = 0; i < cart.lines_size(); ++i) {
      auto* line = earn_req.add_lines();
      line->set_line_id(cart.lines(i).line_id());
      line->set_sku(cart.lines(i).sku());
      line->set_category(cart.lines(i).category());
      line->set_net_minor(quote.priced.lines[static_cast<size_t>(i)].net);
    }
    points::v1::PreviewEarnResponse earn;
    const auto earn_status =
        points_->PreviewEarn(common::DownstreamContext(call).get(), earn_req, &earn);
    const auto recs_status = recs->Wait();  // bounded by its own deadline
    if (!earn_status.ok()) ThrowDownstream(earn_status);

    FillTotals(quote, store.currency_code(), available, response);
    response->set_points_to_earn(earn.total_points());
    *response->mutable_line_points() = earn.lines();
    response->set_rule_version(earn.rule_version());
    response->set_free_shipping_threshold_minor(settings.free_shipping_threshold_minor());
    if (recs_status.ok()) {
      const auto& r = recs->response();
      *response->mutable_free_shipping_gap_closers() = r.free_shipping_gap_closers();
      *response->mutable_cross_sell() = r.cross_sell();
      *response->mutable_upsell() = r.upsell();
      *response->mutable_gift_wrap() = r.gift_wrap();
    } else {
      response->set_partial(true);
      response->add_missing_parts("recommendations");
    }
  });
}

grpc::ServerUnaryReactor* CheckoutService::PlaceOrder(grpc::CallbackServerContext* context,
                                                      const v1::PlaceOrderRequest* request,
                                                      gateway::v1::PlaceOrderResponse* response) {
  return host_.Serve(context, "PlaceOrder", request->store().store_id(),
                     [=, this](CallContext& call) {
                       Place(call, request->store(), request->order(), response);
                     });
}

void CheckoutService::Place(const CallContext& call, const v1::Store& store,
                            const gateway::v1::PlaceOrderRequest& request,
                            gateway::v1::PlaceOrderResponse* response) {
  const std::string& store_id = store.store_id();
  const auto& cart = request.cart();
  Validator v;
  CheckStore(v, store);
  v.RequireId(request.order_id(), "order_id");
  CheckCart(v, cart, store.currency_code(), true);
  v.ThrowIfInvalid();  // a refused cart claims nothing: its order id stays free

  // 1. The checkout record: the order id is the idempotency key of the whole checkout.
  gateway::v1::PlaceOrderRequest canonical = request;
  canonical.set_store_id(store_id);
  const std::string hash = common::DeterministicHash(canonical);
  std::optional<CheckoutRow> row;
  while (!row) {
    row = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return store_.Claim(tx, store_id, request.order_id(), hash);
    });
  }
  if (row->request_hash != hash) {
    throw ApiError(grpc::StatusCode::ALREADY_EXISTS, "ORDER_ID_REUSED",
                   "this order id was used for a different checkout",
                   {{"order_id", "was already used for a different cart"}});
  }
  if (row->state == "placed") {
    response->ParseFromString(row->response);
    return;
  }
  if (row->state == "refused") {
    throw ApiError(static_cast<grpc::StatusCode>(row->error_code), row->error_reason,
                   row->error_message);
  }

  // 2. Hold the points paid with.
  const auto settings = Settings(call, store_id, true);
  points::v1::Hold hold;
  if (cart.points_to_redeem() > 0) {
    const auto quote = PriceCart(cart, settings, cart.points_to_redeem());
    if (quote.priced.points_paid != cart.points_to_redeem()) {
      if (row->hold_id.empty()) ForgetUnheld(call, store_id, request.order_id());
      throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, "POINTS_EXCEED_MERCHANDISE",
                     "cart.points_to_redeem: worth more than the merchandise after discounts",
                     {{"cart.points_to_redeem", "worth more than the merchandise after discounts"}});
    }
    hold = Reserve(call, store, request, *row);
  }

  // 3. Create the order naming the hold; the points service commits the hold when it applies
  // the order's event, so nothing is lost if this process dies after this call.
  const auto order_req = OrderRequest(store_id, store.currency_code(), request.order_id(), cart,
                                      settings, cart.points_to_redeem() > 0 ? &hold : nullptr);
  orders::v1::PlaceOrderResponse order_resp;
  grpc::Status status;
  int attempts = 0;
  for (int attempt = 1;; ++attempt) {
    attempts = attempt;
    status = orders_->PlaceOrder(common::DownstreamContext(call).get(), order_req, &order_resp);
    if (status.ok() || !OutcomeUnknown(status.error_code())) break;
    const auto pause = std::chrono::milliseconds(100 * attempt);
    if (attempt >= config_.place_order_attempts || common::Clock::now() + pause >= call.deadline) {
      // The order may or may not exist: the hold stays; the points service's expiry job asks the
      // orders service to abandon the id before it releases the hold.
      throw ApiError(grpc::StatusCode::UNAVAILABLE, "ORDER_OUTCOME_UNKNOWN",
                     "the order could not be confirmed; retry PlaceOrder with the same order id");
    }
    std::this_thread::sleep_for(pause);
  }
  if (!status.ok()) {
    if (cart.points_to_redeem() == 0 && attempts == 1) {
      // Refused at the first try, holding nothing: no order can appear later, so the order id
      // stays free for a corrected checkout (e.g. after registering the customer).
      ForgetUnheld(call, store_id, request.order_id());
      ThrowDownstream(status);
    }
    Refuse(call, store, request, cart.points_to_redeem() > 0 ? &hold : nullptr, status);
  }
  common::failpoint::Hit("checkout.after_order_created");
  *response->mutable_order() = order_resp.order();
  if (cart.points_to_redeem() > 0) *response->mutable_hold() = hold;
  const std::string bytes = response->SerializeAsString();
  db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    store_.SetPlaced(tx, store_id, request.order_id(), bytes);
  });
}

void CheckoutService::ForgetUnheld(const CallContext& call, const std::string& store_id,
                                   const std::string& order_id) {
  db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    store_.DeleteUnheld(tx, store_id, order_id);
  });
}

points::v1::Hold CheckoutService::Reserve(const CallContext& call, const v1::Store& store,
                                          const gateway::v1::PlaceOrderRequest& request,
                                          const CheckoutRow& row) {
  const std::string& store_id = store.store_id();
  points::v1::ReserveRedemptionRequest req;
  req.set_store_id(store_id);
  req.set_request_id("checkout:" + common::Sha256Hex(request.order_id()).substr(0, 40));
  req.set_customer_id(request.cart().customer_id());
  req.set_order_id(request.order_id());
  req.set_points(request.cart().points_to_redeem());
  points::v1::ReserveRedemptionResponse resp;
  const auto status =
      points_->ReserveRedemption(common::DownstreamContext(call).get(), req, &resp);
  if (!status.ok()) {
    if (!OutcomeUnknown(status.error_code()) && row.hold_id.empty()) {
      // Nothing was held: the order id stays free for a corrected checkout.
      ForgetUnheld(call, store_id, request.order_id());
      // The ledger cannot tell a stranger from a customer with no points.
      if (common::ErrorReason(status) == "INSUFFICIENT_POINTS") {
        RequireCustomer(call, store_id, request.cart().customer_id());
      }
    }
    ThrowDownstream(status);
  }
  if (row.hold_id != resp.hold().hold_id()) {
    db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      store_.SetHold(tx, store_id, request.order_id(), resp.hold().hold_id());
    });
  }
  return resp.hold();
}

void CheckoutService::Refuse(const CallContext& call, const v1::Store& store,
                             const gateway::v1::PlaceOrderRequest& request,
                             const points::v1::Hold* hold, const grpc::Status& status) {
  const std::string& store_id = store.store_id();
  orders::v1::AbandonOrderRequest abandon;
  abandon.set_store_id(store_id);
  abandon.set_order_id(request.order_id());
  orders::v1::AbandonOrderResponse abandoned;
  const auto astatus =
      orders_->AbandonOrder(common::DownstreamContext(call).get(), abandon, &abandoned);
  if (astatus.ok() && abandoned.abandoned()) {
    if (hold != nullptr) {
      points::v1::VoidRedemptionRequest vreq;
      vreq.set_store_id(store_id);
      vreq.set_hold_id(hold->hold_id());
      points::v1::VoidRedemptionResponse vresp;
      // Else the expiry job releases it.
      (void)points_->VoidRedemption(common::DownstreamContext(call).get(), vreq, &vresp);
    }
    db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      store_.SetRefused(tx, store_id, request.order_id(), static_cast<int>(status.error_code()),
                        common::ErrorReason(status), status.error_message());
    });
  }
  ThrowDownstream(status);
}

}  // namespace loyalty::checkout
