#include "program/tier_replay.hpp"

#include <map>
#include <utility>

namespace loyalty::points {

namespace {

std::string Reached(const v1::TierProgram& program, int64_t qualifying) {
  const int index = ReachedTier(program, qualifying);
  return index < 0 ? "" : program.tiers(index).tier_id();
}

}  // namespace

v1::TiersDryRun ReplayTiers(const v1::TierProgram* published, const v1::TierProgram& draft,
                            const std::vector<TierStanding>& standings, int64_t as_of_us) {
  std::map<std::string, std::pair<int64_t, int64_t>> per_tier;  // tier id → (now, draft)
  std::map<std::pair<std::string, std::string>, int64_t> moves;
  v1::TiersDryRun report;
  for (const auto& s : standings) {
    std::string now = TierInForce(s.state, as_of_us);
    if (now.empty() && published != nullptr) now = Reached(*published, s.qualifying_now);
    TierState manual_only = s.state;  // the manual tier in force, if any
    manual_only.tier_id.clear();
    std::string then = TierInForce(manual_only, as_of_us);
    if (then.empty()) then = Reached(draft, s.qualifying_draft);
    if (now.empty() && then.empty()) continue;
    report.set_customers(report.customers() + 1);
    if (!now.empty()) ++per_tier[now].first;
    if (!then.empty()) ++per_tier[then].second;
    if (now != then) {
      ++moves[{now, then}];
      report.set_customers_moved(report.customers_moved() + 1);
    }
  }
  // The draft's tiers in its order, then tiers only the published program has.
  for (const auto& tier : draft.tiers()) {
    auto* count = report.add_tiers();
    count->set_tier_id(tier.tier_id());
    const auto found = per_tier.find(tier.tier_id());
    if (found != per_tier.end()) {
      count->set_customers_now(found->second.first);
      count->set_customers_draft(found->second.second);
      per_tier.erase(found);
    }
  }
  for (const auto& [tier_id, counts] : per_tier) {
    auto* count = report.add_tiers();
    count->set_tier_id(tier_id);
    count->set_customers_now(counts.first);
    count->set_customers_draft(counts.second);
  }
  for (const auto& [move, customers] : moves) {
    auto* m = report.add_moves();
    m->set_from_tier_id(move.first);
    m->set_to_tier_id(move.second);
    m->set_customers(customers);
  }
  return report;
}

}  // namespace loyalty::points
