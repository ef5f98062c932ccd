#include "earn_rules.hpp"

#include "loyalty/common/time.hpp"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <regex>

#include "loyalty/common/money.hpp"
#include "program/action_rules.hpp"

namespace loyalty::points {

using common::Wide;
using google::protobuf::util::TimeUtil;

namespace {

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list, const std::string& x) {
  return std::find(list.begin(), list.end(), x) != list.end();
}

int32_t ItemMultiplier(const v1::EarnRules& rules, const EarnLine& line) {
  int32_t category = kOneX;
  for (const auto& m : rules.multipliers()) {
    if (!m.sku().empty() && m.sku() == line.sku) return m.multiplier_bps();  // SKU wins
    if (!m.category().empty() && m.category() == line.category) category = m.multiplier_bps();
  }
  return category;
}

}  // namespace

int64_t LinePoints(const v1::EarnRules& rules, const v1::Settings& settings, const EarnLine& line,
                   int64_t order_net_minor, int64_t placed_at_micros, int32_t tier_bps) {
  if (line.net_minor <= 0 || order_net_minor < rules.min_order_minor()) return 0;
  if (Contains(rules.excluded_skus(), line.sku) ||
      Contains(rules.excluded_categories(), line.category)) {
    return 0;
  }
  // The multipliers combine first into one, rounded down to a basis point and capped.
  Wide multiplier = static_cast<Wide>(ItemMultiplier(rules, line)) * tier_bps / kOneX;
  for (const auto& c : rules.campaigns()) {
    const int64_t starts = TimeUtil::TimestampToMicroseconds(c.starts_at());
    const int64_t ends = TimeUtil::TimestampToMicroseconds(c.ends_at());
    const bool active = placed_at_micros >= starts && placed_at_micros < ends;
    if (active && (c.categories().empty() || Contains(c.categories(), line.category))) {
      multiplier = std::min<Wide>(multiplier * c.multiplier_bps() / kOneX, kMaxMultiplierBps);
    }
  }
  multiplier = std::min<Wide>(multiplier, kMaxMultiplierBps);
  Wide rate = rules.base_rate();
  Wide denominator = kOneX;
  if (settings.earn_basis() == v1::EARN_BASIS_CASHBACK) {
    rate *= settings.redeem_points();
    denominator *= static_cast<Wide>(kOneX) * settings.redeem_value_minor();
  } else {
    denominator *= settings.minor_per_unit();
  }
  if (denominator == 0) return 0;
  // < 2^50 (net) x 2^27 (multiplier) x 2^40 (rate): fits in 128 bits; the result may not fit in 64.
  return static_cast<int64_t>(std::min<Wide>(
      static_cast<Wide>(line.net_minor) * multiplier * rate / denominator, kMaxLinePoints));
}

void CheckSettings(common::Validator& v, const v1::Settings& s, const std::string& p) {
  static const std::regex kCurrency("^[A-Z]{3}$");
  v.Check(std::regex_match(s.currency_code(), kCurrency), p + "currency_code",
          "must be an ISO 4217 code such as USD");
  v.Check(!s.time_zone().empty() && s.time_zone().size() <= 64, p + "time_zone",
          "must be an IANA time zone such as Europe/Paris");
  v.Check(s.earn_basis() != v1::EARN_BASIS_UNSPECIFIED, p + "earn_basis", "is required");
  v.Check(s.minor_per_unit() >= 1 && s.minor_per_unit() <= 1000000, p + "minor_per_unit",
          "must be 1 to 1,000,000");
  v.Check(s.redeem_points() >= 1 && s.redeem_points() <= 1000000, p + "redeem_points",
          "must be 1 to 1,000,000");
  v.Check(s.redeem_value_minor() >= 0 && s.redeem_value_minor() <= 1000000000,
          p + "redeem_value_minor", "must be 0 or more");
  v.Check(s.free_shipping_threshold_minor() >= 0, p + "free_shipping_threshold_minor",
          "must be 0 or more");
  v.Check(s.return_window_days() >= 0 && s.return_window_days() <= 365, p + "return_window_days",
          "must be 0 to 365");
  v.Check(s.expiry_months() >= 0 && s.expiry_months() <= 120, p + "expiry_months",
          "must be 0 to 120");
  v.Check(s.expiry_warning_days() >= 0 && s.expiry_warning_days() <= 365,
          p + "expiry_warning_days", "must be 0 to 365");
  v.Check(s.hold_ttl_seconds() >= 10 && s.hold_ttl_seconds() <= 7 * 86400, p + "hold_ttl_seconds",
          "must be 10 seconds to 7 days");
  CheckActionSettings(v, s.actions(), p + "actions.");
  v.Check(s.renewal_bonus_points() >= 0 && s.renewal_bonus_points() <= 1'000'000,
          p + "renewal_bonus_points", "must be 0 to 1,000,000");
  if (!s.thank_you_code_batch_id().empty()) {
    v.RequireId(s.thank_you_code_batch_id(), p + "thank_you_code_batch_id");
  }
  const auto& cart = s.cart_recovery();
  v.Check(cart.after_hours() >= 0 && cart.after_hours() <= 720, p + "cart_recovery.after_hours",
          "must be 0 (off) to 720");
  if (!cart.code_batch_id().empty()) {
    v.RequireId(cart.code_batch_id(), p + "cart_recovery.code_batch_id");
    v.Check(cart.after_hours() > 0, p + "cart_recovery.code_batch_id",
            "needs cart_recovery.after_hours");
  }
}

void CheckRules(common::Validator& v, const v1::EarnRules& r, const std::string& p) {
  v.Check(r.base_rate() >= 0 && r.base_rate() <= 1000000, p + "base_rate", "must be 0 to 1,000,000");
  v.Check(r.multipliers_size() <= 1000, p + "multipliers", "at most 1000");
  for (int i = 0; i < r.multipliers_size(); ++i) {
    const auto& m = r.multipliers(i);
    const std::string f = p + "multipliers[" + std::to_string(i) + "].";
    v.Check(m.sku().empty() != m.category().empty(), f + "sku", "set exactly one of sku, category");
    v.Check(m.multiplier_bps() >= 0 && m.multiplier_bps() <= 100 * kOneX, f + "multiplier_bps",
            "must be 0 to 1,000,000 (×100)");
  }
  v.Check(r.campaigns_size() <= 100, p + "campaigns", "at most 100");
  for (int i = 0; i < r.campaigns_size(); ++i) {
    const auto& c = r.campaigns(i);
    const std::string f = p + "campaigns[" + std::to_string(i) + "].";
    v.Check(!c.name().empty(), f + "name", "is required");
    const bool starts_ok = v.Check(c.has_starts_at() && common::StorableTime(c.starts_at()),
                                   f + "starts_at", "is required, a time of years 1-9999");
    const bool ends_ok = v.Check(c.has_ends_at() && common::StorableTime(c.ends_at()), f + "ends_at",
                                 "is required, a time of years 1-9999");
    if (starts_ok && ends_ok) {
      v.Check(TimeUtil::TimestampToMicroseconds(c.starts_at()) <
                  TimeUtil::TimestampToMicroseconds(c.ends_at()),
              f + "ends_at", "must come after starts_at");
    }
    v.Check(c.multiplier_bps() >= 0 && c.multiplier_bps() <= 100 * kOneX, f + "multiplier_bps",
            "must be 0 to 1,000,000 (×100)");
  }
  v.Check(r.min_order_minor() >= 0, p + "min_order_minor", "must be 0 or more");
}

v1::Settings DefaultSettings(const std::string& currency_code, const std::string& time_zone) {
  v1::Settings s;
  s.set_currency_code(currency_code);
  s.set_time_zone(time_zone);
  s.set_earn_basis(v1::EARN_BASIS_POINTS_PER_UNIT);
  s.set_minor_per_unit(100);
  s.set_redeem_points(100);
  s.set_redeem_value_minor(100);
  s.set_return_window_days(30);
  s.set_return_window_start(v1::RETURN_WINDOW_START_FULFILMENT);
  s.set_expiry_months(12);
  s.set_expiry_warning_days(14);
  s.set_clawback_policy(v1::CLAWBACK_POLICY_DEBT);
  s.set_hold_ttl_seconds(900);
  return s;
}

}  // namespace loyalty::points
