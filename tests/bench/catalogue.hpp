// The benchmark's synthetic catalogue: products sku-00000 ... in 20 categories, with prices and
// a skewed popularity, shared by the direct-service and the gateway workloads of loyalty-bench.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "loyalty/recommendations/v1/recommendations_service.pb.h"

namespace loyalty::bench {

inline std::string Sku(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "sku-%05d", i);
  return buf;
}
inline std::string Category(int i) { return "cat-" + std::to_string(i % 20); }
inline int64_t PriceMinor(int i) { return 500 + (i * 37) % 5000; }
inline bool GiftWrappable(int i) { return i % 5 == 0; }

// Product i as the catalogue holds it.
inline void DescribeProduct(int i, loyalty::recommendations::v1::Product* p) {
  p->set_sku(Sku(i));
  p->set_name("Product " + std::to_string(i));
  p->set_category(Category(i));
  p->set_price_minor(PriceMinor(i));
  p->set_in_stock(true);
  p->set_gift_wrappable(GiftWrappable(i));
  p->set_kind(loyalty::recommendations::v1::PRODUCT_KIND_MERCHANDISE);
}

// Popular products first: a simple skew (squared uniform) so that carts and orders share SKUs.
inline int DrawProduct(int products, std::mt19937_64& rng) {
  const double u = std::uniform_real_distribution<double>(0, 1)(rng);
  return std::min(products - 1, static_cast<int>(u * u * products));
}

// n distinct products (n <= products), drawn with the same skew.
inline std::vector<int> DrawDistinct(int products, int n, std::mt19937_64& rng) {
  std::vector<bool> taken(static_cast<size_t>(products));
  std::vector<int> out;
  while (static_cast<int>(out.size()) < std::min(n, products)) {
    int p = DrawProduct(products, rng);
    // A popular product already taken: walk to the next free one (keeps the draw bounded).
    while (taken[static_cast<size_t>(p)]) p = (p + 1) % products;
    taken[static_cast<size_t>(p)] = true;
    out.push_back(p);
  }
  return out;
}

}  // namespace loyalty::bench
