#include "loyalty/common/money.hpp"

#include <algorithm>
#include <numeric>

namespace loyalty::common {

std::vector<int64_t> AllocateLargestRemainder(int64_t total, const std::vector<int64_t>& weights) {
  std::vector<int64_t> shares(weights.size(), 0);
  if (weights.empty() || total == 0) return shares;
  std::vector<int64_t> w = weights;
  Wide sum = std::accumulate(w.begin(), w.end(), Wide{0});
  if (sum == 0) {
    std::fill(w.begin(), w.end(), 1);
    sum = static_cast<Wide>(w.size());
  }
  std::vector<std::pair<Wide, size_t>> remainders;
  int64_t given = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const Wide exact = static_cast<Wide>(total) * w[i];
    shares[i] = static_cast<int64_t>(exact / sum);
    given += shares[i];
    remainders.emplace_back(exact % sum, i);
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; given < total; ++k, ++given) ++shares[remainders[k % remainders.size()].second];
  return shares;
}

int64_t CumulativeShare(int64_t total, int64_t part, int64_t whole) {
  if (whole == 0) return 0;
  return static_cast<int64_t>(static_cast<Wide>(total) * part / whole);
}

int64_t PointsValue(int64_t points, int64_t redeem_points, int64_t redeem_value_minor) {
  if (points <= 0 || redeem_points <= 0 || redeem_value_minor <= 0) return 0;
  return CumulativeShare(redeem_value_minor, points, redeem_points);
}

}  // namespace loyalty::common
