#include "program/versions.hpp"

#include <google/protobuf/util/time_util.h>

#include <map>
#include <memory>

#include "loyalty/common/proto_diff.hpp"
#include "loyalty/common/sql_time.hpp"

namespace loyalty::points {

using common::ApiError;
using common::CallContext;
using common::Validator;
using google::protobuf::util::TimeUtil;

namespace {

// Each kind's table, read the same way: version, content, effective_from (or NULL), author,
// reason, created_at; both versions ($2, $3) of store $1 in one statement.
#define VERSIONS_OF(content, effective, who, why, created, table)                        \
  "SELECT version, " content ", " effective ", " who ", " why ", " MICROS(created)        \
  " FROM points." table " WHERE store_id = $1 AND version IN ($2::int, $3::int)"

std::unique_ptr<google::protobuf::Message> ContentOf(v1::VersionedKind kind) {
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
}

const char* StatementOf(v1::VersionedKind kind) {
  switch (kind) {
    case v1::VERSIONED_KIND_SETTINGS:
      return "versions_settings";
    case v1::VERSIONED_KIND_EARN_RULES:
      return "versions_earn_rules";
    case v1::VERSIONED_KIND_TIERS:
      return "versions_tiers";
    default:
      return "versions_reward";
  }
}

}  // namespace

Versions::Versions(PointsContext& ctx) : db_(ctx.db) {
  db_.Prepare("versions_settings",
              VERSIONS_OF("settings", "NULL::bigint", "''", "''", "created_at", "settings"));
  db_.Prepare("versions_earn_rules",
              VERSIONS_OF("rules", MICROS("effective_from"), "''", "''", "published_at",
                          "rule_versions"));
  db_.Prepare("versions_tiers",
              VERSIONS_OF("program", MICROS("effective_from"), "author", "reason",
                          "published_at", "tier_versions"));
  db_.Prepare("versions_reward",
              VERSIONS_OF("definition", "NULL::bigint", "author", "reason", "created_at",
                          "reward_versions") " AND reward_id = $4");
}

void Versions::DiffVersions(const CallContext& call, const v1::DiffVersionsRequest* request,
                            v1::DiffVersionsResponse* response) const {
  const auto kind = request->kind();
  const bool reward = kind == v1::VERSIONED_KIND_REWARD;
  Validator v;
  v.RequireId(request->store_id(), "store_id");
  v.Check(kind != v1::VERSIONED_KIND_UNSPECIFIED && v1::VersionedKind_IsValid(kind), "kind",
          "is required: SETTINGS, EARN_RULES, TIERS or REWARD");
  if (reward) {
    v.RequireId(request->reward_id(), "reward_id");
  } else {
    v.Check(request->reward_id().empty(), "reward_id", "is for REWARD only");
  }
  v.Check(request->from_version() > 0, "from_version", "must be positive");
  v.Check(request->to_version() > 0, "to_version", "must be positive");
  v.ThrowIfInvalid();

  std::map<int32_t, std::pair<v1::VersionInfo, std::unique_ptr<google::protobuf::Message>>> found;
  db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    found.clear();
    const auto rows =
        reward ? tx.exec_prepared(StatementOf(kind), request->store_id(), request->from_version(),
                                  request->to_version(), request->reward_id())
               : tx.exec_prepared(StatementOf(kind), request->store_id(), request->from_version(),
                                  request->to_version());
    for (const auto& r : rows) {
      auto content = ContentOf(kind);
      content->ParseFromString(pqxx::binarystring(r[1]).str());
      v1::VersionInfo info;
      info.set_version(r[0].as<int32_t>());
      if (!r[2].is_null()) {
        *info.mutable_effective_from() = TimeUtil::MicrosecondsToTimestamp(r[2].as<int64_t>());
      }
      info.set_author(r[3].as<std::string>());
      info.set_reason(r[4].as<std::string>());
      *info.mutable_created_at() = TimeUtil::MicrosecondsToTimestamp(r[5].as<int64_t>());
      info.set_content_json(common::MessageJson(*content));
      const int32_t version = info.version();  // the assignment's right side moves `info` first
      found[version] = {std::move(info), std::move(content)};
    }
  });
  for (const auto& [field, version] :
       {std::pair{"from_version", request->from_version()}, {"to_version", request->to_version()}}) {
    if (!found.count(version)) {
      throw ApiError(grpc::StatusCode::NOT_FOUND, "VERSION_NOT_FOUND",
                     std::string(field) + ": no version " + std::to_string(version),
                     {{field, "no such version"}});
    }
  }
  const auto& [from_info, from] = found.at(request->from_version());
  const auto& [to_info, to] = found.at(request->to_version());
  *response->mutable_from() = from_info;
  *response->mutable_to() = to_info;
  for (const auto& change : common::DiffMessages(*from, *to)) {
    auto* out = response->add_changes();
    out->set_path(change.path);
    out->set_before(change.before);
    out->set_after(change.after);
  }
}

}  // namespace loyalty::points
