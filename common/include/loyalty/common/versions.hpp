// Versions (docs/dry-run.md, "Versions"): each service that keeps versions (points: settings,
// earn rules, tiers, rewards; checkout: campaigns) reads them in the same columns and answers
// ListVersions, GetVersion and DiffVersions through these functions, so that a version looks
// alike whichever service keeps it, and a request is checked alike.
//
// A version row's columns, in this order: version, content (a serialized message),
// effective_from (micros), author, reason, created_at (micros).
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "loyalty/common/errors.hpp"
#include "loyalty/points/v1/points_service.pb.h"

namespace loyalty::common {

// A fresh message of the kind's content type (Settings, EarnRules, ...).
using ContentFactory = std::function<std::unique_ptr<google::protobuf::Message>()>;

// The store, a kind known and served by this service (`served`), and reward_id / campaign_id
// naming exactly the one thing a REWARD / CAMPAIGN kind needs.
template <typename Request>
void CheckVersionTarget(Validator& v, const Request& request,
                        std::initializer_list<points::v1::VersionedKind> served) {
  v.RequireId(request.store_id(), "store_id");
  const auto kind = request.kind();
  bool known = false;
  for (const auto k : served) known = known || k == kind;
  v.Check(known, "kind", "is required: SETTINGS, EARN_RULES, TIERS, REWARD or CAMPAIGN");
  if (kind == points::v1::VERSIONED_KIND_REWARD) {
    v.RequireId(request.reward_id(), "reward_id");
  } else {
    v.Check(request.reward_id().empty(), "reward_id", "is for REWARD only");
  }
  if (kind == points::v1::VERSIONED_KIND_CAMPAIGN) {
    v.RequireId(request.campaign_id(), "campaign_id");
  } else {
    v.Check(request.campaign_id().empty(), "campaign_id", "is for CAMPAIGN only");
  }
}

// A ListVersions page: the versions below `before`, at most `size` of them.
struct VersionPage {
  int32_t before = 0;
  int32_t size = 0;
};
// Checks page_size and page_token (refused naming them); ThrowIfInvalid is the caller's.
VersionPage CheckVersionPage(Validator& v, int32_t page_size, const std::string& page_token);

// Rows of one thing's versions, newest first, at most page.size + 1 of them.
void AnswerList(const pqxx::result& rows, const VersionPage& page, const ContentFactory& content,
                points::v1::ListVersionsResponse* response);
// Rows holding `version` (or none: NOT_FOUND VERSION_NOT_FOUND naming "version").
void AnswerGet(const pqxx::result& rows, int32_t version, const ContentFactory& content,
               points::v1::GetVersionResponse* response);
// Rows holding both versions of the request: both whole and what changed (a missing one:
// NOT_FOUND naming from_version or to_version).
void AnswerDiff(const pqxx::result& rows, const points::v1::DiffVersionsRequest& request,
                const ContentFactory& content, points::v1::DiffVersionsResponse* response);
// Checks a DiffVersionsRequest's versions.
void CheckDiffVersions(Validator& v, const points::v1::DiffVersionsRequest& request);

}  // namespace loyalty::common
