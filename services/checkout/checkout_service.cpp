#include "checkout_service.hpp"

#include <thread>

#include "quote_flow.hpp"
#include "loyalty/common/failpoint.hpp"
#include "loyalty/common/hex.hpp"
#include "loyalty/common/customer_check.hpp"
#include "loyalty/common/idempotency.hpp"
#include "loyalty/common/listen.hpp"
#include "loyalty/common/time.hpp"

namespace loyalty::checkout {

using common::ApiError;
using common::CallContext;
using common::ThrowDownstream;
using common::Validator;

namespace {

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

// Backoff between orders.PlaceOrder attempts grows to this.
constexpr auto kMaxPause = std::chrono::milliseconds(1000);
// Time kept to answer after the last attempt.
constexpr auto kAnswerMargin = std::chrono::milliseconds(50);

void CheckStore(Validator& v, const v1::Store& store) {
  v.RequireId(store.store_id(), "store.store_id");
  v.Check(store.currency_code().size() == 3, "store.currency_code", "must be an ISO 4217 code");
}

}  // namespace

CheckoutService::CheckoutService(common::ServiceHost& host, CheckoutConfig config)
    : host_(host),
      db_(host.db()),
      config_(std::move(config)),
      store_(host.db()),
      codes_(host.db()),
      carts_(host.db()),
      campaigns_(host.db()),
      subscriptions_(host.db()),
      outbox_(host.db(), "checkout", {"points"}),
      idempotency_(host.db(), "checkout"),
      settings_(std::chrono::milliseconds(
          std::max(config_.settings_cache_ms, config_.settings_max_stale_ms))),
      customers_(customers::v1::CustomersService::NewStub(
          common::InternalChannel(config_.customers_addr, "customers"))),
      orders_(orders::v1::OrdersService::NewStub(common::InternalChannel(config_.orders_addr, "orders"))),
      points_(points::v1::PointsService::NewStub(common::InternalChannel(config_.points_addr, "points"))),
      recs_(recommendations::v1::RecommendationsService::NewStub(
          common::InternalChannel(config_.recommendations_addr, "recommendations"))) {
  // Kept settings are dropped as soon as the points service announces a change.
  common::DropOnProgramChange(host, settings_);
}

points::v1::GetSettingsResponse CheckoutService::ReadSettings(const CallContext& call,
                                                              const std::string& store_id,
                                                              const std::string& customer_id) {
  const auto read_at = std::chrono::steady_clock::now();
  points::v1::GetSettingsRequest request;
  request.set_store_id(store_id);
  request.set_customer_id(customer_id);
  request.set_include_rewards(true);
  points::v1::GetSettingsResponse response;
  const auto status =
      points_->GetSettings(common::DownstreamContext(call).get(), request, &response);
  if (!status.ok()) ThrowDownstream(status, "points");
  auto program = std::make_shared<points::v1::GetSettingsResponse>(response);
  program->clear_tier();  // the customer's, not the store's
  settings_.Put(store_id, {std::move(program), read_at}, read_at);
  return response;
}

std::shared_ptr<const points::v1::GetSettingsResponse> CheckoutService::QuoteSettings(
    const CallContext& call, const std::string& store_id) {
  const auto now = std::chrono::steady_clock::now();
  const auto kept = settings_.Find(store_id, now);
  if (kept && now - kept->read_at < std::chrono::milliseconds(config_.settings_cache_ms)) {
    return kept->program;
  }
  return std::make_shared<const points::v1::GetSettingsResponse>(ReadSettings(call, store_id, ""));
}

points::v1::GetSettingsResponse CheckoutService::CheckoutSettings(const CallContext& call,
                                                                  const std::string& store_id,
                                                                  const std::string& customer_id,
                                                                  bool pays_points) {
  const auto kept = pays_points ? std::nullopt : settings_.Find(store_id);
  if (!kept) return ReadSettings(call, store_id, customer_id);
  // A copy to fall back on: wait only briefly for the points service.
  CallContext brief = call;
  brief.deadline = std::min(
      call.deadline, common::Clock::now() + std::chrono::milliseconds(config_.settings_wait_ms));
  try {
    return ReadSettings(brief, store_id, customer_id);
  } catch (const ApiError& e) {
    if (e.code() != grpc::StatusCode::UNAVAILABLE &&
        e.code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      throw;
    }
    const auto age = std::chrono::steady_clock::now() - kept->read_at;
    common::log::WarnEvery(
        "checkout kept settings", common::log::kRepeatInterval,
        "points unavailable; checkout uses kept settings",
        {{"reason", e.reason()},
         {"age_ms", std::chrono::duration_cast<std::chrono::milliseconds>(age).count()}});
    host_.metrics().RecordDegraded("PlaceOrder", "points");
    return *kept->program;  // without the tier: shipping as the threshold says
  }
}

void CheckoutService::RequireCustomer(const CallContext& call, const std::string& store_id,
                                      const std::string& customer_id) {
  common::RequireCustomer(call, *customers_, store_id, customer_id, "cart.customer_id");
}

grpc::ServerUnaryReactor* CheckoutService::QuoteCart(grpc::CallbackServerContext* context,
                                                     const v1::QuoteCartRequest* request,
                                                     gateway::v1::QuoteCartResponse* response) {
  return host_.ServeAsync(
      context, "QuoteCart", request->store().store_id(),
      [=, this](CallContext& call, const common::Done& done) {
        const auto& store = request->store();
        Validator v;
        CheckStore(v, store);
        CheckCart(v, request->quote().cart(), store.currency_code(), false);
        v.Check(request->quote().suggestion_limit() >= 0 &&
                    request->quote().suggestion_limit() <= 50,
                "suggestion_limit", "must be 0 to 50");
        v.ThrowIfInvalid();
        const bool renews = QuoteRenews(call, store.store_id(), request->quote().cart());
        auto program = QuoteSettings(call, store.store_id());
        RecordCart(call, store, request->quote().cart(), program->settings());
        QuoteFlow::Start({*points_, *recs_, *customers_, host_.metrics(),
                          std::chrono::milliseconds(config_.recommendations_timeout_ms)},
                         call, *request, std::move(program),
                         FindCode(call, store.store_id(), request->quote().cart()), renews,
                         response, done);
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
  // The thank-you code this checkout would issue, kept with it so every attempt names the same.
  const std::string drawn_thank_you = GenerateCodes(1)[0];
  while (!row) {
    row = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return store_.Claim(tx, store_id, request.order_id(), hash, cart.customer_id(),
                          drawn_thank_you);
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

  // 2. The subscription renewal the order places, checked as the quote checked it and claimed
  // for this checkout alone; a refusal leaves the order id free. A retry keeps the renewal an
  // earlier attempt claimed (its order may exist already), whatever changed since.
  std::optional<ClaimedRenewal> renewal;
  if (!row->renewal.subscription_id.empty()) {
    renewal = row->renewal;
  } else if (!cart.subscription_id().empty()) {
    try {
      renewal = ClaimRenewal(call, store_id, request.order_id(), cart);
    } catch (const ApiError&) {
      if (row->hold_id.empty()) ForgetUnheld(call, store_id, request.order_id());
      throw;
    }
  }

  // 3. Claim the discount code: one use taken under the code's lock, before anything is held.
  // A refused code leaves the order id free. Its use is given back in the statement that ends a
  // checkout without an order (ForgetUnheld, Refuse) and kept for good with the order.
  std::optional<CodeState> code;
  if (!cart.discount_code().empty()) {
    try {
      code = ClaimCode(call, store_id, request.order_id(), cart);
    } catch (const ApiError&) {
      if (row->hold_id.empty()) ForgetUnheld(call, store_id, request.order_id());
      throw;
    }
  }
  const CodeState* applied = code ? &*code : nullptr;

  // 4. Hold the points paid with and the reward redeemed (one hold). The settings come with the
  // customer's tier and the rewards catalogue (one call, fresh when the checkout holds points):
  // a tier may ship free.
  const bool holds = cart.points_to_redeem() > 0 || !cart.reward_id().empty();
  const auto read = [&] {
    try {
      return CheckoutSettings(call, store_id, cart.customer_id(), holds);
    } catch (const ApiError&) {
      // Nothing is held but the code: its use goes back, the order id stays free.
      if (applied != nullptr && row->hold_id.empty()) {
        ForgetUnheld(call, store_id, request.order_id());
      }
      throw;
    }
  }();
  const auto& settings = read.settings();
  const bool tier_free_shipping = TierShipsFree(read.tier());
  const points::v1::Reward* reward = nullptr;
  points::v1::Hold hold;
  if (holds) {
    try {
      reward = ChosenReward(cart, read.rewards());
      const int64_t cost = reward ? reward->definition().points_cost() : 0;
      const auto quote = PriceCart(cart, settings, cart.points_to_redeem() + cost,
                                   tier_free_shipping, reward, applied);
      if (quote.priced.points_paid != cart.points_to_redeem()) {
        throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, "POINTS_EXCEED_MERCHANDISE",
                       "cart.points_to_redeem: worth more than the merchandise after discounts",
                       {{"cart.points_to_redeem",
                         "worth more than the merchandise after discounts"}});
      }
    } catch (const ApiError&) {
      // Refused before anything was held: the order id stays free for a corrected checkout.
      if (row->hold_id.empty()) ForgetUnheld(call, store_id, request.order_id());
      throw;
    }
    hold = Reserve(call, store, request, *row);
  }

  // 5. Create the order naming the hold; the points service commits the hold when it applies
  // the order's event, so nothing is lost if this process dies after this call.
  auto order_req = OrderRequest(store_id, store.currency_code(), request.order_id(), cart,
                                settings, holds ? &hold : nullptr, tier_free_shipping, reward,
                                applied, renewal.has_value());
  // A thank-you code goes with the order (its answer and its event) when the store's template
  // batch exists; the code itself is issued once the order does.
  const std::string& thanks_batch = settings.thank_you_code_batch_id();
  const bool thanks = !thanks_batch.empty() && db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    return codes_.BatchDefinition(tx, store_id, thanks_batch).has_value();
  });
  if (thanks) order_req.set_thank_you_code(row->thank_you_code);
  orders::v1::PlaceOrderResponse order_resp;
  grpc::Status status;
  int attempt = 0;
  for (auto pause = std::chrono::milliseconds(100);; pause = std::min(2 * pause, kMaxPause)) {
    ++attempt;
    status = orders_->PlaceOrder(common::DownstreamContext(call).get(), order_req, &order_resp);
    if (status.ok() || !OutcomeUnknown(status.error_code())) break;
    common::log::WarnEvery("checkout orders outcome unknown", common::log::kRepeatInterval,
                           "orders.PlaceOrder outcome unknown",
                           {{"attempt", attempt}, {"code", static_cast<int>(status.error_code())},
                            {"error", status.error_message()}});
    // Retried with the same order id for as long as the caller waits (a restart of orders takes
    // seconds), keeping time to answer.
    if (attempt >= config_.place_order_attempts ||
        common::Clock::now() + pause + kAnswerMargin >= call.deadline) {
      // The order may or may not exist: the hold stays; the points service's expiry job asks the
      // orders service to abandon the id before it releases the hold.
      throw ApiError(grpc::StatusCode::UNAVAILABLE, "ORDER_OUTCOME_UNKNOWN",
                     "the order could not be confirmed; retry PlaceOrder with the same order id")
          .With("service", "orders");
    }
    std::this_thread::sleep_for(pause);
  }
  if (!status.ok()) {
    if (!holds && attempt == 1) {
      // Refused at the first try, holding nothing: no order can appear later, so the order id
      // stays free for a corrected checkout (e.g. after registering the customer).
      ForgetUnheld(call, store_id, request.order_id());
      ThrowDownstream(status, "orders");
    }
    Refuse(call, store, request, holds ? &hold : nullptr, status);
  }
  common::failpoint::Hit("checkout.after_order_created");
  *response->mutable_order() = order_resp.order();
  if (holds) *response->mutable_hold() = hold;
  const std::string bytes = response->SerializeAsString();
  if (!thanks && !renewal) {
    db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      store_.SetPlaced(tx, store_id, request.order_id(), bytes);
    });
    return;
  }
  // What the order brings about is recorded with the checkout's outcome, so a retry that finds
  // the checkout unfinished does it again, and one that finds it placed does nothing.
  db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    if (thanks) {
      IssueCode(tx, store_id, thanks_batch, cart.customer_id(), "thanks:" + request.order_id(),
                "thank you for order " + request.order_id(), row->thank_you_code);
    }
    if (renewal) RecordRenewal(tx, store_id, *renewal, request.order_id(), order_req);
    store_.SetPlaced(tx, store_id, request.order_id(), bytes);
  });
}

ClaimedRenewal CheckoutService::ClaimRenewal(const CallContext& call, const std::string& store_id,
                                             const std::string& order_id,
                                             const gateway::v1::Cart& cart) {
  // Under the subscription's lock, which ChangeSubscription takes too: a pause, skip or cancel
  // either comes first (and the check refuses) or waits for the claim (and is refused while
  // the checkout is under way).
  return db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    const auto row = subscriptions_.Find(tx, store_id, cart.subscription_id(), true);
    if (!row) throw SubscriptionNotFound("cart.subscription_id");
    CheckRenewal(row->terms, cart.customer_id(), common::NowMicros());
    try {
      store_.SetRenewal(tx, store_id, order_id, row->subscription_id, row->terms.next_renewal_us);
    } catch (const pqxx::unique_violation&) {
      throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "RENEWAL_IN_PROGRESS",
                     "cart.subscription_id: another checkout is placing this renewal; retry that "
                     "checkout with its own order id",
                     {{"cart.subscription_id", "another checkout is placing this renewal"}});
    }
    return ClaimedRenewal{row->subscription_id, row->terms.next_renewal_us};
  });
}

void CheckoutService::RecordRenewal(pqxx::transaction_base& tx, const std::string& store_id,
                                    const ClaimedRenewal& renewal, const std::string& order_id,
                                    const orders::v1::PlaceOrderRequest& order) {
  if (!subscriptions_.InsertRenewal(tx, store_id, renewal.subscription_id, order_id,
                                    renewal.renewal_us, order.renewal_bonus_points())) {
    return;  // recorded before
  }
  auto row = subscriptions_.Find(tx, store_id, renewal.subscription_id, true);
  // The renewal still the subscription's next one (no change can come between the claim and
  // here): it moves on to the first renewal whose notice is still ahead.
  if (!row || row->terms.next_renewal_us != renewal.renewal_us) return;
  row->terms.next_renewal_us = NextAfterRenewal(row->terms, common::NowMicros());
  subscriptions_.SaveRenewed(tx, *row, order_id);
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
  req.set_reward_id(request.cart().reward_id());
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
    // The ledger names its own fields (points, reward_id); the storefront sent them in its cart.
    auto error = common::DownstreamError(status, "points");
    error.RenameFields({{"points", "cart.points_to_redeem"}, {"reward_id", "cart.reward_id"}});
    throw error;
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
  ThrowDownstream(status, "orders");
}

}  // namespace loyalty::checkout
