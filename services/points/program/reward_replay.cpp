#include "program/reward_replay.hpp"

#include <set>

#include "program/reward_rules.hpp"

namespace loyalty::points {

v1::RewardDryRun ReplayRedemptions(const v1::RewardDefinition& draft, int64_t redeemed_before,
                                   const std::vector<Redemption>& redemptions) {
  // A customer the draft's tier restriction admits, whatever it is.
  const RewardTierView admitted{draft.tier_ids().empty() ? "" : draft.tier_ids(0), true};
  v1::RewardDryRun out;
  std::set<std::string> customers;
  int64_t redeemed = redeemed_before;  // under the draft: what it refused never took stock
  for (const auto& r : redemptions) {
    out.set_redemptions(out.redemptions() + 1);
    out.set_points_in_force(out.points_in_force() + r.points);
    customers.insert(r.customer_id);
    switch (CheckRedeemable(draft, redeemed, admitted, r.at_us)) {
      case RewardRefusal::kNone:
        ++redeemed;
        out.set_redemptions_draft(out.redemptions_draft() + 1);
        out.set_points_draft(out.points_draft() + draft.points_cost());
        break;
      case RewardRefusal::kDisabled:
        out.set_refused_disabled(out.refused_disabled() + 1);
        break;
      case RewardRefusal::kNotYetActive:
      case RewardRefusal::kEnded:
        out.set_refused_window(out.refused_window() + 1);
        break;
      case RewardRefusal::kOutOfStock:
        out.set_refused_stock(out.refused_stock() + 1);
        break;
      case RewardRefusal::kTierRequired:  // cannot happen: `admitted` meets any restriction
        break;
    }
  }
  out.set_customers(static_cast<int64_t>(customers.size()));
  return out;
}

}  // namespace loyalty::points
