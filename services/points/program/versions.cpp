#include "program/versions.hpp"

#include <memory>
#include <string>

#include "loyalty/common/sql_time.hpp"
#include "loyalty/common/versions.hpp"

namespace loyalty::points {

using common::CallContext;
using common::Validator;

namespace {

// Each kind's table, read in common/versions.hpp's columns. A reward's id is $2 (the other kinds
// ignore it); a list reads versions below $3, at most $4; two versions are $3 and $4.
struct KindTable {
  const char* name;         // statement names: versions_<name>_list and _pair
  const char* columns;      // version, content, effective_from, author, reason, created_at
  const char* from_where;   // FROM ... WHERE: the store's rows of the kind
};

#define VERSION_COLUMNS(content, effective, created) \
  "version, " content ", " MICROS(effective) ", author, reason, " MICROS(created)

constexpr KindTable kSettings{"settings", VERSION_COLUMNS("settings", "created_at", "created_at"),
                              "FROM points.settings WHERE store_id = $1 AND $2::text = ''"};
constexpr KindTable kEarnRules{
    "earn_rules", VERSION_COLUMNS("rules", "effective_from", "published_at"),
    "FROM points.rule_versions WHERE store_id = $1 AND $2::text = ''"};
constexpr KindTable kTiers{"tiers", VERSION_COLUMNS("program", "effective_from", "published_at"),
                           "FROM points.tier_versions WHERE store_id = $1 AND $2::text = ''"};
constexpr KindTable kReward{"reward", VERSION_COLUMNS("definition", "created_at", "created_at"),
                            "FROM points.reward_versions WHERE store_id = $1 AND reward_id = $2"};

const KindTable& TableOf(v1::VersionedKind kind) {
  switch (kind) {
    case v1::VERSIONED_KIND_SETTINGS:
      return kSettings;
    case v1::VERSIONED_KIND_EARN_RULES:
      return kEarnRules;
    case v1::VERSIONED_KIND_TIERS:
      return kTiers;
    default:
      return kReward;
  }
}

common::ContentFactory ContentOf(v1::VersionedKind kind) {
  return [kind]() -> std::unique_ptr<google::protobuf::Message> {
    switch (kind) {
      case v1::VERSIONED_KIND_SETTINGS:
        return std::make_unique<v1::Settings>();
      case v1::VERSIONED_KIND_EARN_RULES:
        return std::make_unique<v1::EarnRules>();
      case v1::VERSIONED_KIND_TIERS:
        return std::make_unique<v1::TierProgram>();
      default:
        return std::make_unique<v1::RewardDefinition>();
    }
  };
}

std::string Statement(v1::VersionedKind kind, const char* what) {
  return std::string("versions_") + TableOf(kind).name + "_" + what;
}

template <typename Request>
void CheckTarget(Validator& v, const Request& request) {
  common::CheckVersionTarget(v, request,
                             {v1::VERSIONED_KIND_SETTINGS, v1::VERSIONED_KIND_EARN_RULES,
                              v1::VERSIONED_KIND_TIERS, v1::VERSIONED_KIND_REWARD});
}

}  // namespace

Versions::Versions(PointsContext& ctx) : db_(ctx.db) {
  for (const auto* table : {&kSettings, &kEarnRules, &kTiers, &kReward}) {
    const std::string select = std::string("SELECT ") + table->columns + " " + table->from_where;
    db_.Prepare(std::string("versions_") + table->name + "_list",
                select + " AND version < $3 ORDER BY version DESC LIMIT $4");
    db_.Prepare(std::string("versions_") + table->name + "_pair",
                select + " AND version IN ($3::int, $4::int)");
  }
}

void Versions::ListVersions(const CallContext& call, const v1::ListVersionsRequest* request,
                            v1::ListVersionsResponse* response) const {
  Validator v;
  CheckTarget(v, *request);
  const auto page = common::CheckVersionPage(v, request->page_size(), request->page_token());
  v.ThrowIfInvalid();
  const auto rows = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    return tx.exec_prepared(Statement(request->kind(), "list"), request->store_id(),
                            request->reward_id(), page.before, page.size + 1);
  });
  common::AnswerList(rows, page, ContentOf(request->kind()), response);
}

void Versions::GetVersion(const CallContext& call, const v1::GetVersionRequest* request,
                          v1::GetVersionResponse* response) const {
  Validator v;
  CheckTarget(v, *request);
  v.Check(request->version() > 0, "version", "must be positive");
  v.ThrowIfInvalid();
  const auto rows = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    return tx.exec_prepared(Statement(request->kind(), "pair"), request->store_id(),
                            request->reward_id(), request->version(), request->version());
  });
  common::AnswerGet(rows, request->version(), ContentOf(request->kind()), response);
}

void Versions::DiffVersions(const CallContext& call, const v1::DiffVersionsRequest* request,
                            v1::DiffVersionsResponse* response) const {
  Validator v;
  CheckTarget(v, *request);
  common::CheckDiffVersions(v, *request);
  v.ThrowIfInvalid();
  const auto rows = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    return tx.exec_prepared(Statement(request->kind(), "pair"), request->store_id(),
                            request->reward_id(), request->from_version(),
                            request->to_version());
  });
  common::AnswerDiff(rows, *request, ContentOf(request->kind()), response);
}

}  // namespace loyalty::points
