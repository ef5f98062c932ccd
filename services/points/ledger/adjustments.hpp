// The ledger room, adjustments: manual credits (a lot of their own) and debits (spent like a
// redemption, oldest-expiring lots first).
#pragma once

#include "points_context.hpp"

namespace loyalty::points {

class Adjustments {
 public:
  explicit Adjustments(PointsContext& ctx)
      : db_(ctx.db), store_(ctx.store), idempotency_(ctx.idempotency) {}

  void AdjustPoints(const common::CallContext& call, const v1::AdjustPointsRequest* request,
                    v1::AdjustPointsResponse* response);

 private:
  common::Database& db_;
  const PointsStore& store_;
  common::Idempotency& idempotency_;
};

}  // namespace loyalty::points
