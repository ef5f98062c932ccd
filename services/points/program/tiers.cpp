#include "program/tiers.hpp"

#include <google/protobuf/util/time_util.h>

#include "loyalty/common/money.hpp"
#include "loyalty/common/pricing.hpp"
#include "loyalty/common/time.hpp"
#include "program/settings.hpp"

namespace loyalty::points {

using common::ApiError;
using common::CallContext;
using common::NowMicros;
using common::Validator;
using google::protobuf::util::TimeUtil;

namespace {

// Customers a job transaction looks at.
constexpr int kBatch = 100;

google::protobuf::Timestamp Stamp(int64_t us) { return TimeUtil::MicrosecondsToTimestamp(us); }

int64_t Qualifying(const TierStore& tiers, pqxx::transaction_base& tx, const std::string& store_id,
                   const std::string& customer_id, const v1::TierProgram& program,
                   const absl::TimeZone& zone, int64_t at_us) {
  return tiers.Qualifying(tx, store_id, customer_id, program.measure(),
                          QualifyingWindow(program, zone, at_us));
}

}  // namespace

std::optional<TierSnapshot> Tiers::Read(pqxx::transaction_base& tx, const std::string& store_id,
                                        const std::string& customer_id,
                                        const v1::Settings& settings, int64_t at_us) const {
  auto version = tiers_.VersionAt(tx, store_id, at_us);
  if (!version) return std::nullopt;
  const auto& program = version->program();
  const auto zone = StoreZone(settings);
  const auto state = tiers_.ReadState(tx, store_id, customer_id).value_or(TierState{});
  TierSnapshot snap;
  snap.qualifying = Qualifying(tiers_, tx, store_id, customer_id, program, zone, at_us);
  const std::string in_force = TierInForce(state, at_us);
  snap.current =
      in_force.empty() ? ReachedTier(program, snap.qualifying) : TierIndex(program, in_force);
  snap.earn_bps = TierEarnBps(program, snap.current);
  auto& s = snap.status;
  if (snap.current >= 0) *s.mutable_tier() = program.tiers(snap.current);
  s.set_tier_version(version->version());
  s.set_measure(program.measure());
  if (program.measure() == v1::TIER_MEASURE_SPEND) s.set_currency_code(settings.currency_code());
  *s.mutable_progress() = Progress(program, snap.current, snap.qualifying);
  const bool manual = !state.manual_tier_id.empty() && in_force == state.manual_tier_id;
  s.set_manual(manual);
  if (manual) *s.mutable_manual_until() = Stamp(*state.manual_until_us);
  if (state.kept_until_us) *s.mutable_kept_until() = Stamp(*state.kept_until_us);
  if (!state.tier_id.empty()) *s.mutable_since() = Stamp(state.since_us);
  snap.version = std::move(*version);
  return snap;
}

v1::TierProgress Tiers::ProgressAfter(const TierSnapshot& tier, int64_t added) {
  // Saturating at the largest threshold a program may have, so the sum cannot overflow.
  return Progress(tier.version.program(), tier.current,
                  common::pricing::kMaxAmount - tier.qualifying < added
                      ? common::pricing::kMaxAmount
                      : tier.qualifying + added);
}

bool Tiers::Apply(pqxx::transaction_base& tx, const std::string& store_id,
                  const std::string& customer_id, const v1::Settings& settings,
                  const v1::TierVersion& version, const TierState& state, int64_t as_of_us,
                  TierTrigger trigger, const std::string& cause,
                  const std::string& order_id) const {
  const auto& program = version.program();
  const auto zone = StoreZone(settings);
  const int64_t qualifying = Qualifying(tiers_, tx, store_id, customer_id, program, zone, as_of_us);
  const auto decision = EvaluateTier(program, zone, state, qualifying, as_of_us, trigger, cause);
  tiers_.SaveState(tx, store_id, customer_id, decision.next);
  if (!decision.changed) return false;
  store_.AppendEvent(tx, store_id, "tier.changed", customer_id, order_id, 0,
                     {{"from", decision.from},
                      {"to", decision.to},
                      {"reason", decision.reason},
                      {"cause", cause},
                      {"tier_version", version.version()},
                      {"qualifying", qualifying},
                      {"manual", !decision.next.manual_tier_id.empty()}});
  return true;
}

void Tiers::OnOrder(pqxx::transaction_base& tx, const std::string& store_id,
                    const std::string& customer_id, const std::string& order_id, int64_t placed_us,
                    const std::vector<TierActivityLine>& lines,
                    const v1::Settings& settings) const {
  tiers_.InsertActivity(tx, store_id, customer_id, order_id, placed_us, lines);
  // Evaluated when the order is applied (an imported order counts in the window it fell in).
  const int64_t now = NowMicros();
  const auto version = tiers_.VersionAt(tx, store_id, now);
  if (!version) return;
  const auto state = tiers_.LockState(tx, store_id, customer_id);
  Apply(tx, store_id, customer_id, settings, *version, state, now, TierTrigger::kOrder,
        "order " + order_id, order_id);
}

void Tiers::OnRefund(pqxx::transaction_base& tx, const std::string& store_id,
                     const std::string& customer_id, const std::string& order_id,
                     const std::optional<std::map<std::string, int32_t>>& refunded_total,
                     const std::string& cause, const v1::Settings& settings) const {
  for (const auto& line : tiers_.LockOrderActivity(tx, store_id, order_id)) {
    int32_t refunded = line.quantity;
    if (refunded_total) {
      const auto found = refunded_total->find(line.line_id);
      if (found == refunded_total->end()) continue;
      refunded = std::min(found->second, line.quantity);
    }
    // The same cumulative shares as the clawback (OrderEvents::RefundLine).
    tiers_.SaveActivity(
        tx, store_id, order_id, line.line_id,
        line.net_minor - common::CumulativeShare(line.net_minor, refunded, line.quantity),
        line.earned_points - common::CumulativeShare(line.earned_points, refunded, line.quantity));
  }
  const int64_t now = NowMicros();
  const auto version = tiers_.VersionAt(tx, store_id, now);
  if (!version) return;
  const auto state = tiers_.LockState(tx, store_id, customer_id);
  Apply(tx, store_id, customer_id, settings, *version, state, now, TierTrigger::kRefund, cause,
        order_id);
}

int64_t Tiers::ReviewDue(const std::string& store_id, int64_t as_of_us) {
  const auto deadline = [] { return common::Clock::now() + std::chrono::seconds(30); };
  const std::string cause = "tier job as of " + TimeUtil::ToString(Stamp(as_of_us));
  int64_t changed = 0;
  for (;;) {
    const auto due = db_.Read(deadline(), [&](pqxx::transaction_base& tx) {
      return tiers_.Due(tx, store_id, as_of_us, kBatch);
    });
    int64_t moved_on = 0;  // customers no longer due after this batch
    changed += db_.Write(deadline(), [&](pqxx::transaction_base& tx) {
      int64_t n = 0;
      moved_on = 0;
      for (const auto& d : due) {
        const auto settings = store_.Settings(tx, d.store_id);
        const auto version = tiers_.VersionAt(tx, d.store_id, as_of_us);
        if (!settings || !version) continue;
        const auto state = tiers_.LockState(tx, d.store_id, d.customer_id);
        if (Apply(tx, d.store_id, d.customer_id, *settings, *version, state, as_of_us,
                  TierTrigger::kJob, cause, "")) {
          ++n;
        }
        ++moved_on;
      }
      return n;
    });
    // A short batch was the last; a batch that moved nobody on would come back unchanged.
    if (static_cast<int>(due.size()) < kBatch || moved_on == 0) return changed;
  }
}

void Tiers::RunTierJob(const CallContext& /*call*/, const v1::RunJobRequest* request,
                       v1::RunJobResponse* response) {
  const int64_t as_of =
      request->has_as_of() ? TimeUtil::TimestampToMicroseconds(request->as_of()) : NowMicros();
  response->set_processed(ReviewDue(request->store_id(), as_of));
}

void Tiers::PublishTiers(const CallContext& call, const v1::PublishTiersRequest* request,
                         v1::PublishTiersResponse* response) {
  Validator v;
  v.RequireId(request->store_id(), "store_id");
  v.RequireId(request->request_id(), "request_id");
  v.RequireId(request->author(), "author");
  v.Check(!request->reason().empty() && request->reason().size() <= 500, "reason",
          "is required, 1-500 bytes");
  v.ThrowIfInvalid();
  db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    if (idempotency_.Begin(tx, request->store_id(), "PublishTiers", request->request_id(), *request,
                           response)) {
      return;
    }
    // Earlier than now would change tiers already decided.
    const int64_t effective = common::EffectiveFromOrNow(
        request->has_effective_from() ? &request->effective_from() : nullptr);
    const auto settings = RequireSettings(store_, tx, request->store_id());
    Validator program_check;
    CheckTierProgram(program_check, request->program(), settings.currency_code(), "program.");
    program_check.ThrowIfInvalid();
    auto program = request->program();
    if (program.measure() == v1::TIER_MEASURE_SPEND) {
      program.set_currency_code(settings.currency_code());
    }
    *response->mutable_version() = tiers_.InsertVersion(tx, request->store_id(), effective, program,
                                                        request->author(), request->reason());
    idempotency_.Finish(tx, request->store_id(), "PublishTiers", request->request_id(), *response);
  });
}

void Tiers::ListTierVersions(const CallContext& call, const v1::ListTierVersionsRequest* request,
                             v1::ListTierVersionsResponse* response) {
  Validator v;
  v.RequireId(request->store_id(), "store_id");
  v.ThrowIfInvalid();
  for (auto& version : db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
         return tiers_.AllVersions(tx, request->store_id());
       })) {
    *response->add_versions() = std::move(version);
  }
}

void Tiers::ListTierMembers(const CallContext& call, const v1::ListTierMembersRequest* request,
                            v1::ListTierMembersResponse* response) {
  Validator v;
  v.RequireId(request->store_id(), "store_id");
  v.RequireId(request->tier_id(), "tier_id");
  if (request->has_as_of()) common::CheckTime(v, request->as_of(), "as_of");
  v.Check(request->page_size() >= 0 && request->page_size() <= 1000, "page_size",
          "must be 0 to 1,000");
  v.Check(request->page_token().size() <= 128, "page_token", "is not a token this service issued");
  v.ThrowIfInvalid();
  const int64_t as_of = request->has_as_of()
                            ? TimeUtil::TimestampToMicroseconds(request->as_of())
                            : NowMicros();
  const int limit = request->page_size() == 0 ? 100 : request->page_size();
  const auto holders = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    return tiers_.Holders(tx, request->store_id(), request->tier_id(), request->page_token(),
                          limit);
  });
  // The rows name the tier as earned or manual; the one rule of which is in force decides.
  for (const auto& [customer_id, state] : holders) {
    if (TierInForce(state, as_of) == request->tier_id()) response->add_customer_ids(customer_id);
  }
  if (static_cast<int>(holders.size()) == limit) {
    response->set_next_page_token(holders.back().first);
  }
}

void Tiers::SetManualTier(const CallContext& call, const v1::SetManualTierRequest* request,
                          v1::SetManualTierResponse* response) {
  const int64_t now = NowMicros();
  Validator v;
  v.RequireId(request->store_id(), "store_id");
  v.RequireId(request->request_id(), "request_id");
  v.RequireId(request->customer_id(), "customer_id");
  v.RequireId(request->tier_id(), "tier_id");
  v.RequireId(request->actor(), "actor");
  const auto& until_at = request->until();
  v.Check(request->has_until() && until_at.seconds() > now / 1000000 &&
              until_at.seconds() <= TimeUtil::kTimestampMaxSeconds && until_at.nanos() >= 0 &&
              until_at.nanos() <= 999'999'999,
          "until", "is required, in the future");
  v.Check(!request->reason().empty() && request->reason().size() <= 500, "reason",
          "is required, 1-500 bytes");
  v.ThrowIfInvalid();
  const int64_t until = TimeUtil::TimestampToMicroseconds(request->until());
  db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    const std::string& store_id = request->store_id();
    const std::string& customer_id = request->customer_id();
    if (idempotency_.Begin(tx, store_id, "SetManualTier", request->request_id(), *request,
                           response)) {
      return;
    }
    const auto settings = RequireSettings(store_, tx, store_id);
    const auto version = tiers_.VersionAt(tx, store_id, now);
    if (!version) {
      throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "TIERS_NOT_CONFIGURED",
                     "the store has no tiers in force; PublishTiers first");
    }
    if (TierIndex(version->program(), request->tier_id()) < 0) {
      throw common::InvalidField("tier_id", "is not a tier of the program in force");
    }
    auto state = tiers_.LockState(tx, store_id, customer_id);
    const std::string from = TierInForce(state, now);
    state.manual_tier_id = request->tier_id();
    state.manual_until_us = until;
    state.manual_by = request->actor();
    state.manual_reason = request->reason();
    tiers_.SaveState(tx, store_id, customer_id, state);
    store_.AppendEvent(
        tx, store_id, "tier.changed", customer_id, "", 0,
        {{"from", from},
         {"to", request->tier_id()},
         {"reason", "set by " + request->actor() + " until " +
                        TimeUtil::ToString(request->until()) + ": " + request->reason()},
         {"cause", "manual"},
         {"tier_version", version->version()},
         {"manual", true}});
    *response->mutable_status() = Read(tx, store_id, customer_id, settings, now)->status;
    idempotency_.Finish(tx, store_id, "SetManualTier", request->request_id(), *response);
  });
}

}  // namespace loyalty::points
