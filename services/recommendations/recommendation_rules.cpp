#include "recommendation_rules.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace loyalty::recommendations {
namespace {

__extension__ using Wide = __int128;

// t^2 / o as an exact fraction, compared by cross-multiplication.
bool HigherAffinity(const Candidate& a, const Candidate& b) {
  const Wide left = static_cast<Wide>(a.together) * a.together * (b.orders > 0 ? b.orders : 1);
  const Wide right = static_cast<Wide>(b.together) * b.together * (a.orders > 0 ? a.orders : 1);
  const bool a_zero = a.orders <= 0 || a.together <= 0;
  const bool b_zero = b.orders <= 0 || b.together <= 0;
  if (a_zero != b_zero) return b_zero;
  if (!a_zero && left != right) return left > right;
  return a.sku < b.sku;
}

bool ValidName(const std::string& s, size_t max) { return !s.empty() && s.size() <= max; }

}  // namespace

std::vector<RecordedLine> DistinctSkus(const std::vector<EventLine>& lines) {
  std::vector<RecordedLine> out;
  std::unordered_map<std::string, size_t> index;
  for (const auto& line : lines) {
    auto [it, inserted] = index.try_emplace(line.sku, out.size());
    if (inserted) {
      RecordedLine r;
      r.sku = line.sku;
      r.position = static_cast<int>(out.size());
      out.push_back(std::move(r));
    }
    out[it->second].quantity += line.quantity;
  }
  return out;
}

void AddContribution(const std::vector<RecordedLine>& lines, bool counted, int sign,
                     ModelDelta& delta) {
  if (!counted) return;
  std::vector<const RecordedLine*> basket;
  for (const auto& line : lines) {
    if (line.quantity - line.refunded > 0) basket.push_back(&line);
  }
  auto bump = [](auto& map, const auto& key, int64_t by) {
    auto it = map.try_emplace(key, 0).first;
    it->second += by;
    if (it->second == 0) map.erase(it);
  };
  for (const auto* a : basket) {
    bump(delta.items, a->sku, sign);
    if (a->position >= kPairSkusPerOrder) continue;
    for (const auto* b : basket) {
      if (b == a || b->position >= kPairSkusPerOrder) continue;
      bump(delta.pairs, std::make_pair(a->sku, b->sku), sign);
    }
  }
}

bool InWindow(std::optional<int64_t> window_start_micros, int64_t placed_micros) {
  return !window_start_micros || placed_micros >= *window_start_micros;
}

ModelDelta Change(const std::vector<RecordedLine>& before, bool counted_before,
                  const std::vector<RecordedLine>& after, bool counted_after) {
  ModelDelta delta;
  AddContribution(after, counted_after, +1, delta);
  AddContribution(before, counted_before, -1, delta);
  return delta;
}

double Cosine(int64_t together, int64_t orders_a, int64_t orders_b) {
  if (together <= 0 || orders_a <= 0 || orders_b <= 0) return 0;
  return static_cast<double>(together) /
         std::sqrt(static_cast<double>(orders_a) * static_cast<double>(orders_b));
}

std::vector<Ranked> RankForProduct(const std::string& anchor, int64_t anchor_orders,
                                   const std::vector<Candidate>& candidates) {
  std::vector<Candidate> sorted;
  std::set<std::string> seen;
  for (const auto& c : candidates) {
    if (c.sku != anchor && seen.insert(c.sku).second) sorted.push_back(c);
  }
  std::sort(sorted.begin(), sorted.end(), HigherAffinity);
  std::vector<Ranked> out;
  for (const auto& c : sorted) {
    Ranked r;
    r.sku = c.sku;
    r.score = Cosine(c.together, anchor_orders, c.orders);
    r.related = {anchor};
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Ranked> MergeForCart(std::vector<Anchor> anchors) {
  std::sort(anchors.begin(), anchors.end(),
            [](const Anchor& a, const Anchor& b) { return a.sku < b.sku; });
  anchors.erase(std::unique(anchors.begin(), anchors.end(),
                            [](const Anchor& a, const Anchor& b) { return a.sku == b.sku; }),
                anchors.end());
  // Hashed by views of the anchors' strings (alive until the end): a large cart merges 500
  // candidates, and ordered maps of strings spent most of the call comparing SKUs.
  size_t total = 0;
  for (const auto& a : anchors) total += a.candidates.size();
  std::unordered_set<std::string_view> cart;
  for (const auto& a : anchors) cart.insert(a.sku);
  struct Acc {
    double score = 0;
    std::vector<std::pair<double, const std::string*>> parts;
  };
  std::unordered_map<std::string_view, Acc> merged;
  merged.reserve(total);
  std::unordered_set<std::string_view> seen;
  for (const auto& anchor : anchors) {  // in SKU order: every score sums in the same order
    seen.clear();
    for (const auto& c : anchor.candidates) {
      if (cart.contains(c.sku) || !seen.insert(c.sku).second) continue;
      const double cos = Cosine(c.together, anchor.orders, c.orders);
      auto& acc = merged[c.sku];
      acc.score += cos;
      acc.parts.emplace_back(cos, &anchor.sku);
    }
  }
  std::vector<Ranked> out;
  out.reserve(merged.size());
  for (auto& [sku, acc] : merged) {
    std::sort(acc.parts.begin(), acc.parts.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : *a.second < *b.second;
    });
    Ranked r;
    r.sku = std::string(sku);
    r.score = acc.score;
    r.related.reserve(acc.parts.size());
    for (const auto& part : acc.parts) r.related.push_back(*part.second);
    out.push_back(std::move(r));
  }
  // SKUs are distinct: the order is total, whatever the hash map's.
  std::sort(out.begin(), out.end(), [](const Ranked& a, const Ranked& b) {
    return a.score != b.score ? a.score > b.score : a.sku < b.sku;
  });
  return out;
}

std::vector<std::string> PickPopular(std::vector<PopularOption> options,
                                     const std::set<std::string>& taken, int need) {
  std::sort(options.begin(), options.end(), [](const PopularOption& a, const PopularOption& b) {
    return a.orders != b.orders ? a.orders > b.orders : a.sku < b.sku;
  });
  std::vector<std::string> out;
  for (const auto& o : options) {
    if (static_cast<int>(out.size()) >= need) break;
    if (taken.contains(o.sku) || (!out.empty() && out.back() == o.sku)) continue;
    out.push_back(o.sku);
  }
  return out;
}

bool InUpsellBand(int64_t base_price, int64_t price) {
  return price > base_price && static_cast<Wide>(price) * 2 <= static_cast<Wide>(base_price) * 3;
}

Upsells PickUpsells(const std::vector<UpsellItem>& items, const std::set<std::string>& in_cart,
                    int limit) {
  Upsells out;
  std::set<std::string> picked;
  for (const auto& item : items) {
    if (static_cast<int>(out.picks.size()) >= limit) break;
    if (!item.premium.empty()) {
      if (picked.insert(item.premium).second) out.picks.push_back({item.premium, item.sku, true});
      continue;
    }
    if (!item.band_read) {
      out.needs_bands = true;
      break;
    }
    for (const auto& [sku, price] : item.band) {
      if (in_cart.contains(sku) || picked.contains(sku) || !InUpsellBand(item.price_minor, price)) {
        continue;
      }
      picked.insert(sku);
      out.picks.push_back({sku, item.sku, false});
      break;
    }
  }
  return out;
}

std::vector<GapCloser> RankGapClosers(int64_t missing, const std::vector<GapOption>& options,
                                      int limit) {
  std::map<std::string, GapOption> unique;
  for (const auto& o : options) {
    if (o.price_minor < missing) continue;
    auto [it, inserted] = unique.try_emplace(o.sku, o);
    if (!inserted && o.bought_together && !it->second.bought_together) it->second = o;
  }
  std::vector<GapCloser> out;
  for (const auto& [sku, o] : unique) {
    GapCloser c;
    c.sku = sku;
    c.overshoot_minor = o.price_minor - missing;
    c.bought_together = o.bought_together;
    c.affinity = o.affinity;
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const GapCloser& a, const GapCloser& b) {
    if (a.bought_together != b.bought_together) return a.bought_together;
    if (a.overshoot_minor != b.overshoot_minor) return a.overshoot_minor < b.overshoot_minor;
    if (a.affinity != b.affinity) return a.affinity > b.affinity;
    return a.sku < b.sku;
  });
  if (static_cast<int>(out.size()) > limit) out.resize(static_cast<size_t>(std::max(limit, 0)));
  return out;
}

int EffectiveLimit(int requested, int fallback) { return requested == 0 ? fallback : requested; }

void CheckProduct(common::Validator& v, const v1::Product& p, const std::string& prefix) {
  v.RequireId(p.sku(), prefix + "sku");
  v.Check(ValidName(p.name(), 200), prefix + "name", "must be 1-200 characters");
  v.Check(ValidName(p.category(), 128), prefix + "category", "must be 1-128 characters");
  v.Check(p.price_minor() >= 0 && p.price_minor() <= kMaxMoneyMinor, prefix + "price_minor",
          "must be 0 to 10^15");
  if (!p.premium_sku().empty() && v.RequireId(p.premium_sku(), prefix + "premium_sku")) {
    v.Check(p.premium_sku() != p.sku(), prefix + "premium_sku", "must differ from sku");
  }
  v.Check(p.tags_size() <= 20, prefix + "tags", "at most 20 tags");
  for (int i = 0; i < p.tags_size(); ++i) {
    v.Check(ValidName(p.tags(i), 64), prefix + "tags[" + std::to_string(i) + "]",
            "must be 1-64 characters");
  }
  v.Check(v1::ProductKind_IsValid(p.kind()), prefix + "kind", "is not a known ProductKind");
}

void CheckUpsertProducts(common::Validator& v, const v1::UpsertProductsRequest& request) {
  v.RequireId(request.store_id(), "store_id");
  v.RequireId(request.request_id(), "request_id");
  v.Check(request.products_size() >= 1 && request.products_size() <= kMaxProductsPerUpsert,
          "products", "must hold 1 to 1000 products");
  std::set<std::string> skus;
  for (int i = 0; i < request.products_size() && i < kMaxProductsPerUpsert; ++i) {
    const auto& p = request.products(i);
    const std::string prefix = "products[" + std::to_string(i) + "].";
    CheckProduct(v, p, prefix);
    if (!p.sku().empty()) {
      v.Check(skus.insert(p.sku()).second, prefix + "sku", "appears twice in the request");
    }
  }
}

void CheckRecommendForProduct(common::Validator& v,
                              const v1::RecommendForProductRequest& request) {
  v.RequireId(request.store_id(), "store_id");
  v.RequireId(request.sku(), "sku");
  v.Check(request.limit() >= 0 && request.limit() <= kMaxLimit, "limit", "must be 0 to 50");
  v.Check(request.exclude_skus_size() <= kMaxExcluded, "exclude_skus", "at most 100 SKUs");
  for (int i = 0; i < request.exclude_skus_size() && i < kMaxExcluded; ++i) {
    v.RequireId(request.exclude_skus(i), "exclude_skus[" + std::to_string(i) + "]");
  }
}

void CheckRecommendForCart(common::Validator& v, const v1::RecommendForCartRequest& request) {
  v.RequireId(request.store_id(), "store_id");
  v.Check(request.lines_size() <= kMaxCartLines, "lines", "at most 100 lines");
  for (int i = 0; i < request.lines_size() && i < kMaxCartLines; ++i) {
    const std::string prefix = "lines[" + std::to_string(i) + "].";
    v.RequireId(request.lines(i).sku(), prefix + "sku");
    v.Check(request.lines(i).quantity() >= 1 && request.lines(i).quantity() <= 10000,
            prefix + "quantity", "must be 1 to 10000");
  }
  if (!request.customer_id().empty()) v.RequireId(request.customer_id(), "customer_id");
  v.Check(request.free_shipping_missing_minor() >= 0 &&
              request.free_shipping_missing_minor() <= kMaxMoneyMinor,
          "free_shipping_missing_minor", "must be 0 to 10^15");
  v.Check(request.limit() >= 0 && request.limit() <= kMaxLimit, "limit", "must be 0 to 50");
}

void CheckRebuildModel(common::Validator& v, const v1::RebuildModelRequest& request) {
  v.RequireId(request.store_id(), "store_id");
  v.RequireId(request.request_id(), "request_id");
  if (request.has_window_start()) {
    const auto& t = request.window_start();
    // 0001-01-01 to 9999-12-31, as google.protobuf.Timestamp allows.
    v.Check(t.seconds() >= -62135596800LL && t.seconds() <= 253402300799LL && t.nanos() >= 0 &&
                t.nanos() <= 999999999,
            "window_start", "is not a valid timestamp");
  }
}

std::vector<std::string> CartSkus(const v1::RecommendForCartRequest& request) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& line : request.lines()) {
    if (seen.insert(line.sku()).second) out.push_back(line.sku());
  }
  return out;
}

std::string KindName(v1::ProductKind kind) {
  return kind == v1::PRODUCT_KIND_GIFT_WRAP ? "gift_wrap" : "merchandise";
}

v1::ProductKind KindFromName(const std::string& name) {
  return name == "gift_wrap" ? v1::PRODUCT_KIND_GIFT_WRAP : v1::PRODUCT_KIND_MERCHANDISE;
}

}  // namespace loyalty::recommendations
