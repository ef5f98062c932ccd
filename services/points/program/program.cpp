#include "program/program.hpp"

#include <google/protobuf/util/time_util.h>

#include "earn_rules.hpp"
#include "ledger/balances.hpp"
#include "loyalty/common/time.hpp"
#include "program/settings.hpp"

namespace loyalty::points {

using common::ApiError;
using common::CallContext;
using common::NowMicros;
using common::Validator;
using google::protobuf::util::TimeUtil;

namespace {
void RequireStore(Validator& v, const std::string& store_id) { v.RequireId(store_id, "store_id"); }

// A version's author and reason: both optional for settings and earn rules (older clients send
// neither), the reason at most 500 bytes.
void CheckWritten(Validator& v, const std::string& author, const std::string& reason) {
  if (!author.empty()) v.RequireId(author, "author");
  v.Check(reason.size() <= 500, "reason", "at most 500 bytes");
}
}  // namespace

void Program::UpdateSettings(const CallContext& call, const v1::UpdateSettingsRequest* request,
                             v1::UpdateSettingsResponse* response) {
  Validator v;
  RequireStore(v, request->store_id());
  v.RequireId(request->request_id(), "request_id");
  CheckSettings(v, request->settings(), "settings.");
  CheckWritten(v, request->author(), request->reason());
  v.ThrowIfInvalid();
  db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    if (idempotency_.Begin(tx, request->store_id(), "UpdateSettings", request->request_id(),
                           *request, response)) {
      return;
    }
    *response->mutable_settings() =
        store_.InsertSettings(tx, request->store_id(), request->settings(),
                              {request->author(), request->reason()});
    idempotency_.Finish(tx, request->store_id(), "UpdateSettings", request->request_id(),
                        *response);
  });
}

void Program::GetSettings(const CallContext& call, const v1::GetSettingsRequest* request,
                          v1::GetSettingsResponse* response) {
  Validator v;
  RequireStore(v, request->store_id());
  if (!request->customer_id().empty()) v.RequireId(request->customer_id(), "customer_id");
  v.ThrowIfInvalid();
  db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    *response->mutable_settings() = RequireSettings(store_, tx, request->store_id());
    if (request->include_rewards()) {
      for (auto& reward : rewards_.Current(tx, request->store_id(), "")) {
        if (!reward.definition().disabled()) *response->add_rewards() = std::move(reward);
      }
    }
    if (request->customer_id().empty()) return 0;
    // A checkout prices its shipping with the customer's tier: answered with the settings.
    const auto tier = tiers_.Read(tx, request->store_id(), request->customer_id(),
                                  response->settings(), NowMicros());
    if (tier) *response->mutable_tier() = tier->status;
    return 0;
  });
}

void Program::PublishEarnRules(const CallContext& call, const v1::PublishEarnRulesRequest* request,
                               v1::PublishEarnRulesResponse* response) {
  Validator v;
  RequireStore(v, request->store_id());
  v.RequireId(request->request_id(), "request_id");
  CheckRules(v, request->rules(), "rules.");
  CheckWritten(v, request->author(), request->reason());
  v.ThrowIfInvalid();
  db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    if (idempotency_.Begin(tx, request->store_id(), "PublishEarnRules", request->request_id(),
                           *request, response)) {
      return;
    }
    // Earlier than now would rewrite points already earned.
    const int64_t effective = common::EffectiveFromOrNow(
        request->has_effective_from() ? &request->effective_from() : nullptr);
    *response->mutable_version() =
        store_.InsertRules(tx, request->store_id(), effective, request->rules(),
                           {request->author(), request->reason()});
    idempotency_.Finish(tx, request->store_id(), "PublishEarnRules", request->request_id(),
                        *response);
  });
}

void Program::ListRuleVersions(const CallContext& call, const v1::ListRuleVersionsRequest* request,
                               v1::ListRuleVersionsResponse* response) {
  Validator v;
  RequireStore(v, request->store_id());
  v.ThrowIfInvalid();
  for (auto& version : db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
         return store_.AllRules(tx, request->store_id());
       })) {
    *response->add_versions() = std::move(version);
  }
}

void Program::GetRuleVersion(const CallContext& call, const v1::GetRuleVersionRequest* request,
                             v1::GetRuleVersionResponse* response) {
  Validator v;
  RequireStore(v, request->store_id());
  v.Check(request->version() > 0, "version", "must be positive");
  v.ThrowIfInvalid();
  auto version = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    return store_.Rules(tx, request->store_id(), request->version());
  });
  if (!version) {
    throw ApiError(grpc::StatusCode::NOT_FOUND, "RULE_VERSION_NOT_FOUND",
                   "no rule version " + std::to_string(request->version()));
  }
  *response->mutable_version() = std::move(*version);
}

void Program::PreviewEarn(const CallContext& call, const v1::PreviewEarnRequest* request,
                          v1::PreviewEarnResponse* response) {
  Validator v;
  RequireStore(v, request->store_id());
  v.Check(request->lines_size() <= 1000, "lines", "at most 1000");
  if (request->include_balance()) v.RequireId(request->customer_id(), "customer_id");
  int64_t order_net = 0;
  for (int i = 0; i < request->lines_size(); ++i) {
    const auto& line = request->lines(i);
    v.Check(line.net_minor() >= 0 && line.net_minor() <= 1'000'000'000'000'000,
            "lines[" + std::to_string(i) + "].net_minor", "must be 0 to 1e15");
    order_net += std::max<int64_t>(0, std::min<int64_t>(line.net_minor(), 1'000'000'000'000'000));
  }
  v.ThrowIfInvalid();
  const int64_t now = NowMicros();
  db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    const auto settings = RequireSettings(store_, tx, request->store_id());
    const auto rules = store_.RulesAt(tx, request->store_id(), now);
    response->set_rule_version(rules ? rules->version() : 0);
    // The tier the order would earn with (OrderEvents reads it the same way at its placed time).
    const auto tier = request->customer_id().empty()
                          ? std::nullopt
                          : tiers_.Read(tx, request->store_id(), request->customer_id(), settings,
                                        now);
    const int32_t tier_bps = tier ? tier->earn_bps : kOneX;
    for (const auto& line : request->lines()) {
      const int64_t points =
          rules ? LinePoints(rules->rules(), settings,
                             {line.sku(), line.category(), line.net_minor()}, order_net, now,
                             tier_bps)
                : 0;
      auto* out = response->add_lines();
      out->set_line_id(line.line_id());
      out->set_points(points);
      response->set_total_points(response->total_points() + points);
    }
    if (tier) {
      *response->mutable_tier() = tier->status;
      const bool spend = tier->version.program().measure() == v1::TIER_MEASURE_SPEND;
      *response->mutable_progress_after_cart() =
          Tiers::ProgressAfter(*tier, spend ? order_net : response->total_points());
    }
    if (request->include_balance()) {
      const auto balance = store_.ReadBalance(tx, request->store_id(), request->customer_id())
                               .value_or(BalanceRow{});
      FillBalance(balance, &settings, request->customer_id(), response->mutable_balance());
    }
    return 0;
  });
}

}  // namespace loyalty::points
