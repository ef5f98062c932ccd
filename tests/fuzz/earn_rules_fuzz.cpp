// Earn rules: under rules and settings that validate, a line earns 0 or more points, never more
// than its net at the base rate and the ×100 multiplier cap, no fewer for a larger net amount, and
// none when it is excluded or the order is under the minimum (services/points/earn_rules.hpp);
// and rules that validate hold only times that can be stored.
//
// Input: a serialized loyalty.points.v1.EarnRules, followed by the settings and the line, read
// from the end with FuzzedDataProvider; trailing zero bytes give the default settings (1 point per
// 100 minor) and a line of net 1000 placed at the Unix epoch, with the first SKU and category the
// rules name. A seed is made with
//   protoc -I protos --encode=loyalty.points.v1.EarnRules loyalty/points/v1/points_service.proto
// on text rules, followed by 64 zero bytes.
#include <fuzzer/FuzzedDataProvider.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <vector>

#include "earn_rules.hpp"
#include "invariant.hpp"
#include "loyalty/common/money.hpp"

namespace {

using namespace loyalty;
using common::Wide;
using google::protobuf::util::TimeUtil;

points::v1::Settings SettingsFrom(FuzzedDataProvider& in) {
  auto settings = points::DefaultSettings("EUR", "Europe/Paris");
  if (in.ConsumeBool()) {
    settings.set_earn_basis(points::v1::EARN_BASIS_CASHBACK);
    settings.set_redeem_points(in.ConsumeIntegralInRange<int64_t>(1, 1'000'000));
    settings.set_redeem_value_minor(in.ConsumeIntegralInRange<int64_t>(0, 1'000'000'000));
  }
  if (in.ConsumeBool()) {
    settings.set_minor_per_unit(in.ConsumeIntegralInRange<int64_t>(1, 1'000'000));
  }
  return settings;
}

// The names the rules use (multipliers, exclusions, campaigns), so that lines hit them.
struct Names {
  std::vector<std::string> skus, categories;
};

Names NamesOf(const points::v1::EarnRules& rules) {
  Names names;
  for (const auto& m : rules.multipliers()) {
    if (!m.sku().empty()) names.skus.push_back(m.sku());
    if (!m.category().empty()) names.categories.push_back(m.category());
  }
  names.skus.insert(names.skus.end(), rules.excluded_skus().begin(), rules.excluded_skus().end());
  names.categories.insert(names.categories.end(), rules.excluded_categories().begin(),
                          rules.excluded_categories().end());
  for (const auto& c : rules.campaigns()) {
    names.categories.insert(names.categories.end(), c.categories().begin(), c.categories().end());
  }
  return names;
}

// The most a line may earn: its net (if positive) at the ×100 cap (the formula of
// points_service.proto).
Wide Bound(const points::v1::EarnRules& rules, const points::v1::Settings& settings, int64_t net) {
  if (net <= 0) return 0;
  const bool cashback = settings.earn_basis() == points::v1::EARN_BASIS_CASHBACK;
  const Wide rate = Wide{rules.base_rate()} * (cashback ? settings.redeem_points() : 1);
  const Wide denominator = Wide{points::kOneX} * (cashback ? Wide{points::kOneX} *
                                                                 settings.redeem_value_minor()
                                                           : Wide{settings.minor_per_unit()});
  if (denominator == 0) return 0;
  return Wide{net} * points::kMaxMultiplierBps * rate / denominator;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const auto settings = SettingsFrom(in);
  // Up to a line's largest gross, 100,000,000,000 × 10,000 (common/pricing.hpp), or negative.
  constexpr int64_t kMaxNet = 1'000'000'000'000'000;
  const int64_t net = in.ConsumeBool()
                          ? -in.ConsumeIntegralInRange<int64_t>(0, kMaxNet)
                          : 1000 + in.ConsumeIntegralInRange<int64_t>(0, kMaxNet - 1000);
  const int64_t more_net = in.ConsumeIntegralInRange<int64_t>(0, kMaxNet);
  const int64_t rest_of_order = in.ConsumeIntegralInRange<int64_t>(0, kMaxNet);
  // Microseconds of years 1 to 9999, what a Timestamp holds.
  const int64_t placed_at =
      in.ConsumeBool() ? in.ConsumeIntegralInRange<int64_t>(-62'135'596'800'000'000,
                                                            253'402'300'799'999'999)
                       : 0;
  const auto sku_pick = in.ConsumeIntegral<uint8_t>();
  const auto category_pick = in.ConsumeIntegral<uint8_t>();
  const auto bytes = in.ConsumeRemainingBytes<uint8_t>();
  points::v1::EarnRules rules;
  const google::protobuf::LogSilencer quiet;  // protobuf logs each string that is not UTF-8
  if (!rules.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return 0;
  REQUIRE(Passes([&](auto& v) { points::CheckSettings(v, settings, ""); }));
  if (!Passes([&](auto& v) { points::CheckRules(v, rules, ""); })) return 0;
  // Campaign times that validate are ones TimeUtil converts and Postgres stores: years 1-9999.
  for (const auto& c : rules.campaigns()) {
    for (const auto* t : {&c.starts_at(), &c.ends_at()}) {
      REQUIRE(t->seconds() >= TimeUtil::kTimestampMinSeconds &&
              t->seconds() <= TimeUtil::kTimestampMaxSeconds && t->nanos() >= 0 &&
              t->nanos() <= 999'999'999);
    }
  }

  const auto names = NamesOf(rules);
  auto pick = [](const std::vector<std::string>& from, uint8_t i) {
    return i < from.size() ? from[i] : std::string("other");
  };
  const points::EarnLine line{pick(names.skus, sku_pick), pick(names.categories, category_pick),
                              net};
  const int64_t order_net = std::max<int64_t>(net, 0) + rest_of_order;
  const int64_t earned = points::LinePoints(rules, settings, line, order_net, placed_at);
  REQUIRE(earned >= 0 && earned <= Bound(rules, settings, net) &&
          earned <= points::kMaxLinePoints);
  const bool excluded = std::ranges::count(rules.excluded_skus(), line.sku) > 0 ||
                        std::ranges::count(rules.excluded_categories(), line.category) > 0;
  if (excluded || net <= 0 || order_net < rules.min_order_minor()) REQUIRE(earned == 0);
  auto larger = line;
  larger.net_minor = net + more_net;
  REQUIRE(points::LinePoints(rules, settings, larger, order_net, placed_at) >= earned);
  return 0;
}
