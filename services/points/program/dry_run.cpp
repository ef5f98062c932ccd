#include "program/dry_run.hpp"

#include "earn_rules.hpp"
#include "loyalty/common/time.hpp"
#include "program/earn_replay.hpp"
#include "program/reward_replay.hpp"
#include "program/reward_rules.hpp"
#include "program/settings.hpp"
#include "program/tier_replay.hpp"

namespace loyalty::points {

using common::CallContext;
using common::Validator;

namespace {
constexpr int64_t kMaxDays = 366;
constexpr int kPageSize = 5000;  // orders per ListPlacedOrders page (it also caps lines)
}  // namespace

void DryRun::DryRunEarnRules(const CallContext& call, const v1::DryRunEarnRulesRequest* request,
                             v1::DryRunEarnRulesResponse* response) const {
  Validator v;
  v.RequireId(request->store_id(), "store_id");
  CheckRules(v, request->draft(), "draft.");
  common::CheckPeriod(v, request->has_from() ? &request->from() : nullptr,
                      request->has_to() ? &request->to() : nullptr, kMaxDays);
  v.Check(request->top_customers() >= 0 && request->top_customers() <= 100, "top_customers",
          "must be 0 to 100");
  v.ThrowIfInvalid();
  const std::string& store_id = request->store_id();
  auto [settings, versions] = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    return std::make_pair(RequireSettings(store_, tx, store_id), store_.AllRules(tx, store_id));
  });
  EarnReplay replay(std::move(settings), std::move(versions), request->draft());

  orders::v1::ListPlacedOrdersRequest page;
  page.set_store_id(store_id);
  *page.mutable_from() = request->from();
  *page.mutable_to() = request->to();
  page.set_page_size(kPageSize);
  do {
    orders::v1::ListPlacedOrdersResponse orders;
    const auto status =
        orders_.ListPlacedOrders(common::DownstreamContext(call).get(), page, &orders);
    if (!status.ok()) common::ThrowDownstream(status, "orders");
    for (const auto& order : orders.orders()) replay.Add(order);
    page.set_page_token(orders.next_page_token());
  } while (!page.page_token().empty());
  const int top = request->top_customers() == 0 ? 10 : request->top_customers();
  *response->mutable_report() = replay.Report(top);
}

void DryRun::DryRunTiers(const CallContext& call, const v1::DryRunTiersRequest* request,
                         v1::DryRunTiersResponse* response) const {
  using google::protobuf::util::TimeUtil;
  const std::string& store_id = request->store_id();
  const int64_t now = common::NowMicros();
  int64_t as_of = now;
  Validator v;
  v.RequireId(store_id, "store_id");
  if (request->has_as_of() && common::CheckTime(v, request->as_of(), "as_of")) {
    as_of = TimeUtil::TimestampToMicroseconds(request->as_of());
    v.Check(as_of <= now, "as_of", "must not be in the future");
  }
  v.ThrowIfInvalid();
  db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    const auto settings = RequireSettings(store_, tx, store_id);
    Validator draft_checks;  // the thresholds' currency is the store's
    CheckTierProgram(draft_checks, request->draft(), settings.currency_code(), "draft.");
    draft_checks.ThrowIfInvalid();
    const auto zone = StoreZone(settings);
    const auto& draft = request->draft();
    const auto published = tiers_.VersionAt(tx, store_id, as_of);
    const v1::TierProgram* program = published ? &published->program() : nullptr;
    const auto window_draft = QualifyingWindow(draft, zone, as_of);
    const auto standings = tiers_.Standings(
        tx, store_id, program ? program->measure() : draft.measure(),
        program ? QualifyingWindow(*program, zone, as_of) : window_draft, draft.measure(),
        window_draft);
    auto* report = response->mutable_report();
    *report = ReplayTiers(program, draft, standings, as_of);
    report->set_tier_version_now(published ? published->version() : 0);
  });
}

void DryRun::DryRunReward(const CallContext& call, const v1::DryRunRewardRequest* request,
                          v1::DryRunRewardResponse* response) const {
  using google::protobuf::util::TimeUtil;
  Validator v;
  v.RequireId(request->store_id(), "store_id");
  v.RequireId(request->reward_id(), "reward_id");
  CheckRewardDefinition(v, request->draft(), "draft.");
  common::CheckPeriod(v, request->has_from() ? &request->from() : nullptr,
                      request->has_to() ? &request->to() : nullptr, kMaxDays);
  v.ThrowIfInvalid();
  const auto redemptions = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    if (rewards_.Current(tx, request->store_id(), request->reward_id()).empty()) {
      throw RewardNotFound("reward_id");
    }
    return rewards_.RedemptionsIn(tx, request->store_id(), request->reward_id(),
                                  TimeUtil::TimestampToMicroseconds(request->from()),
                                  TimeUtil::TimestampToMicroseconds(request->to()));
  });
  *response->mutable_report() =
      ReplayRedemptions(request->draft(), redemptions.before, redemptions.in_period);
}

}  // namespace loyalty::points
