#include "ledger/balances.hpp"

#include <google/protobuf/util/time_util.h>

#include <limits>

#include "loyalty/common/money.hpp"
#include "loyalty/common/page_token.hpp"
#include "loyalty/common/time.hpp"

namespace loyalty::points {

using common::ApiError;
using common::CallContext;
using common::Validator;
using google::protobuf::util::TimeUtil;

namespace {
void RequireStore(Validator& v, const std::string& store_id) { v.RequireId(store_id, "store_id"); }
}  // namespace

void FillBalance(const BalanceRow& balance, const v1::Settings* settings,
                 const std::string& customer_id, v1::Balance* out) {
  out->set_customer_id(customer_id);
  out->set_pending(balance.pending);
  out->set_available(balance.available);
  out->set_held(balance.held);
  out->set_debt(-balance.debt);
  out->set_available_value_minor(settings ? common::PointsValue(balance.available,
                                                                settings->redeem_points(),
                                                                settings->redeem_value_minor())
                                          : 0);
}

void Balances::GetBalance(const CallContext& call, const v1::GetBalanceRequest* request,
                          v1::GetBalanceResponse* response) {
  Validator v;
  RequireStore(v, request->store_id());
  v.RequireId(request->customer_id(), "customer_id");
  v.ThrowIfInvalid();
  db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    const auto settings = store_.Settings(tx, request->store_id());
    const auto balance =
        store_.ReadBalance(tx, request->store_id(), request->customer_id()).value_or(BalanceRow{});
    FillBalance(balance, settings ? &*settings : nullptr, request->customer_id(),
                response->mutable_balance());
    if (settings) {
      const auto tier = tiers_.Read(tx, request->store_id(), request->customer_id(), *settings,
                                    common::NowMicros());
      if (tier) *response->mutable_tier() = tier->status;
    }
    for (const auto& lot :
         store_.SpendableLots(tx, request->store_id(), request->customer_id(), false, 5)) {
      auto* out = response->add_expiring_soonest();
      out->set_lot_id(lot.lot_id);
      out->set_order_id(lot.order_id);
      out->set_line_id(lot.line_id);
      out->set_earned(lot.earned);
      out->set_pending(lot.pending);
      out->set_available(lot.available);
      out->set_rule_version(lot.rule_version);
      if (lot.available_at_us) {
        *out->mutable_available_at() = TimeUtil::MicrosecondsToTimestamp(*lot.available_at_us);
      }
      if (lot.expires_at_us) {
        *out->mutable_expires_at() = TimeUtil::MicrosecondsToTimestamp(*lot.expires_at_us);
      }
    }
    return 0;
  });
}

void Balances::ListLedger(const CallContext& call, const v1::ListLedgerRequest* request,
                          v1::ListLedgerResponse* response) {
  Validator v;
  RequireStore(v, request->store_id());
  v.RequireId(request->customer_id(), "customer_id");
  v.Check(request->page_size() >= 0 && request->page_size() <= 500, "page_size",
          "must be 0 to 500");
  int64_t before = std::numeric_limits<int64_t>::max();
  if (!request->page_token().empty()) {
    const auto token = common::page_token::ParseInt(request->page_token());
    if (v.Check(token.has_value(), "page_token", "is not a token this service issued")) {
      before = *token;
    }
  }
  v.ThrowIfInvalid();
  const int size = request->page_size() == 0 ? 100 : request->page_size();
  auto page = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    return store_.Ledger(tx, request->store_id(), request->customer_id(), before, size + 1);
  });
  const bool more = static_cast<int>(page.size()) > size;
  if (more) page.pop_back();
  if (more) response->set_next_page_token(std::to_string(page.back().transfer_id()));
  for (auto& t : page) *response->add_transfers() = std::move(t);
}

}  // namespace loyalty::points
