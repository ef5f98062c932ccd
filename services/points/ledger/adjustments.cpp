// Manual adjustments: a credit is a lot of its own, a debit is spent like a redemption.
#include "ledger/adjustments.hpp"

#include "ledger/ledger.hpp"
#include "ledger/pg_ledger_store.hpp"
#include "lot_key.hpp"
#include "loyalty/common/money.hpp"
#include "loyalty/common/time.hpp"
#include "program/settings.hpp"

namespace loyalty::points {

using common::ApiError;
using common::CallContext;
using common::NowMicros;
using common::Validator;

void Adjustments::AdjustPoints(const CallContext& call, const v1::AdjustPointsRequest* request,
                               v1::AdjustPointsResponse* response) {
  Validator v;
  v.RequireId(request->store_id(), "store_id");
  v.RequireId(request->request_id(), "request_id");
  v.RequireId(request->customer_id(), "customer_id");
  v.Check(request->points() != 0 && request->points() >= -1'000'000'000'000 &&
              request->points() <= 1'000'000'000'000,
          "points", "must be non-zero");
  v.Check(!request->reason().empty() && request->reason().size() <= 500, "reason",
          "is required (at most 500 characters)");
  v.ThrowIfInvalid();
  db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    if (idempotency_.Begin(tx, request->store_id(), "AdjustPoints", request->request_id(), *request,
                           response)) {
      return;
    }
    const auto settings = RequireSettings(store_, tx, request->store_id());
    PgLedgerStore rows(tx, store_, request->store_id());
    CustomerLedger ledger(rows, request->customer_id());
    TransferRow meta;
    meta.kind = "adjust";
    meta.reason = request->reason();
    meta.request_id = request->request_id();
    if (request->points() > 0) {
      LotRow lot;
      lot.lot_id = LotId(kAdjustLot, {request->request_id()});
      lot.customer_id = request->customer_id();
      lot.kind = kAdjustLot;
      const int64_t now = NowMicros();
      lot.available_at_us = now;
      if (settings.expiry_months() > 0)
        lot.expires_at_us = AddMonths(now, settings.expiry_months());
      store_.InsertLot(tx, request->store_id(), lot);
      ledger.CreditAvailable(lot, "issued", request->points(), meta);
      store_.SaveLot(tx, request->store_id(), lot);
    } else {
      if (ledger.balance().available < -request->points()) {
        throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "INSUFFICIENT_POINTS",
                       "cannot remove more than the available points",
                       {{"points", "is more than the customer's available points"}});
      }
      ledger.Spend(-request->points(), "issued", meta);
    }
    ledger.Save();
    store_.AppendEvent(tx, request->store_id(), "points.adjusted", request->customer_id(), "",
                       request->points(), {{"reason", request->reason()}});
    auto* b = response->mutable_balance();
    b->set_customer_id(request->customer_id());
    b->set_pending(ledger.balance().pending);
    b->set_available(ledger.balance().available);
    b->set_held(ledger.balance().held);
    b->set_debt(-ledger.balance().debt);
    b->set_available_value_minor(common::PointsValue(
        ledger.balance().available, settings.redeem_points(), settings.redeem_value_minor()));
    idempotency_.Finish(tx, request->store_id(), "AdjustPoints", request->request_id(), *response);
  });
}

}  // namespace loyalty::points
