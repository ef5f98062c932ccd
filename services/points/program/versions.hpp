// The versions room: DiffVersions reads two versions of the store's settings, earn rules, tier
// program or one reward (every change to them is a new row, never an update) in one statement,
// and answers both whole and what changed field by field (common::DiffMessages).
#pragma once

#include "points_context.hpp"

namespace loyalty::points {

class Versions {
 public:
  explicit Versions(PointsContext& ctx);

  void DiffVersions(const common::CallContext& call, const v1::DiffVersionsRequest* request,
                    v1::DiffVersionsResponse* response) const;

 private:
  common::Database& db_;
};

}  // namespace loyalty::points
