#include "recommendations_service.hpp"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>

#include "loyalty/orders/v1/orders_service.pb.h"
#include "recommendation_rules.hpp"

namespace loyalty::recommendations {

using common::ApiError;
using common::CallContext;
using common::InvalidEvent;
using common::Validator;
using google::protobuf::util::TimeUtil;
using loyalty::events::v1::Event;

namespace {

constexpr int kProductDefaultLimit = 10;
constexpr int kCartDefaultLimit = 5;
constexpr double kPremiumScore = 1.0;
constexpr double kBandScore = 0.5;
constexpr double kGiftWrapScore = 1.0;

void Fill(v1::Suggestion* s, const ProductRow& p, v1::Reason reason, double score,
          const std::vector<std::string>& related) {
  s->set_sku(p.sku);
  s->set_name(p.name);
  s->set_category(p.category);
  s->set_price_minor(p.price_minor);
  s->set_reason(reason);
  s->set_score(score);
  s->set_orders_count(p.orders);
  for (const auto& r : related) s->add_related_skus(r);
}

using Suggestions = google::protobuf::RepeatedPtrField<v1::Suggestion>;

// Cold start: fills `out` up to `limit` with the most ordered of `in_categories`, then of
// `in_store` (read without what `out` already holds, when `out` was not full).
void FillPopular(const std::vector<ProductRow>& in_categories,
                 const std::vector<ProductRow>& in_store, int limit, Suggestions* out) {
  std::set<std::string> taken;
  for (const auto& s : *out) taken.insert(s.sku());
  for (const auto& [rows, reason] :
       {std::pair{&in_categories, v1::REASON_POPULAR_IN_CATEGORY},
        std::pair{&in_store, v1::REASON_POPULAR_IN_STORE}}) {
    std::vector<PopularOption> options;
    std::map<std::string, const ProductRow*> by_sku;
    for (const auto& p : *rows) {
      options.push_back({p.sku, p.orders});
      by_sku.emplace(p.sku, &p);
    }
    for (const auto& sku : PickPopular(std::move(options), taken, limit - out->size())) {
      Fill(out->Add(), *by_sku.at(sku), reason, 0, {});
      taken.insert(sku);
    }
  }
}

// What a suggestion shows of each product the answer may suggest, by SKU (pointing into the
// view, which outlives it).
using Shown = std::unordered_map<std::string_view, const ProductRow*>;

// Cross-sell: the items' candidates merged (MergeForCart), then popular products. Returns the
// merged list (the gap closers rank it too).
std::vector<Ranked> FillCrossSell(const CartView& view, int limit, Suggestions* out,
                                  Shown& shown) {
  std::unordered_map<int, Anchor> by_item;
  for (const auto& item : view.items) {
    if (item.orders > 0) by_item[item.position] = Anchor{item.sku, item.orders, {}};
  }
  shown.reserve(view.candidates.size() + view.cheapest.size());
  for (const auto& row : view.candidates) {
    by_item.at(row.item).candidates.push_back(
        {row.product.sku, row.together, row.product.orders});
    shown.emplace(row.product.sku, &row.product);
  }
  std::vector<Anchor> anchors;
  anchors.reserve(by_item.size());
  for (auto& [position, anchor] : by_item) {
    if (!anchor.candidates.empty()) anchors.push_back(std::move(anchor));
  }
  auto merged = MergeForCart(std::move(anchors));
  for (const auto& r : merged) {
    if (out->size() >= limit) break;
    Fill(out->Add(), *shown.at(r.sku), v1::REASON_BOUGHT_TOGETHER, r.score, r.related);
  }
  FillPopular(view.popular_in_categories, view.popular_in_store, limit, out);
  return merged;
}

std::vector<UpsellItem> UpsellItems(const CartView& view) {
  std::vector<UpsellItem> items;
  for (const auto& item : view.items) {
    if (!item.catalogued) continue;
    UpsellItem u;
    u.sku = item.sku;
    u.price_minor = item.price_minor;
    if (auto it = view.premiums.find(item.sku); it != view.premiums.end()) {
      u.premium = it->second.sku;
    }
    if (auto it = view.bands.find(item.sku); it != view.bands.end()) {
      u.band_read = true;
      for (const auto& p : it->second) u.band.emplace_back(p.sku, p.price_minor);
    }
    items.push_back(std::move(u));
  }
  return items;
}

// How many items' upsell bands the cart's statement reads: twice the answer's length, so that
// items whose band is empty or already suggested rarely exhaust them; the rest are read by a
// second statement only when the answer reaches them.
int BandItems(int limit) { return 2 * limit; }

// Free-shipping gap closers: bought together with the cart first, then the cheapest others.
void FillGapClosers(const CartView& view, const std::vector<Ranked>& merged, int64_t missing,
                    int limit, Shown& shown, v1::RecommendForCartResponse* response) {
  if (missing <= 0) return;
  std::vector<GapOption> options;
  std::map<std::string, const Ranked*> ranked;
  for (const auto& r : merged) {
    const auto& p = *shown.at(r.sku);
    if (p.price_minor < missing) continue;
    options.push_back({r.sku, p.price_minor, true, r.score});
    ranked[r.sku] = &r;
  }
  for (const auto& p : view.cheapest) {
    options.push_back({p.sku, p.price_minor, false, 0});
    shown.emplace(p.sku, &p);
  }
  for (const auto& c : RankGapClosers(missing, options, limit)) {
    auto* s = response->add_free_shipping_gap_closers();
    Fill(s, *shown.at(c.sku), v1::REASON_CLOSES_FREE_SHIPPING_GAP, c.affinity,
         c.bought_together ? ranked.at(c.sku)->related : std::vector<std::string>{});
    s->set_overshoot_minor(c.overshoot_minor);
  }
}

// Gift wrap for the cart's gift-wrappable items.
void FillGiftWrap(const CartView& view, v1::RecommendForCartResponse* response) {
  std::vector<std::string> wrappable;
  for (const auto& item : view.items) {
    if (item.gift_wrappable) {
      wrappable.push_back(item.sku);
      response->add_gift_wrappable_skus(item.sku);
    }
  }
  if (wrappable.empty()) return;
  for (const auto& p : view.gift_wraps) {
    Fill(response->add_gift_wrap(), p, v1::REASON_GIFT_WRAP, kGiftWrapScore, wrappable);
  }
}

int64_t PlacedMicros(const orders::v1::Order& order, const Event& event) {
  if (order.has_placed_at()) return TimeUtil::TimestampToMicroseconds(order.placed_at());
  if (event.has_occurred_at()) return TimeUtil::TimestampToMicroseconds(event.occurred_at());
  throw InvalidEvent("the order has no placed_at and the event no occurred_at");
}

std::string OrderIdOf(const std::string& in_payload, const Event& event) {
  const std::string& id = in_payload.empty() ? event.aggregate_id() : in_payload;
  if (id != event.aggregate_id()) {
    throw InvalidEvent("the payload's order_id \"" + id + "\" is not the event's aggregate_id");
  }
  return id;
}

}  // namespace

RecommendationsService::RecommendationsService(common::ServiceHost& host, Settings settings)
    : host_(host),
      db_(host.db()),
      settings_(settings),
      store_(host.db(), settings.candidates),
      idempotency_(host.db(), "recommendations") {}

void RecommendationsService::Subscribe(common::InboxEventSink& sink) {
  auto placed = [this](pqxx::transaction_base& tx, const Event& e) { OnOrderPlaced(tx, e); };
  sink.On("order.placed", placed);
  sink.On("order.imported", placed);
  sink.On("order.refunded",
          [this](pqxx::transaction_base& tx, const Event& e) { OnOrderRefunded(tx, e); });
  sink.On("order.cancelled",
          [this](pqxx::transaction_base& tx, const Event& e) { OnOrderCancelled(tx, e); });
  // Nothing to learn from a fulfilment, but the order's events must be received in sequence:
  // accepting it lets its later refunds through.
  sink.On("order.fulfilled", [](pqxx::transaction_base&, const Event&) {});
}

// ---- Events ----

void RecommendationsService::OnOrderPlaced(pqxx::transaction_base& tx, const Event& event) const {
  const auto placed = common::UnpackEvent<orders::v1::OrderPlaced>(event);
  const auto& order = placed.order();
  if (!order.store_id().empty() && order.store_id() != event.store_id()) {
    throw InvalidEvent("the order's store_id is not the event's");
  }
  const std::string order_id = OrderIdOf(order.order_id(), event);
  const int64_t placed_micros = PlacedMicros(order, event);
  std::vector<EventLine> lines;
  std::map<std::string, int64_t> refunded;
  for (int i = 0; i < order.lines_size(); ++i) {
    const auto& line = order.lines(i);
    if (line.line().sku().empty()) {
      throw InvalidEvent("lines[" + std::to_string(i) + "] has no sku");
    }
    if (line.line().quantity() < 1) {
      throw InvalidEvent("lines[" + std::to_string(i) + "] has a quantity below 1");
    }
    lines.push_back({line.line().sku(), line.line().quantity()});
    refunded[line.line().sku()] +=
        std::clamp<int64_t>(line.refunded_quantity(), 0, line.line().quantity());
  }
  auto recorded = DistinctSkus(lines);
  for (auto& r : recorded) r.refunded = refunded[r.sku];

  const auto window = store_.LockWindow(tx, event.store_id());
  if (!store_.InsertOrder(tx, event.store_id(), order_id, order.customer_id(), placed_micros,
                          recorded)) {
    common::log::Warn("order already recorded; event ignored",
                      {{"order_id", order_id}, {"event_id", event.event_id()}});
    return;
  }
  const bool counted = InWindow(window, placed_micros);
  if (order.status() == orders::v1::ORDER_STATUS_CANCELLED) {
    const auto stored = store_.LoadOrder(tx, event.store_id(), order_id);
    store_.MarkCancelled(tx, event.store_id(), order_id, stored->order_key);
    return;
  }
  store_.Apply(tx, event.store_id(), Change({}, false, recorded, counted), recorded);
}

void RecommendationsService::OnOrderRefunded(pqxx::transaction_base& tx,
                                             const Event& event) const {
  const auto refund = common::UnpackEvent<orders::v1::OrderRefunded>(event);
  const std::string order_id = OrderIdOf(refund.order_id(), event);
  const auto window = store_.LockWindow(tx, event.store_id());
  const auto order = store_.LoadOrder(tx, event.store_id(), order_id);
  if (!order) throw InvalidEvent("order " + order_id + " was never received");
  auto after = order->lines;
  std::set<size_t> changed;
  for (const auto& line : refund.lines()) {
    auto it = std::find_if(after.begin(), after.end(),
                           [&](const RecordedLine& l) { return l.sku == line.sku(); });
    if (it == after.end()) {
      throw InvalidEvent("refunded sku \"" + line.sku() + "\" is not in order " + order_id);
    }
    if (line.quantity() < 1) throw InvalidEvent("a refunded quantity is below 1");
    it->refunded += line.quantity();
    if (it->refunded > it->quantity) {
      throw InvalidEvent("more units of \"" + line.sku() + "\" refunded than bought");
    }
    changed.insert(static_cast<size_t>(it - after.begin()));
  }
  for (size_t i : changed) {
    store_.SetRefunded(tx, event.store_id(), order->order_key, after[i].product_id,
                       after[i].refunded);
  }
  const bool counted = !order->cancelled && InWindow(window, order->placed_micros);
  store_.Apply(tx, event.store_id(), Change(order->lines, counted, after, counted), after);
}

void RecommendationsService::OnOrderCancelled(pqxx::transaction_base& tx,
                                              const Event& event) const {
  const auto cancelled = common::UnpackEvent<orders::v1::OrderCancelled>(event);
  const std::string order_id = OrderIdOf(cancelled.order_id(), event);
  const auto window = store_.LockWindow(tx, event.store_id());
  const auto order = store_.LoadOrder(tx, event.store_id(), order_id);
  if (!order) throw InvalidEvent("order " + order_id + " was never received");
  if (order->cancelled) return;
  store_.MarkCancelled(tx, event.store_id(), order_id, order->order_key);
  const bool counted = InWindow(window, order->placed_micros);
  store_.Apply(tx, event.store_id(), Change(order->lines, counted, order->lines, false),
               order->lines);
}

// ---- Catalogue ----

grpc::ServerUnaryReactor* RecommendationsService::UpsertProducts(
    grpc::CallbackServerContext* context, const v1::UpsertProductsRequest* request,
    v1::UpsertProductsResponse* response) {
  return host_.Serve(context, "UpsertProducts", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    CheckUpsertProducts(v, *request);
    v.ThrowIfInvalid();
    // Key order, so that two batches touching the same products cannot deadlock.
    std::vector<const v1::Product*> products;
    for (const auto& p : request->products()) products.push_back(&p);
    std::sort(products.begin(), products.end(),
              [](const v1::Product* a, const v1::Product* b) { return a->sku() < b->sku(); });
    db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      if (idempotency_.Begin(tx, request->store_id(), "UpsertProducts", request->request_id(),
                             *request, response)) {
        return;
      }
      response->Clear();
      for (const auto* p : products) {
        const auto created = store_.UpsertProduct(tx, request->store_id(), *p);
        if (!created) {
          response->set_unchanged(response->unchanged() + 1);
        } else if (*created) {
          response->set_created(response->created() + 1);
        } else {
          response->set_updated(response->updated() + 1);
        }
      }
      idempotency_.Finish(tx, request->store_id(), "UpsertProducts", request->request_id(),
                          *response);
    });
  });
}

grpc::ServerUnaryReactor* RecommendationsService::GetProduct(grpc::CallbackServerContext* context,
                                                             const v1::GetProductRequest* request,
                                                             v1::GetProductResponse* response) {
  return host_.Serve(context, "GetProduct", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    v.RequireId(request->sku(), "sku");
    v.ThrowIfInvalid();
    auto product = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return store_.GetProduct(tx, request->store_id(), request->sku());
    });
    if (!product) {
      throw ApiError(grpc::StatusCode::NOT_FOUND, "PRODUCT_NOT_FOUND",
                     "product " + request->sku() + " is not in the catalogue");
    }
    *response->mutable_product() = std::move(*product);
  });
}

// ---- Recommendations ----

grpc::ServerUnaryReactor* RecommendationsService::RecommendForProduct(
    grpc::CallbackServerContext* context, const v1::RecommendForProductRequest* request,
    v1::RecommendForProductResponse* response) {
  return host_.Serve(context, "RecommendForProduct", request->store_id(), [=, this](
                                                                              CallContext& call) {
    Validator v;
    CheckRecommendForProduct(v, *request);
    v.ThrowIfInvalid();
    const int limit = EffectiveLimit(request->limit(), kProductDefaultLimit);
    const std::string& store_id = request->store_id();
    const std::string& sku = request->sku();
    std::vector<std::string> exclude(request->exclude_skus().begin(), request->exclude_skus().end());
    exclude.push_back(sku);
    const auto view = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return store_.ViewProduct(tx, store_id, sku, exclude, limit);
    });
    auto* out = response->mutable_suggestions();
    if (view.product && view.product->orders > 0) {
      std::vector<Candidate> candidates;
      std::map<std::string, const ProductRow*> shown;
      for (const auto& row : view.candidates) {
        candidates.push_back({row.product.sku, row.together, row.product.orders});
        shown.emplace(row.product.sku, &row.product);
      }
      for (const auto& r : RankForProduct(sku, view.product->orders, candidates)) {
        if (out->size() >= limit) break;
        Fill(out->Add(), *shown.at(r.sku), v1::REASON_BOUGHT_TOGETHER, r.score, r.related);
      }
    }
    FillPopular(view.popular_in_category, view.popular_in_store, limit, out);
  });
}

grpc::ServerUnaryReactor* RecommendationsService::RecommendForCart(
    grpc::CallbackServerContext* context, const v1::RecommendForCartRequest* request,
    v1::RecommendForCartResponse* response) {
  return host_.Serve(context, "RecommendForCart", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    CheckRecommendForCart(v, *request);
    v.ThrowIfInvalid();
    const int limit = EffectiveLimit(request->limit(), kCartDefaultLimit);
    const std::string& store_id = request->store_id();
    const std::vector<std::string> cart = CartSkus(*request);
    const int64_t missing = request->free_shipping_missing_minor();

    auto view = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return store_.ViewCart(tx, store_id, cart, request->customer_id(), limit, missing,
                             BandItems(limit));
    });
    Shown shown;
    const auto merged = FillCrossSell(view, limit, response->mutable_cross_sell(), shown);
    FillUpsell(call.deadline, store_id, view, cart, limit, response);
    FillGapClosers(view, merged, missing, limit, shown, response);
    FillGiftWrap(view, response);
  });
}

// Upsell: the explicit premium version first, else the category's band. The bands of items
// beyond the first BandItems(limit) are read (a second statement) only when the answer gets to
// them.
void RecommendationsService::FillUpsell(common::Deadline deadline, const std::string& store_id,
                                        CartView& view, const std::vector<std::string>& cart,
                                        int limit, v1::RecommendForCartResponse* response) const {
  const std::set<std::string> in_cart(cart.begin(), cart.end());
  auto upsells = PickUpsells(UpsellItems(view), in_cart, limit);
  if (upsells.needs_bands) {
    std::vector<ItemRow> unread;
    for (const auto& item : view.items) {
      if (item.catalogued && !view.premiums.contains(item.sku) && !view.bands.contains(item.sku)) {
        unread.push_back(item);
      }
    }
    view.bands.merge(db_.Read(deadline, [&](pqxx::transaction_base& tx) {
      return store_.Bands(tx, store_id, unread, cart);
    }));
    upsells = PickUpsells(UpsellItems(view), in_cart, limit);
  }
  std::map<std::string, const ProductRow*> products;
  for (const auto& [item, premium] : view.premiums) products.emplace(premium.sku, &premium);
  for (const auto& [item, band] : view.bands) {
    for (const auto& p : band) products.emplace(p.sku, &p);
  }
  for (const auto& pick : upsells.picks) {
    Fill(response->add_upsell(), *products.at(pick.sku),
         pick.premium ? v1::REASON_PREMIUM_VERSION : v1::REASON_UPGRADE_IN_CATEGORY,
         pick.premium ? kPremiumScore : kBandScore, {pick.item});
  }
}

// ---- Model ----

grpc::ServerUnaryReactor* RecommendationsService::RebuildModel(
    grpc::CallbackServerContext* context, const v1::RebuildModelRequest* request,
    v1::RebuildModelResponse* response) {
  return host_.Serve(context, "RebuildModel", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    CheckRebuildModel(v, *request);
    v.ThrowIfInvalid();
    std::optional<int64_t> window;
    if (request->has_window_start()) {
      window = TimeUtil::TimestampToMicroseconds(request->window_start());
    }
    // Its own budget: a rebuild of a large store outlives a short caller deadline.
    const auto deadline = std::max(call.deadline, common::Clock::now() + settings_.rebuild_timeout);
    db_.Write(deadline, [&](pqxx::transaction_base& tx) {
      if (idempotency_.Begin(tx, request->store_id(), "RebuildModel", request->request_id(),
                             *request, response)) {
        return;
      }
      const auto started = std::chrono::steady_clock::now();
      const auto counts = store_.Rebuild(tx, request->store_id(), window);
      response->Clear();
      response->set_orders_counted(counts.orders);
      response->set_products_counted(counts.products);
      response->set_pairs_counted(counts.pairs);
      response->set_duration_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - started)
                                    .count());
      if (window) *response->mutable_window_start() = request->window_start();
      idempotency_.Finish(tx, request->store_id(), "RebuildModel", request->request_id(),
                          *response);
    });
    common::log::Info("model rebuilt", {{"orders", response->orders_counted()},
                                        {"products", response->products_counted()},
                                        {"pairs", response->pairs_counted()},
                                        {"duration_ms", response->duration_ms()}});
  });
}

}  // namespace loyalty::recommendations
