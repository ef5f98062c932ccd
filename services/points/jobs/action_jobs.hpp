// The jobs room, member actions: birthdays and first orders, each with an explicit as-of time
// (RunBirthdayJob, RunFirstOrderJob) and run by the scheduler in main.cpp under its advisory
// lock. Both are safe to run twice, or at once: every reward has its ledger key (CreditAction).
#pragma once

#include "points_context.hpp"
#include "program/action_store.hpp"

namespace loyalty::points {

class ActionJobs {
 public:
  explicit ActionJobs(PointsContext& ctx)
      : ctx_(ctx), db_(ctx.db), store_(ctx.store), actions_(ctx.db) {}

  // Customers rewarded.
  int64_t BirthdaysDue(const common::CallContext& call, const std::string& store_id,
                       int64_t as_of_us);
  // First orders rewarded (with their referrals).
  int64_t FirstOrdersDue(const std::string& store_id, int64_t as_of_us);

  void RunBirthdayJob(const common::CallContext& call, const v1::RunJobRequest* request,
                      v1::RunJobResponse* response);
  void RunFirstOrderJob(const common::CallContext& call, const v1::RunJobRequest* request,
                        v1::RunJobResponse* response);

 private:
  // Birthday points to one customer for the local `year`; false when given before.
  bool RewardBirthday(const std::string& store_id, const std::string& customer_id, int32_t year,
                      int64_t as_of_us);
  // The first-purchase and referral points of one due first order; false when not due anymore.
  bool RewardFirstOrder(const DueFirstOrder& due, int64_t as_of_us);

  PointsContext& ctx_;
  common::Database& db_;
  const PointsStore& store_;
  ActionStore actions_;
};

}  // namespace loyalty::points
