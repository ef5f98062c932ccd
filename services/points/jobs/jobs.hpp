// The jobs room: release at the end of the return window, expiry warnings and expiry, hold
// expiry. The scheduler in main.cpp runs them under an advisory lock; each is also an RPC with an
// explicit as-of time (RunReleaseJob, RunExpiryJob, RunHoldExpiryJob).
#pragma once

#include "ledger/holds.hpp"
#include "points_context.hpp"

namespace loyalty::points {

class Jobs {
 public:
  Jobs(PointsContext& ctx, const Holds& holds) : db_(ctx.db), store_(ctx.store), holds_(holds) {}

  // Items processed.
  int64_t ReleaseDue(const std::string& store_id, int64_t as_of_us);
  int64_t ExpireDue(const std::string& store_id, int64_t as_of_us);
  int64_t ExpireHolds(const common::CallContext& call, const std::string& store_id,
                      int64_t as_of_us);

  void RunReleaseJob(const common::CallContext& call, const v1::RunJobRequest* request,
                     v1::RunJobResponse* response);
  void RunExpiryJob(const common::CallContext& call, const v1::RunJobRequest* request,
                    v1::RunJobResponse* response);
  void RunHoldExpiryJob(const common::CallContext& call, const v1::RunJobRequest* request,
                        v1::RunJobResponse* response);

 private:
  common::Database& db_;
  const PointsStore& store_;
  const Holds& holds_;
};

}  // namespace loyalty::points
