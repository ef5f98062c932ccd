#include "program/earn_replay.hpp"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <limits>

#include "earn_rules.hpp"
#include "loyalty/common/money.hpp"

namespace loyalty::points {
namespace {

using google::protobuf::util::TimeUtil;

int64_t Micros(const google::protobuf::Timestamp& t) {
  return TimeUtil::TimestampToMicroseconds(t);
}

// Totals saturate rather than wrap: a line earns at most kMaxLinePoints, and a year of a large
// store's orders cannot reach int64's limit with valid rules, but a draft must not crash the report.
void AddTo(int64_t& total, int64_t points) {
  if (__builtin_add_overflow(total, points, &total)) total = std::numeric_limits<int64_t>::max();
}

int64_t Difference(int64_t a, int64_t b) { return a > b ? a - b : b - a; }

}  // namespace

EarnReplay::EarnReplay(v1::Settings settings, std::vector<v1::RuleVersion> versions,
                       v1::EarnRules draft)
    : settings_(std::move(settings)), versions_(std::move(versions)), draft_(std::move(draft)) {
  std::sort(versions_.begin(), versions_.end(), [](const auto& a, const auto& b) {
    const int64_t fa = Micros(a.effective_from()), fb = Micros(b.effective_from());
    return fa != fb ? fa < fb : a.version() < b.version();
  });
}

const v1::RuleVersion* EarnReplay::InForce(int64_t at_us) const {
  const auto after = std::upper_bound(
      versions_.begin(), versions_.end(), at_us,
      [](int64_t t, const v1::RuleVersion& v) { return t < Micros(v.effective_from()); });
  return after == versions_.begin() ? nullptr : &*std::prev(after);
}

void EarnReplay::Add(const orders::v1::PlacedOrder& order) {
  ++orders_;
  auto& customer = customers_[order.customer_id()];
  ++customer.orders;
  lines_ += order.lines_size();
  if (!order.earns_points()) return;
  const int64_t placed_us = Micros(order.placed_at());
  const v1::RuleVersion* in_force = InForce(placed_us);
  int64_t order_net = 0;
  for (const auto& line : order.lines()) order_net += line.net_minor();
  for (const auto& line : order.lines()) {
    const EarnLine earn{line.sku(), line.category(), line.net_minor()};
    const int64_t was =
        in_force ? LinePoints(in_force->rules(), settings_, earn, order_net, placed_us) : 0;
    const int64_t would = LinePoints(draft_, settings_, earn, order_net, placed_us);
    AddTo(customer.in_force, was);
    AddTo(customer.draft, would);
    AddTo(in_force_, was);
    AddTo(draft_points_, would);
  }
}

v1::EarnRulesDryRun EarnReplay::Report(int top) const {
  v1::EarnRulesDryRun report;
  report.set_orders(orders_);
  report.set_lines(lines_);
  report.set_customers(static_cast<int64_t>(customers_.size()));
  report.set_points_in_force(in_force_);
  report.set_points_draft(draft_points_);
  report.set_currency_code(settings_.currency_code());
  report.set_cost_in_force_minor(common::PointsValue(in_force_, settings_.redeem_points(),
                                                     settings_.redeem_value_minor()));
  report.set_cost_draft_minor(common::PointsValue(draft_points_, settings_.redeem_points(),
                                                  settings_.redeem_value_minor()));
  std::vector<std::pair<const std::string*, const Customer*>> affected;
  for (const auto& [id, c] : customers_) {
    if (c.in_force != c.draft) affected.emplace_back(&id, &c);
  }
  report.set_customers_affected(static_cast<int64_t>(affected.size()));
  const auto more_affected = [](const auto& a, const auto& b) {
    const int64_t da = Difference(a.second->in_force, a.second->draft);
    const int64_t db = Difference(b.second->in_force, b.second->draft);
    return da != db ? da > db : *a.first < *b.first;
  };
  const size_t shown = std::min(affected.size(), static_cast<size_t>(std::max(top, 0)));
  std::partial_sort(affected.begin(), affected.begin() + static_cast<std::ptrdiff_t>(shown),
                    affected.end(), more_affected);
  for (size_t i = 0; i < shown; ++i) {
    auto* out = report.add_most_affected();
    out->set_customer_id(*affected[i].first);
    out->set_orders(affected[i].second->orders);
    out->set_points_in_force(affected[i].second->in_force);
    out->set_points_draft(affected[i].second->draft);
  }
  return report;
}

}  // namespace loyalty::points
