// CheckoutService's subscriptions (docs/subscriptions.md): the storefront's create, change and
// list, the admin's report, and the job that announces each renewal once when its notice begins.
// A renewal order is an ordinary checkout naming the subscription (checkout_service.cpp: Place,
// ClaimRenewal, RecordRenewal; a quote checks it with QuoteRenews, here); the rules are
// subscription_rules.hpp's.
#include <google/protobuf/util/time_util.h>

#include <map>

#include "checkout_service.hpp"
#include "loyalty/common/customer_check.hpp"
#include "loyalty/common/time.hpp"

namespace loyalty::checkout {

using common::ApiError;
using common::CallContext;
using common::Validator;
using google::protobuf::util::TimeUtil;

namespace {

constexpr int kListed = 100;        // subscriptions ListSubscriptions answers
constexpr int kAnnouncePage = 500;  // announcements per transaction
constexpr int64_t kMaxReportDays = 366;

v1::SubscriptionRenewalDue EventOf(const SubscriptionRow& row) {
  v1::SubscriptionRenewalDue event;
  event.set_subscription_id(row.subscription_id);
  event.set_customer_id(row.terms.customer_id);
  *event.mutable_lines() = row.lines.lines();
  *event.mutable_renewal_at() = TimeUtil::MicrosecondsToTimestamp(row.terms.next_renewal_us);
  event.set_renewal_number(row.renewals + 1);
  return event;
}

}  // namespace

grpc::ServerUnaryReactor* CheckoutService::CreateSubscription(
    grpc::CallbackServerContext* context, const v1::CreateSubscriptionRequest* request,
    gateway::v1::CreateSubscriptionResponse* response) {
  return host_.Serve(context, "CreateSubscription", request->store().store_id(),
                     [=, this](const CallContext& call) {
    const std::string& store_id = request->store().store_id();
    const auto& create = request->create();
    const int64_t now = common::NowMicros();
    Validator v;
    v.RequireId(store_id, "store_id");
    CheckCreate(v, create);
    v.ThrowIfInvalid();
    common::RequireCustomer(call, *customers_, store_id, create.customer_id(), "customer_id");
    db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      response->Clear();
      if (idempotency_.Begin(tx, store_id, "CreateSubscription", create.request_id(), create,
                             response)) {
        return;
      }
      Validator first;  // against this create's time: a retry answered above is never refused
      CheckFirstRenewal(first, create, now);
      first.ThrowIfInvalid();
      SubscriptionRow row;
      row.store_id = store_id;
      row.subscription_id = create.subscription_id();
      row.terms = StartTerms(create, now);
      *row.lines.mutable_lines() = create.lines();
      row.started_us = now;
      if (!subscriptions_.Insert(tx, row)) {
        throw ApiError(grpc::StatusCode::ALREADY_EXISTS, "SUBSCRIPTION_EXISTS",
                       "subscription_id: the store already has this subscription",
                       {{"subscription_id", "the store already has this subscription"}});
      }
      *response->mutable_subscription() = ToApi(row);
      idempotency_.Finish(tx, store_id, "CreateSubscription", create.request_id(), *response);
    });
  });
}

grpc::ServerUnaryReactor* CheckoutService::ChangeSubscription(
    grpc::CallbackServerContext* context, const v1::ChangeSubscriptionRequest* request,
    gateway::v1::ChangeSubscriptionResponse* response) {
  return host_.Serve(context, "ChangeSubscription", request->store().store_id(),
                     [=, this](const CallContext& call) {
    const std::string& store_id = request->store().store_id();
    const auto& change = request->change();
    Validator v;
    v.RequireId(store_id, "store_id");
    v.RequireId(change.request_id(), "request_id");
    v.RequireId(change.subscription_id(), "subscription_id");
    v.ThrowIfInvalid();
    db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      response->Clear();
      if (idempotency_.Begin(tx, store_id, "ChangeSubscription", change.request_id(), change,
                             response)) {
        return;
      }
      auto row = subscriptions_.Find(tx, store_id, change.subscription_id(), true);
      if (!row) throw SubscriptionNotFound("subscription_id");
      // A checkout placing the next renewal holds it (ClaimRenewal takes this lock too): it
      // finishes first, or is retried with its own order id, before the renewal can change.
      if (subscriptions_.RenewalInProgress(tx, store_id, row->subscription_id,
                                           row->terms.next_renewal_us)) {
        throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "RENEWAL_IN_PROGRESS",
                       "action: a checkout is placing the next renewal; retry once it is done",
                       {{"action", "a checkout is placing the next renewal"}});
      }
      const int64_t now = common::NowMicros();
      ApplyChange(row->terms, change.action(), now);
      if (row->terms.status == gateway::v1::SUBSCRIPTION_STATUS_CANCELLED &&
          row->cancelled_us == 0) {
        row->cancelled_us = now;
      }
      subscriptions_.SaveTerms(tx, *row);
      *response->mutable_subscription() = ToApi(*row);
      idempotency_.Finish(tx, store_id, "ChangeSubscription", change.request_id(), *response);
    });
  });
}

grpc::ServerUnaryReactor* CheckoutService::ListSubscriptions(
    grpc::CallbackServerContext* context, const v1::ListSubscriptionsRequest* request,
    gateway::v1::ListSubscriptionsResponse* response) {
  return host_.Serve(context, "ListSubscriptions", request->store().store_id(),
                     [=, this](const CallContext& call) {
    const std::string& store_id = request->store().store_id();
    Validator v;
    v.RequireId(store_id, "store_id");
    v.RequireId(request->list().customer_id(), "customer_id");
    v.ThrowIfInvalid();
    db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      response->Clear();
      for (const auto& row :
           subscriptions_.OfCustomer(tx, store_id, request->list().customer_id(), kListed)) {
        *response->add_subscriptions() = ToApi(row);
      }
    });
  });
}

grpc::ServerUnaryReactor* CheckoutService::SubscriptionReport(
    grpc::CallbackServerContext* context, const v1::SubscriptionReportRequest* request,
    gateway::v1::SubscriptionReportResponse* response) {
  return host_.Serve(context, "SubscriptionReport", request->store().store_id(),
                     [=, this](const CallContext& call) {
    const std::string& store_id = request->store().store_id();
    const auto& report = request->report();
    Validator v;
    v.RequireId(store_id, "store_id");
    common::CheckPeriod(v, report.has_from() ? &report.from() : nullptr,
                        report.has_to() ? &report.to() : nullptr, kMaxReportDays);
    v.ThrowIfInvalid();
    *response = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return subscriptions_.Report(tx, store_id, TimeUtil::TimestampToMicroseconds(report.from()),
                                   TimeUtil::TimestampToMicroseconds(report.to()));
    });
  });
}

grpc::ServerUnaryReactor* CheckoutService::AnnounceRenewals(
    grpc::CallbackServerContext* context, const v1::AnnounceRenewalsRequest* request,
    v1::AnnounceRenewalsResponse* response) {
  return host_.Serve(context, "AnnounceRenewals", request->store_id(),
                     [=, this](const CallContext& call) {
    const int64_t as_of = request->has_as_of()
                              ? TimeUtil::TimestampToMicroseconds(request->as_of())
                              : common::NowMicros();
    response->set_announced(AnnounceRenewalsDue(call, request->store_id(), as_of));
  });
}

int64_t CheckoutService::AnnounceRenewalsDue(const CallContext& call,
                                             const std::string& store_id, int64_t as_of_us) {
  int64_t announced = 0;
  for (;;) {
    // One transaction per page: the claim marks the page's renewals announced and the events go
    // with it, so a second run or a second replica finds nothing left to announce.
    const auto count = db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      const auto due = subscriptions_.ClaimDueAnnouncements(tx, store_id, as_of_us, kAnnouncePage);
      std::map<std::string, std::vector<const SubscriptionRow*>> by_store;  // AppendMany's unit
      for (const auto& row : due) by_store[row.store_id].push_back(&row);
      for (const auto& [store, rows] : by_store) {
        std::vector<v1::SubscriptionRenewalDue> events;
        events.reserve(rows.size());  // `pending` points into it
        std::vector<common::OutboxWriter::Pending> pending;
        for (const auto* row : rows) {
          events.push_back(EventOf(*row));
          pending.push_back(
              {"subscription/" + row->subscription_id, row->event_sequence, &events.back()});
        }
        outbox_.AppendMany(tx, store, "subscription.renewal_due", pending);
      }
      return static_cast<int64_t>(due.size());
    });
    announced += count;
    if (count < kAnnouncePage) return announced;
  }
}

bool CheckoutService::QuoteRenews(const CallContext& call, const std::string& store_id,
                                  const gateway::v1::Cart& cart) {
  if (cart.subscription_id().empty()) return false;
  auto row = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    return subscriptions_.Find(tx, store_id, cart.subscription_id(), false);
  });
  if (!row) throw SubscriptionNotFound("cart.subscription_id");
  CheckRenewal(row->terms, cart.customer_id(), common::NowMicros());
  return true;
}

}  // namespace loyalty::checkout
