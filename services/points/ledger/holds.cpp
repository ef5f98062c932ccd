// Two-phase redemption (reserve, commit, void) and the ending of holds.
#include "ledger/holds.hpp"

#include <google/protobuf/util/time_util.h>

#include <random>

#include "ledger/ledger.hpp"
#include "ledger/pg_ledger_store.hpp"
#include "loyalty/common/money.hpp"
#include "loyalty/common/time.hpp"
#include "program/settings.hpp"

namespace loyalty::points {

using common::ApiError;
using common::CallContext;
using common::Validator;
using google::protobuf::util::TimeUtil;

namespace {

using common::NowMicros;

std::string NewHoldId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string id = "hold_";
  for (int i = 0; i < 24; ++i) id += kHex[rng() & 0xf];
  return id;
}

v1::HoldState StateOf(const std::string& s) {
  if (s == "active") return v1::HOLD_STATE_ACTIVE;
  if (s == "committed") return v1::HOLD_STATE_COMMITTED;
  if (s == "voided") return v1::HOLD_STATE_VOIDED;
  if (s == "expired") return v1::HOLD_STATE_EXPIRED;
  return v1::HOLD_STATE_UNSPECIFIED;
}

ApiError HoldNotFound(const std::string& hold_id) {
  return ApiError(grpc::StatusCode::NOT_FOUND, "HOLD_NOT_FOUND", "no hold " + hold_id);
}

v1::Hold ToHold(const HoldRow& row) {
  v1::Hold hold;
  hold.set_hold_id(row.hold_id);
  hold.set_customer_id(row.customer_id);
  hold.set_order_id(row.order_id);
  hold.set_points(row.points);
  hold.set_value_minor(row.value_minor);
  hold.set_state(StateOf(row.state));
  *hold.mutable_expires_at() = TimeUtil::MicrosecondsToTimestamp(row.expires_at_us);
  hold.set_reward_id(row.reward_id);
  hold.set_reward_points(row.reward_points);
  return hold;
}


}  // namespace

bool Holds::AbandonOrder(const CallContext& call, const std::string& store_id,
                         const std::string& order_id) const {
  orders::v1::AbandonOrderRequest request;
  request.set_store_id(store_id);
  request.set_order_id(order_id);
  orders::v1::AbandonOrderResponse response;
  const auto status =
      orders_.AbandonOrder(common::DownstreamContext(call).get(), request, &response);
  if (!status.ok()) {
    throw ApiError(grpc::StatusCode::UNAVAILABLE, "ORDERS_UNAVAILABLE",
                   "cannot confirm with the orders service that the order will never exist; retry");
  }
  return response.abandoned();
}

bool Holds::ReleaseHold(pqxx::transaction_base& tx, const std::string& store_id,
                        const HoldRow& hold, const std::string& state) const {
  PgLedgerStore rows(tx, store_, store_id);
  CustomerLedger ledger(rows, hold.customer_id);
  if (!ledger.ReturnHold(hold, state)) return false;
  ledger.Save();
  if (!hold.reward_id.empty()) rewards_.ReturnUnit(tx, store_id, hold.reward_id);
  return true;
}

v1::Reward Holds::TakeReward(pqxx::transaction_base& tx, const std::string& store_id,
                             const std::string& customer_id, const std::string& reward_id,
                             const v1::Settings& settings) const {
  auto reward = rewards_.LockCurrent(tx, store_id, reward_id);
  if (!reward) throw RewardNotFound("reward_id");
  const int64_t now = NowMicros();
  const auto tier = tiers_.Read(tx, store_id, customer_id, settings, now);
  const auto refusal = CheckRedeemable(reward->definition(), reward->redeemed(),
                                       tier ? TierViewOf(tier->status) : RewardTierView{}, now);
  if (refusal != RewardRefusal::kNone) throw RefusalError(refusal, "reward_id");
  // The row is locked and the stock checked: this cannot fail but a CHECK would catch it.
  if (!rewards_.TakeUnit(tx, store_id, reward_id)) {
    throw RefusalError(RewardRefusal::kOutOfStock, "reward_id");
  }
  return *reward;
}

void Holds::ReserveRedemption(const CallContext& call, const v1::ReserveRedemptionRequest* request,
                              v1::ReserveRedemptionResponse* response) {
  Validator v;
  v.RequireId(request->store_id(), "store_id");
  v.RequireId(request->request_id(), "request_id");
  v.RequireId(request->customer_id(), "customer_id");
  v.RequireId(request->order_id(), "order_id");
  const bool redeems_reward = !request->reward_id().empty();
  if (redeems_reward) v.RequireId(request->reward_id(), "reward_id");
  v.Check(request->points() >= (redeems_reward ? 0 : 1) && request->points() <= 1'000'000'000'000,
          "points", redeems_reward ? "must be 0 to 1,000,000,000,000" : "must be positive");
  v.ThrowIfInvalid();
  db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    if (idempotency_.Begin(tx, request->store_id(), "ReserveRedemption", request->request_id(),
                           *request, response)) {
      return;
    }
    const auto settings = RequireSettings(store_, tx, request->store_id());
    // Lock order everywhere: the customer's balance, then the hold, then the reward.
    PgLedgerStore rows(tx, store_, request->store_id());
    CustomerLedger ledger(rows, request->customer_id());
    int64_t reward_points = 0;
    if (redeems_reward) {
      reward_points = TakeReward(tx, request->store_id(), request->customer_id(),
                                 request->reward_id(), settings)
                          .definition()
                          .points_cost();
    }
    const int64_t total = request->points() + reward_points;
    if (ledger.balance().available < total) {
      const char* field = request->points() > 0 ? "points" : "reward_id";
      throw ApiError(
          grpc::StatusCode::FAILED_PRECONDITION, "INSUFFICIENT_POINTS",
          "the customer has " + std::to_string(ledger.balance().available) + " points available",
          {{field, "is more than the customer's available points"}});
    }
    HoldRow hold{NewHoldId(),
                 request->customer_id(),
                 request->order_id(),
                 total,
                 common::PointsValue(request->points(), settings.redeem_points(),
                                     settings.redeem_value_minor()),
                 "active",
                 NowMicros() + int64_t{settings.hold_ttl_seconds()} * 1000000,
                 request->reward_id(),
                 reward_points};
    store_.InsertHold(tx, request->store_id(), hold);
    TransferRow meta;
    meta.kind = "reserve";
    meta.order_id = hold.order_id;
    meta.reason = "hold " + hold.hold_id;
    meta.request_id = request->request_id();
    ledger.Spend(hold.points, "held", meta, [&](const std::string& lot_id, int64_t points) {
      store_.InsertHoldLot(tx, request->store_id(), hold.hold_id, lot_id, points);
    });
    ledger.Save();
    nlohmann::json details = {{"hold_id", hold.hold_id}};
    if (redeems_reward) details["reward_id"] = hold.reward_id;
    store_.AppendEvent(tx, request->store_id(), "redemption.reserved", hold.customer_id,
                       hold.order_id, hold.points, details);
    *response->mutable_hold() = ToHold(hold);
    idempotency_.Finish(tx, request->store_id(), "ReserveRedemption", request->request_id(),
                        *response);
  });
}

void Holds::CommitRedemption(const CallContext& call, const v1::CommitRedemptionRequest* request,
                             v1::CommitRedemptionResponse* response) {
  Validator v;
  v.RequireId(request->store_id(), "store_id");
  v.RequireId(request->hold_id(), "hold_id");
  v.ThrowIfInvalid();
  db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    auto hold = store_.ReadHold(tx, request->store_id(), request->hold_id());
    if (!hold) throw HoldNotFound(request->hold_id());
    // Lock order everywhere: the customer's balance, then the hold.
    PgLedgerStore rows(tx, store_, request->store_id());
    CustomerLedger ledger(rows, hold->customer_id);
    const int64_t held_before = ledger.balance().held;
    hold = ledger.CommitHold(hold->hold_id, hold->order_id);
    if (hold->state != "committed") {
      throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "HOLD_ENDED",
                     "the hold was already " + hold->state);
    }
    if (ledger.balance().held != held_before) ledger.Save();  // a repeated commit writes nothing
    *response->mutable_hold() = ToHold(*hold);
  });
}

void Holds::VoidRedemption(const CallContext& call, const v1::VoidRedemptionRequest* request,
                           v1::VoidRedemptionResponse* response) {
  Validator v;
  v.RequireId(request->store_id(), "store_id");
  v.RequireId(request->hold_id(), "hold_id");
  v.ThrowIfInvalid();
  auto hold = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    return store_.ReadHold(tx, request->store_id(), request->hold_id());
  });
  if (!hold) throw HoldNotFound(request->hold_id());
  if (hold->state == "active" && !AbandonOrder(call, request->store_id(), hold->order_id)) {
    throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "ORDER_EXISTS",
                   "order " + hold->order_id + " names this hold; its event will commit it");
  }
  db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    const bool released = ReleaseHold(tx, request->store_id(), *hold, "voided");
    auto after = store_.ReadHold(tx, request->store_id(), request->hold_id());
    // Voiding a voided hold answers as the first void did; any other end is final.
    if (!released && after->state != "voided") {
      throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "HOLD_ENDED",
                     "the hold was already " + after->state);
    }
    *response->mutable_hold() = ToHold(*after);
  });
}

}  // namespace loyalty::points
