// The rewards catalogue with no I/O: a definition's field checks, who may redeem a reward and
// when (tier, active window, stock), and its terms for the one pricing path (common/pricing.hpp
// says what a reward takes off a cart). docs/rewards.md.
#pragma once

#include <cstdint>
#include <string>

#include "loyalty/common/errors.hpp"
#include "loyalty/common/pricing.hpp"
#include "loyalty/points/v1/points_service.pb.h"

namespace loyalty::points {

inline constexpr int kMaxRewardTierIds = 20;

// Field checks of a definition, naming each bad field under `prefix`.
void CheckRewardDefinition(common::Validator& v, const v1::RewardDefinition& definition,
                           const std::string& prefix);

// The customer's tier in force, as a reward's restriction reads it (empty id: no tier).
struct RewardTierView {
  std::string tier_id;
  bool exclusive_rewards = false;
};

// The view of a customer's tier status (from GetSettings, PreviewEarn or the tier store).
inline RewardTierView TierViewOf(const v1::TierStatus& status) {
  return {status.tier().tier_id(), status.tier().benefits().exclusive_rewards()};
}

// Why a reward cannot be redeemed now; kNone: it can (points aside).
enum class RewardRefusal { kNone, kDisabled, kNotYetActive, kEnded, kOutOfStock, kTierRequired };

// Whether a customer in `tier` may redeem the reward at `at_us`, `redeemed` units being gone.
RewardRefusal CheckRedeemable(const v1::RewardDefinition& definition, int64_t redeemed,
                              const RewardTierView& tier, int64_t at_us);
// The ErrorInfo reason of a refusal (REWARD_DISABLED, REWARD_NOT_ACTIVE, REWARD_ENDED,
// REWARD_OUT_OF_STOCK, REWARD_TIER_REQUIRED); empty for kNone.
const char* RefusalReason(RewardRefusal refusal);
// What a refusal says of the reward ("is out of stock"); empty for kNone.
const char* RefusalDescription(RewardRefusal refusal);
// The refusal as an answer: FAILED_PRECONDITION with its reason, naming `field` (the points
// service's "reward_id", checkout's "cart.reward_id").
common::ApiError RefusalError(RewardRefusal refusal, const std::string& field);
// NOT_FOUND REWARD_NOT_FOUND naming `field`: the store has no reward with that id.
common::ApiError RewardNotFound(const std::string& field);

// A customer with `available` points can afford it now.
inline bool Affordable(const v1::RewardDefinition& definition, int64_t available) {
  return available >= definition.points_cost();
}

// The definition as the pricing path takes it.
common::pricing::RewardTerms TermsOf(const v1::RewardDefinition& definition);

}  // namespace loyalty::points
