// Member actions: what each earns is a setting; each earns once per its ledger key, so a replay
// (the same request_id, or the same key under a new request_id) earns nothing twice.
#include "program/actions.hpp"

#include "ledger/balances.hpp"
#include "ledger/pg_ledger_store.hpp"
#include "lot_key.hpp"
#include "loyalty/common/calendar.hpp"
#include "loyalty/common/time.hpp"
#include "program/settings.hpp"

namespace loyalty::points {

using common::ApiError;
using common::CallContext;
using common::Validator;

namespace {

ApiError Refused(const std::string& reason, const std::string& message) {
  return ApiError(grpc::StatusCode::FAILED_PRECONDITION, reason, message);
}

ApiError AlreadyRewarded(const std::string& message) {
  return ApiError(grpc::StatusCode::ALREADY_EXISTS, "ACTION_ALREADY_REWARDED", message);
}

const char* PeriodName(v1::ActionPeriod period) {
  switch (period) {
    case v1::ACTION_PERIOD_DAY:
      return "day";
    case v1::ACTION_PERIOD_WEEK:
      return "week";
    case v1::ACTION_PERIOD_YEAR:
      return "year";
    default:
      return "month";
  }
}

}  // namespace

bool CreditAction(pqxx::transaction_base& tx, const PointsStore& store, const ActionStore& actions,
                  const std::string& store_id, const v1::Settings& settings, CustomerLedger& ledger,
                  const ActionCredit& credit) {
  if (!actions.Record(tx, store_id, credit.lot_id, ledger.customer_id(), credit.action,
                      credit.points, credit.occurred_us)) {
    return false;
  }
  // Like an adjustment: a lot of its own, available now, expiring like any other points.
  const int64_t now = common::NowMicros();
  LotRow lot;
  lot.lot_id = credit.lot_id;
  lot.customer_id = ledger.customer_id();
  lot.kind = kActionLot;
  lot.available_at_us = now;
  if (settings.expiry_months() > 0) lot.expires_at_us = AddMonths(now, settings.expiry_months());
  store.InsertLot(tx, store_id, lot);
  TransferRow meta;
  meta.kind = "action";
  meta.reason = credit.reason;
  meta.request_id = credit.request_id;
  ledger.CreditAvailable(lot, "issued", credit.points, meta);
  store.SaveLot(tx, store_id, lot);
  store.AppendEvent(tx, store_id, "points.action", ledger.customer_id(), "", credit.points,
                    {{"action", credit.action}, {"reason", credit.reason}});
  return true;
}

customers::v1::Customer Actions::GetCustomer(const CallContext& call, const std::string& store_id,
                                             const std::string& customer_id) const {
  customers::v1::GetCustomerRequest request;
  request.set_store_id(store_id);
  request.set_customer_id(customer_id);
  customers::v1::GetCustomerResponse response;
  const auto status =
      ctx_.customers->GetCustomer(common::DownstreamContext(call).get(), request, &response);
  if (!status.ok()) common::ThrowDownstream(status, "customers");
  if (response.customer().erased()) {
    throw Refused("CUSTOMER_ERASED", "customer " + customer_id + " was erased");
  }
  return response.customer();
}

std::string Actions::Referrer(const CallContext& call, const v1::RecordActionRequest& request,
                              const customers::v1::Customer& referee) const {
  const std::string& code =
      request.referral_code().empty() ? referee.referred_by_code() : request.referral_code();
  if (code.empty()) {
    throw common::InvalidField("referral_code", "is required: the customer registered without one");
  }
  customers::v1::LookupReferralCodeRequest lookup;
  lookup.set_store_id(request.store_id());
  lookup.set_referral_code(code);
  customers::v1::LookupReferralCodeResponse owner;
  const auto status =
      ctx_.customers->LookupReferralCode(common::DownstreamContext(call).get(), lookup, &owner);
  if (!status.ok()) common::ThrowDownstream(status, "customers");
  const auto self = Refused("SELF_REFERRAL", "a customer cannot refer themselves");
  if (owner.customer_id() == referee.customer_id()) throw self;
  const auto referrer = GetCustomer(call, request.store_id(), owner.customer_id());
  if (!referee.email().empty() && MailboxOf(referrer.email()) == MailboxOf(referee.email())) {
    throw self;
  }
  return owner.customer_id();
}

void Actions::RequirePurchased(const CallContext& call,
                               const v1::RecordActionRequest& request) const {
  orders::v1::GetOrderRequest get;
  get.set_store_id(request.store_id());
  get.set_order_id(request.order_id());
  orders::v1::GetOrderResponse got;
  const auto status = ctx_.orders->GetOrder(common::DownstreamContext(call).get(), get, &got);
  if (!status.ok()) common::ThrowDownstream(status, "orders");
  const auto& order = got.order();
  bool bought = order.customer_id() == request.customer_id() &&
                order.status() != orders::v1::ORDER_STATUS_CANCELLED;
  bool has_line = false;
  for (const auto& line : order.lines()) has_line |= line.line().line_id() == request.line_id();
  if (!bought || !has_line) {
    throw ApiError(
        grpc::StatusCode::FAILED_PRECONDITION, "NOT_PURCHASED",
        "the customer did not buy line " + request.line_id() + " of order " + request.order_id(),
        {{"line_id", "is not a line this customer bought"}});
  }
}

void Actions::RecordAction(const CallContext& call, const v1::RecordActionRequest* request,
                           v1::RecordActionResponse* response) {
  Validator v;
  v.RequireId(request->store_id(), "store_id");
  v.RequireId(request->request_id(), "request_id");
  v.RequireId(request->customer_id(), "customer_id");
  const auto kind = request->kind();
  v.Check(kind != v1::ACTION_KIND_UNSPECIFIED && v1::ActionKind_IsValid(kind), "kind",
          "must be SIGNUP, SOCIAL_SHARE, PRODUCT_REVIEW or REFERRAL");
  if (kind == v1::ACTION_KIND_SOCIAL_SHARE) {
    v.Check(!request->share_reference().empty() && request->share_reference().size() <= 512,
            "share_reference", "is required (at most 512 characters)");
  }
  if (kind == v1::ACTION_KIND_PRODUCT_REVIEW) {
    v.RequireId(request->order_id(), "order_id");
    v.RequireId(request->line_id(), "line_id");
  }
  if (kind == v1::ACTION_KIND_REFERRAL) {
    v.Check(request->referral_code().size() <= 64, "referral_code", "at most 64 characters");
  }
  v.ThrowIfInvalid();

  // Who acted, from the services that know, before the transaction (no call holds a lock).
  const auto customer = GetCustomer(call, request->store_id(), request->customer_id());
  std::string referrer;
  if (kind == v1::ACTION_KIND_REFERRAL) referrer = Referrer(call, *request, customer);
  if (kind == v1::ACTION_KIND_PRODUCT_REVIEW) RequirePurchased(call, *request);

  db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    const std::string& store_id = request->store_id();
    if (idempotency_.Begin(tx, store_id, "RecordAction", request->request_id(), *request,
                           response)) {
      return;
    }
    const auto settings = RequireSettings(store_, tx, store_id);
    const auto& a = settings.actions();
    PgLedgerStore rows(tx, store_, store_id);
    CustomerLedger ledger(rows, request->customer_id());  // the customer's lock: caps hold
    const int64_t now = common::NowMicros();
    ActionCredit credit;
    credit.request_id = request->request_id();
    credit.occurred_us = now;
    switch (kind) {
      case v1::ACTION_KIND_SIGNUP:
        credit.lot_id = LotId(kActionLot, {"signup", request->customer_id()});
        credit.action = "signup";
        credit.points = a.signup_points();
        credit.reason = "signup";
        break;
      case v1::ACTION_KIND_SOCIAL_SHARE: {
        credit.lot_id = LotId(kActionLot, {"share", request->share_reference()});
        credit.action = "share";
        credit.points = a.share_points();
        credit.reason = "social share " + request->share_reference();
        if (credit.points > 0 && actions_.Rewarded(tx, store_id, credit.lot_id)) {
          throw AlreadyRewarded("share " + request->share_reference() + " was rewarded before");
        }
        const auto today = common::LocalDateAt(tx, now, settings.time_zone());
        const auto period = PeriodOf(today, a.share_period());
        const int64_t shares = actions_.CountInPeriod(tx, store_id, request->customer_id(), "share",
                                                      period, settings.time_zone());
        if (credit.points > 0 && !UnderCap(shares, a.share_cap())) {
          throw Refused("ACTION_CAP_REACHED",
                        "at most " + std::to_string(a.share_cap()) + " shares earn points per " +
                            PeriodName(a.share_period()) + "; this one earns none");
        }
        break;
      }
      case v1::ACTION_KIND_PRODUCT_REVIEW:
        credit.lot_id = LotId(kActionLot, {"review", request->order_id(), request->line_id()});
        credit.action = "review";
        credit.points = a.review_points();
        credit.reason = "review of line " + request->line_id() + " of order " + request->order_id();
        break;
      default: {  // REFERRAL: recorded now, rewarded with the referee's first order
        if (a.referrer_points() == 0 && a.referee_points() == 0) {
          throw Refused("ACTION_NOT_OFFERED", "the store rewards no referrals");
        }
        const auto first = actions_.FirstOrderState(tx, store_id, request->customer_id());
        if (first && *first != "waiting") {
          throw Refused("REFERRAL_TOO_LATE",
                        "the customer's first order is past its return window");
        }
        if (!actions_.InsertReferral(tx, store_id, request->customer_id(), referrer)) {
          if (actions_.ReferrerOf(tx, store_id, request->customer_id()) == referrer) {
            throw AlreadyRewarded("this referral was recorded before");
          }
          throw AlreadyRewarded("the customer was referred by someone else before");
        }
        store_.AppendEvent(tx, store_id, "referral.recorded", request->customer_id(), "", 0,
                           {{"referrer_id", referrer}});
        response->set_reason("referral by " + referrer);
        FillBalance(ledger.balance(), &settings, request->customer_id(),
                    response->mutable_balance());
        idempotency_.Finish(tx, store_id, "RecordAction", request->request_id(), *response);
        return;
      }
    }
    if (credit.points == 0) {
      throw Refused("ACTION_NOT_OFFERED", "the store gives no points for " + credit.action);
    }
    if (!CreditAction(tx, store_, actions_, store_id, settings, ledger, credit)) {
      throw AlreadyRewarded(credit.reason + " was rewarded before");
    }
    ledger.Save();
    response->set_points(credit.points);
    response->set_reason(credit.reason);
    FillBalance(ledger.balance(), &settings, request->customer_id(), response->mutable_balance());
    idempotency_.Finish(tx, store_id, "RecordAction", request->request_id(), *response);
  });
}

}  // namespace loyalty::points
