// The versions room: the versions of the store's settings, earn rules, tier program or one
// reward (every change to them is a new row, never an update), listed newest first, one by one,
// or two side by side with what changed field by field; one statement each, answered through
// common/versions.hpp as checkout answers a campaign's.
#pragma once

#include "points_context.hpp"

namespace loyalty::points {

class Versions {
 public:
  explicit Versions(PointsContext& ctx);

  void ListVersions(const common::CallContext& call, const v1::ListVersionsRequest* request,
                    v1::ListVersionsResponse* response) const;
  void GetVersion(const common::CallContext& call, const v1::GetVersionRequest* request,
                  v1::GetVersionResponse* response) const;
  void DiffVersions(const common::CallContext& call, const v1::DiffVersionsRequest* request,
                    v1::DiffVersionsResponse* response) const;

 private:
  common::Database& db_;
};

}  // namespace loyalty::points
