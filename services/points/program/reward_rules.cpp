#include "program/reward_rules.hpp"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <set>

#include "loyalty/common/time.hpp"

namespace loyalty::points {

using google::protobuf::util::TimeUtil;
namespace pricing = common::pricing;

namespace {

bool ValidStamp(const google::protobuf::Timestamp& t) {
  return t.seconds() >= TimeUtil::kTimestampMinSeconds &&
         t.seconds() <= TimeUtil::kTimestampMaxSeconds && t.nanos() >= 0 &&
         t.nanos() <= 999'999'999;
}

bool NeedsSku(v1::RewardKind kind) {
  return kind == v1::REWARD_KIND_FREE_PRODUCT || kind == v1::REWARD_KIND_GIFT_WRAP;
}

}  // namespace

void CheckRewardDefinition(common::Validator& v, const v1::RewardDefinition& d,
                           const std::string& prefix) {
  v.Check(!d.name().empty() && d.name().size() <= 200, prefix + "name",
          "is required, 1-200 bytes");
  v.Check(d.kind() != v1::REWARD_KIND_UNSPECIFIED && v1::RewardKind_IsValid(d.kind()),
          prefix + "kind",
          "is required: AMOUNT_OFF, PERCENT_OFF, FREE_SHIPPING, FREE_PRODUCT or GIFT_WRAP");
  v.Check(d.points_cost() >= 1 && d.points_cost() <= pricing::kMaxAmount, prefix + "points_cost",
          "must be 1 to 5e17", "AMOUNT_OUT_OF_RANGE");
  // Each kind's own fields are required with it and refused without it, so a definition says
  // exactly what it does.
  const bool amount = d.kind() == v1::REWARD_KIND_AMOUNT_OFF;
  const bool percent = d.kind() == v1::REWARD_KIND_PERCENT_OFF;
  v.Check(amount ? d.amount_off_minor() >= 1 && d.amount_off_minor() <= pricing::kMaxAmount
                 : d.amount_off_minor() == 0,
          prefix + "amount_off_minor",
          amount ? "must be 1 to 5e17" : "is only for AMOUNT_OFF", "AMOUNT_OUT_OF_RANGE");
  v.Check(percent ? d.percent_off_bps() >= 1 && d.percent_off_bps() <= pricing::kMaxPercentBps
                  : d.percent_off_bps() == 0,
          prefix + "percent_off_bps", percent ? "must be 1 to 10,000" : "is only for PERCENT_OFF");
  v.Check(percent ? d.cap_minor() >= 1 && d.cap_minor() <= pricing::kMaxAmount
                  : d.cap_minor() == 0,
          prefix + "cap_minor", percent ? "is required, 1 to 5e17" : "is only for PERCENT_OFF",
          "AMOUNT_OUT_OF_RANGE");
  v.Check(NeedsSku(d.kind()) ? !d.sku().empty() && d.sku().size() <= 128 : d.sku().empty(),
          prefix + "sku",
          NeedsSku(d.kind()) ? "is required, 1-128 characters" : "is only for FREE_PRODUCT and "
                                                                  "GIFT_WRAP");
  v.Check(d.tier_ids_size() <= kMaxRewardTierIds, prefix + "tier_ids", "at most 20 tiers");
  std::set<std::string> ids;
  for (int i = 0; i < d.tier_ids_size() && i < kMaxRewardTierIds; ++i) {
    const std::string f = prefix + "tier_ids[" + std::to_string(i) + "]";
    if (v.RequireId(d.tier_ids(i), f)) v.Check(ids.insert(d.tier_ids(i)).second, f, "is repeated");
  }
  v.Check(d.stock_limit() >= 0 && d.stock_limit() <= pricing::kMaxAmount,
          prefix + "stock_limit", "must be 0 (no limit) to 5e17", "AMOUNT_OUT_OF_RANGE");
  const bool from_ok = !d.has_active_from() || v.Check(ValidStamp(d.active_from()),
                                                       prefix + "active_from", "is not a time");
  const bool until_ok = !d.has_active_until() || v.Check(ValidStamp(d.active_until()),
                                                         prefix + "active_until", "is not a time");
  if (d.has_active_from() && d.has_active_until() && from_ok && until_ok) {
    v.Check(d.active_until() > d.active_from(), prefix + "active_until",
            "must be after active_from");
  }
}

RewardRefusal CheckRedeemable(const v1::RewardDefinition& d, int64_t redeemed,
                              const RewardTierView& tier, int64_t at_us) {
  if (d.disabled()) return RewardRefusal::kDisabled;
  if (d.has_active_from() && at_us < TimeUtil::TimestampToMicroseconds(d.active_from())) {
    return RewardRefusal::kNotYetActive;
  }
  if (d.has_active_until() && at_us >= TimeUtil::TimestampToMicroseconds(d.active_until())) {
    return RewardRefusal::kEnded;
  }
  const bool listed =
      d.tier_ids().empty() ||
      std::find(d.tier_ids().begin(), d.tier_ids().end(), tier.tier_id) != d.tier_ids().end();
  if (!listed || (d.exclusive() && !tier.exclusive_rewards)) return RewardRefusal::kTierRequired;
  if (d.stock_limit() > 0 && redeemed >= d.stock_limit()) return RewardRefusal::kOutOfStock;
  return RewardRefusal::kNone;
}

namespace {
// Each refusal's ErrorInfo reason and what it says of the reward, by RewardRefusal.
struct RefusalText {
  const char* reason;
  const char* description;
};
RefusalText TextOf(RewardRefusal refusal) {
  switch (refusal) {
    case RewardRefusal::kNone:
      break;
    case RewardRefusal::kDisabled:
      return {"REWARD_DISABLED", "is withdrawn from the catalogue"};
    case RewardRefusal::kNotYetActive:
      return {"REWARD_NOT_ACTIVE", "is not active yet"};
    case RewardRefusal::kEnded:
      return {"REWARD_ENDED", "has ended"};
    case RewardRefusal::kOutOfStock:
      return {"REWARD_OUT_OF_STOCK", "is out of stock"};
    case RewardRefusal::kTierRequired:
      return {"REWARD_TIER_REQUIRED", "is not open to the customer's tier"};
  }
  return {"", ""};
}
}  // namespace

const char* RefusalReason(RewardRefusal refusal) { return TextOf(refusal).reason; }

const char* RefusalDescription(RewardRefusal refusal) { return TextOf(refusal).description; }

common::ApiError RewardNotFound(const std::string& field) {
  return common::ApiError(grpc::StatusCode::NOT_FOUND, "REWARD_NOT_FOUND",
                          "the store has no such reward", {{field, "the store has no such reward"}});
}

common::ApiError RefusalError(RewardRefusal refusal, const std::string& field) {
  const auto text = TextOf(refusal);
  return common::ApiError(grpc::StatusCode::FAILED_PRECONDITION, text.reason,
                          std::string("the reward ") + text.description,
                          {{field, text.description}});
}

pricing::RewardTerms TermsOf(const v1::RewardDefinition& d) {
  pricing::RewardTerms t;
  switch (d.kind()) {
    case v1::REWARD_KIND_PERCENT_OFF:
      t.kind = pricing::RewardKind::kPercentOff;
      break;
    case v1::REWARD_KIND_FREE_SHIPPING:
      t.kind = pricing::RewardKind::kFreeShipping;
      break;
    case v1::REWARD_KIND_FREE_PRODUCT:
      t.kind = pricing::RewardKind::kFreeProduct;
      break;
    case v1::REWARD_KIND_GIFT_WRAP:
      t.kind = pricing::RewardKind::kGiftWrap;
      break;
    default:
      t.kind = pricing::RewardKind::kAmountOff;
      break;
  }
  t.amount_off_minor = d.amount_off_minor();
  t.percent_off_bps = d.percent_off_bps();
  t.cap_minor = d.cap_minor();
  t.sku = d.sku();
  return t;
}

}  // namespace loyalty::points
