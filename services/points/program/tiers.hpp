// The tiers room: publishing tier programs (versioned), manual tiers, the period-end job, and what
// the other rooms ask of tiers inside their own transactions: the multiplier an order earns with,
// the status a quote or a balance shows, and the re-evaluation after an order or a refund. The
// rules themselves are program/tier_rules.* (no I/O); the SQL program/tier_store.*.
#pragma once

#include <map>
#include <optional>

#include "points_context.hpp"
#include "program/tier_rules.hpp"
#include "program/tier_store.hpp"

namespace loyalty::points {

// A customer's tier as read at one time.
struct TierSnapshot {
  v1::TierVersion version;
  int current = -1;  // index of the tier in force (see Tiers::Read)
  int64_t qualifying = 0;
  int32_t earn_bps = 0;
  v1::TierStatus status;
};

class Tiers {
 public:
  explicit Tiers(PointsContext& ctx)
      : db_(ctx.db), store_(ctx.store), tiers_(ctx.tier_store), idempotency_(ctx.idempotency) {}

  void PublishTiers(const common::CallContext& call, const v1::PublishTiersRequest* request,
                    v1::PublishTiersResponse* response);
  void ListTierVersions(const common::CallContext& call, const v1::ListTierVersionsRequest* request,
                        v1::ListTierVersionsResponse* response);
  void SetManualTier(const common::CallContext& call, const v1::SetManualTierRequest* request,
                     v1::SetManualTierResponse* response);
  void ListTierMembers(const common::CallContext& call, const v1::ListTierMembersRequest* request,
                       v1::ListTierMembersResponse* response);
  void RunTierJob(const common::CallContext& call, const v1::RunJobRequest* request,
                  v1::RunJobResponse* response);
  // The period-end job (also the scheduler's): tier changes made.
  int64_t ReviewDue(const std::string& store_id, int64_t as_of_us);

  // The customer's tier at `at_us` under the version then in force (nullopt: no tiers). The tier in
  // force is the manual one while it lasts, else the earned one; a customer never evaluated is in
  // the tier the qualifying figure reaches. Quotes and orders earn with its multiplier.
  std::optional<TierSnapshot> Read(pqxx::transaction_base& tx, const std::string& store_id,
                                   const std::string& customer_id, const v1::Settings& settings,
                                   int64_t at_us) const;
  // Progress once `added` (a cart's nets or points) counts too.
  static v1::TierProgress ProgressAfter(const TierSnapshot& tier, int64_t added);

  // order.placed / order.imported: records the order's lines and re-evaluates the customer.
  void OnOrder(pqxx::transaction_base& tx, const std::string& store_id,
               const std::string& customer_id, const std::string& order_id, int64_t placed_us,
               const std::vector<TierActivityLine>& lines, const v1::Settings& settings) const;
  // order.refunded / order.cancelled: takes the refunded units' cumulative shares off the order's
  // lines (`refunded_total` per line id; nullopt: the whole order) and re-evaluates.
  void OnRefund(pqxx::transaction_base& tx, const std::string& store_id,
                const std::string& customer_id, const std::string& order_id,
                const std::optional<std::map<std::string, int32_t>>& refunded_total,
                const std::string& cause, const v1::Settings& settings) const;

 private:
  // Evaluates a locked state and saves it, logging a tier.changed event when the tier in force
  // changed. True when it changed.
  bool Apply(pqxx::transaction_base& tx, const std::string& store_id,
             const std::string& customer_id, const v1::Settings& settings,
             const v1::TierVersion& version, const TierState& state, int64_t as_of_us,
             TierTrigger trigger, const std::string& cause, const std::string& order_id) const;

  common::Database& db_;
  const PointsStore& store_;
  const TierStore& tiers_;
  common::Idempotency& idempotency_;
};

}  // namespace loyalty::points
