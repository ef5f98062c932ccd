// Integer money and points arithmetic shared by pricing, orders and points. No floating point anywhere.
#pragma once

#include <cstdint>
#include <vector>

namespace loyalty::common {

// 128-bit intermediates: amount x quantity x share can exceed 64 bits before a division.
__extension__ using Wide = __int128;

// Splits `total` across `weights` in proportion, by largest remainder: every share is the floor of
// its exact share, and the units left over go to the largest fractional parts (earlier index on a
// tie). The shares always add up to `total`, and none exceeds its weight when total <= sum of
// weights. All-zero weights split as if equal.
std::vector<int64_t> AllocateLargestRemainder(int64_t total, const std::vector<int64_t>& weights);

// floor(total * part / whole), without overflow: the cumulative rule for partial refunds and
// clawbacks. Taking floor(total * r / q) minus what was taken before, at each refund of a line of
// q units, returns exactly `total` once r reaches q, in any number of steps.
int64_t CumulativeShare(int64_t total, int64_t part, int64_t whole);

// What `points` are worth when `redeem_points` points are worth `redeem_value_minor`, rounded
// down; 0 for no points or a store that does not redeem. The only points-to-money conversion.
int64_t PointsValue(int64_t points, int64_t redeem_points, int64_t redeem_value_minor);

}  // namespace loyalty::common
