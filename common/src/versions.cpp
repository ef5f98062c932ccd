#include "loyalty/common/versions.hpp"

#include <google/protobuf/util/time_util.h>

#include <limits>
#include <map>
#include <utility>

#include "loyalty/common/page_token.hpp"
#include "loyalty/common/proto_diff.hpp"

namespace loyalty::common {

using google::protobuf::util::TimeUtil;

namespace {

constexpr char kTokenKind[] = "versions";

struct Version {
  points::v1::VersionInfo info;
  std::unique_ptr<google::protobuf::Message> content;
};

Version Read(const pqxx::row& r, const ContentFactory& make) {
  Version out{{}, make()};
  out.content->ParseFromString(pqxx::binarystring(r[1]).str());
  out.info.set_version(r[0].as<int32_t>());
  *out.info.mutable_effective_from() = TimeUtil::MicrosecondsToTimestamp(r[2].as<int64_t>());
  out.info.set_author(r[3].as<std::string>());
  out.info.set_reason(r[4].as<std::string>());
  *out.info.mutable_created_at() = TimeUtil::MicrosecondsToTimestamp(r[5].as<int64_t>());
  out.info.set_content_json(MessageJson(*out.content));
  return out;
}

ApiError VersionNotFound(const std::string& field, int32_t version) {
  return ApiError(grpc::StatusCode::NOT_FOUND, "VERSION_NOT_FOUND",
                  field + ": no version " + std::to_string(version), {{field, "no such version"}});
}

}  // namespace

VersionPage CheckVersionPage(Validator& v, int32_t page_size, const std::string& page_token) {
  VersionPage page{std::numeric_limits<int32_t>::max(), page_size == 0 ? 20 : page_size};
  v.Check(page_size >= 0 && page_size <= 100, "page_size", "must be 0 to 100 (0: 20)");
  const auto cursor = page_token::Decode(kTokenKind, page_token);
  if (cursor && cursor->empty()) return page;  // the first page
  const int64_t before = cursor ? page_token::ParseInt(*cursor).value_or(0) : 0;
  if (v.Check(before > 0 && before <= std::numeric_limits<int32_t>::max(), "page_token",
              "is not a token this list issued")) {
    page.before = static_cast<int32_t>(before);
  }
  return page;
}

void AnswerList(const pqxx::result& rows, const VersionPage& page, const ContentFactory& content,
                points::v1::ListVersionsResponse* response) {
  response->Clear();
  for (const auto& r : rows) {
    if (response->versions_size() == page.size) {
      const int32_t last = response->versions(page.size - 1).version();
      response->set_next_page_token(page_token::Encode(kTokenKind, std::to_string(last)));
      break;
    }
    *response->add_versions() = Read(r, content).info;
  }
}

void AnswerGet(const pqxx::result& rows, int32_t version, const ContentFactory& content,
               points::v1::GetVersionResponse* response) {
  if (rows.empty()) throw VersionNotFound("version", version);
  *response->mutable_version() = Read(rows[0], content).info;
}

void CheckDiffVersions(Validator& v, const points::v1::DiffVersionsRequest& request) {
  v.Check(request.from_version() > 0, "from_version", "must be positive");
  v.Check(request.to_version() > 0, "to_version", "must be positive");
}

void AnswerDiff(const pqxx::result& rows, const points::v1::DiffVersionsRequest& request,
                const ContentFactory& content, points::v1::DiffVersionsResponse* response) {
  std::map<int32_t, Version> found;
  for (const auto& r : rows) {
    auto version = Read(r, content);
    const int32_t number = version.info.version();  // the right side moves `version` first
    found[number] = std::move(version);
  }
  for (const auto& [field, version] :
       {std::pair{"from_version", request.from_version()}, {"to_version", request.to_version()}}) {
    if (!found.count(version)) throw VersionNotFound(field, version);
  }
  const auto& from = found.at(request.from_version());
  const auto& to = found.at(request.to_version());
  response->Clear();
  *response->mutable_from() = from.info;
  *response->mutable_to() = to.info;
  for (const auto& change : DiffMessages(*from.content, *to.content)) {
    auto* out = response->add_changes();
    out->set_path(change.path);
    out->set_before(change.before);
    out->set_after(change.after);
  }
}

}  // namespace loyalty::common
