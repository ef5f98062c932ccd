#include "storefront_service.hpp"

#include <condition_variable>
#include <thread>

#include "loyalty/common/time.hpp"

namespace loyalty::gateway {

using common::ApiError;
using common::CallContext;
using common::Validator;

namespace {

int64_t Micros(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000 + t.nanos() / 1000;
}

// Passes one call on to `start` (an async stub method of `service`) and finishes ours with its
// answer, holding no worker while it runs.
template <class Request, class Response, class Start>
void Forward(const CallContext& call, const common::Done& done, const char* service,
             Request request, Response* response, Start start) {
  struct Pending {
    std::unique_ptr<grpc::ClientContext> context;
    Request request;
  };
  auto pending = std::make_shared<Pending>(Pending{common::DownstreamContext(call), std::move(request)});
  start(pending->context.get(), &pending->request, response,
        [pending, done, service](grpc::Status status) {
          common::RunStep(done, [&] {
            if (!status.ok()) ThrowDownstream(status, service);
            done(grpc::Status::OK);
          });
        });
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

namespace {

// GetLoyaltyStatus's downstream calls and what they answer, alive until the call finishes.
struct StatusCall {
  common::CallContext call;
  const v1::GetLoyaltyStatusRequest* request = nullptr;
  v1::GetLoyaltyStatusResponse* response = nullptr;
  common::Done done;
  std::string currency_code;
  points::v1::Settings settings;
  std::unique_ptr<grpc::ClientContext> balance_context;
  points::v1::GetBalanceRequest balance_request;
  points::v1::GetBalanceResponse balance;
  std::unique_ptr<grpc::ClientContext> customer_context;
  customers::v1::GetCustomerRequest customer_request;
  customers::v1::GetCustomerResponse customer;

  void Fill() const {
    const auto& s = settings;
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
    response->set_currency_code(currency_code);
    response->set_redeem_points(s.redeem_points());
    response->set_redeem_value_minor(s.redeem_value_minor());
    if (balance.has_tier()) *response->mutable_tier() = balance.tier();
  }
};

}  // namespace

grpc::ServerUnaryReactor* StorefrontService::GetLoyaltyStatus(
    grpc::CallbackServerContext* context, const v1::GetLoyaltyStatusRequest* request,
    v1::GetLoyaltyStatusResponse* response) {
  return host_.ServeAsync(
      context, "GetLoyaltyStatus", request->store_id(),
      [=, this](CallContext& call, const common::Done& done) {
        const auto p = Auth(context, call, request->store_id());
        Validator v;
        v.RequireId(request->customer_id(), "customer_id");
        v.Check(request->expiring_within_days() >= 0 && request->expiring_within_days() <= 3660,
                "expiring_within_days", "must be 0 to 3660");
        v.ThrowIfInvalid();
        auto st = std::make_shared<StatusCall>();
        st->call = call;
        st->request = request;
        st->response = response;
        st->done = done;
        st->currency_code = p.store.currency_code;
        st->settings = gw_.PreviewSettings(call, p.store.store_id);  // usually kept: no call
        st->balance_context = common::DownstreamContext(call);
        st->balance_request.set_store_id(p.store.store_id);
        st->balance_request.set_customer_id(request->customer_id());
        gw_.points().async()->GetBalance(
            st->balance_context.get(), &st->balance_request, &st->balance,
            [this, st](grpc::Status status) {
              common::RunStep(st->done, [&] {
                if (!status.ok()) ThrowDownstream(status, "points");
                const auto& b = st->balance.balance();
                if (b.pending() != 0 || b.available() != 0 || b.held() != 0 || b.debt() != 0) {
                  st->Fill();
                  return st->done(grpc::Status::OK);
                }
                // The ledger answers zeros for anyone: a stranger is NOT_FOUND
                // (CUSTOMER_NOT_FOUND, from customers).
                st->customer_context = common::DownstreamContext(st->call);
                st->customer_request.set_store_id(st->balance_request.store_id());
                st->customer_request.set_customer_id(st->balance_request.customer_id());
                gw_.customers().async()->GetCustomer(
                    st->customer_context.get(), &st->customer_request, &st->customer,
                    [st](grpc::Status found) {
                      common::RunStep(st->done, [&] {
                        if (!found.ok()) ThrowDownstream(found, "customers");
                        st->Fill();
                        st->done(grpc::Status::OK);
                      });
                    });
              });
            });
      });
}

grpc::ServerUnaryReactor* StorefrontService::QuoteCart(grpc::CallbackServerContext* context,
                                                       const v1::QuoteCartRequest* request,
                                                       v1::QuoteCartResponse* response) {
  return host_.ServeAsync(context, "QuoteCart", request->store_id(),
                          [=, this](CallContext& call, const common::Done& done) {
                            const auto p = Auth(context, call, request->store_id());
                            checkout::v1::QuoteCartRequest req;
                            *req.mutable_store() = CheckoutStoreOf(p);
                            *req.mutable_quote() = *request;
                            Forward(call, done, "checkout", std::move(req), response,
                                    [this](auto... a) { gw_.checkout().async()->QuoteCart(a...); });
                          });
}

grpc::ServerUnaryReactor* StorefrontService::PlaceOrder(grpc::CallbackServerContext* context,
                                                        const v1::PlaceOrderRequest* request,
                                                        v1::PlaceOrderResponse* response) {
  return host_.ServeAsync(context, "PlaceOrder", request->store_id(),
                          [=, this](CallContext& call, const common::Done& done) {
                            const auto p = Auth(context, call, request->store_id());
                            checkout::v1::PlaceOrderRequest req;
                            *req.mutable_store() = CheckoutStoreOf(p);
                            *req.mutable_order() = *request;
                            Forward(call, done, "checkout", std::move(req), response,
                                    [this](auto... a) { gw_.checkout().async()->PlaceOrder(a...); });
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

grpc::ServerUnaryReactor* StorefrontService::RecordAction(grpc::CallbackServerContext* context,
                                                          const v1::RecordActionRequest* request,
                                                          v1::RecordActionResponse* response) {
  return host_.Serve(context, "RecordAction", request->store_id(), [=, this](CallContext& call) {
    const auto p = Auth(context, call, request->store_id());
    points::v1::RecordActionRequest req;
    req.set_store_id(p.store.store_id);
    req.set_request_id(request->request_id());
    req.set_customer_id(request->customer_id());
    req.set_kind(request->kind());
    req.set_share_reference(request->share_reference());
    req.set_order_id(request->order_id());
    req.set_line_id(request->line_id());
    req.set_referral_code(request->referral_code());
    points::v1::RecordActionResponse resp;
    CallOrThrow(call, gw_.points(), &points::v1::PointsService::Stub::RecordAction, req, &resp);
    response->set_points(resp.points());
    response->set_reason(resp.reason());
    *response->mutable_balance() = resp.balance();
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
      : gw_(gw), in_flight_(gw.host()), context_(context), request_(*request) {
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
      // Headers now, before the first event: a caller (the HTTP front's Server-Sent Events) can
      // tell an accepted stream from a refused one without waiting for an event.
      context_->AddInitialMetadata(kStreamOpenHeader, "1");
      StartSendInitialMetadata();
      const auto heartbeat =
          std::chrono::seconds(request_.heartbeat_seconds() > 0 ? request_.heartbeat_seconds() : 15);
      std::string cursor = request_.after();
      auto last_sent = std::chrono::steady_clock::now();
      while (!Stopped() && !gw_.host().draining()) {
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
          ThrowDownstream(status, "points");
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
      if (gw_.host().draining()) {
        // The client reconnects (to the next process) and resumes after its last cursor.
        result = common::ApiError(grpc::StatusCode::UNAVAILABLE, common::kShuttingDownReason,
                                  "the gateway is restarting; resume with after = the last cursor")
                     .ToStatus();
      } else if (Stopped()) {
        result = grpc::Status(grpc::StatusCode::CANCELLED, "stream ended");
      }
    } catch (...) {
      result = common::StatusFromException(std::current_exception());
    }
    Finish(result);  // OnDone deletes this: touch nothing after
  }

  Gateway& gw_;
  common::ServiceHost::InFlightGuard in_flight_;  // the gateway's drain waits for this stream
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
