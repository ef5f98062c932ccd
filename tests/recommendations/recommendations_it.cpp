// RecommendationsService through a real loyalty-recommendations process on a real Postgres. Order
// events are delivered the way the orders service's relay delivers them: DeliverEvent on the
// service's EventSinkService with the internal token, real OrderPlaced / OrderRefunded /
// OrderCancelled payloads, per-order sequences.
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <set>

#include "loyalty/common/errors.hpp"
#include "loyalty/events/v1/events.grpc.pb.h"
#include "loyalty/orders/v1/orders_service.pb.h"
#include "loyalty/recommendations/v1/recommendations_service.grpc.pb.h"
#include "test_env.hpp"

namespace loyalty::recommendations {
namespace {

using common::ErrorFields;
using common::ErrorReason;
using google::protobuf::util::TimeUtil;
using loyalty::events::v1::Event;

// The service's definitions, restated: only the first 20 distinct SKUs of an order form pairs;
// upsell band: base < price <= 1.5 x base; 50 candidates per product unless configured; a cart
// of more than 10 learnt items shares 10 items' worth of candidates, at least 5 per item.
constexpr int kPairSkus = 20;
constexpr int kDefaultCandidates = 50;
constexpr int kExactCartItems = 10;
constexpr int kMinCandidatesPerItem = 5;
constexpr const char* kStore = "store-1";

__extension__ using Wide = __int128;

// ---------------------------------------------------------------------------------------------
// The brute force: the orders as the test sent them, and every answer computed from them.

struct TLine {
  std::string line_id;
  std::string sku;
  int quantity = 0;
  int refunded = 0;
};

struct TOrder {
  std::string id;
  std::string customer;
  int64_t placed_micros = 0;
  std::vector<TLine> lines;
  bool cancelled = false;
  bool fulfilled = false;
  int64_t sequence = 0;  // of the last event sent
};

struct Expected {
  std::string sku;
  v1::Reason reason = v1::REASON_UNSPECIFIED;
  double score = 0;
};

class BruteForce {
 public:
  std::map<std::string, TOrder> orders;
  std::map<std::string, v1::Product> catalogue;
  std::optional<int64_t> window;
  int candidates = 100;
  // The service's product ids: the candidate cut breaks ties of co-purchase count by them.
  std::map<std::string, int64_t> ids;

  // (sku, position) of the SKUs an order holds now, or nothing when it does not count.
  std::vector<std::pair<std::string, int>> Basket(const TOrder& o) const {
    if (o.cancelled || (window && o.placed_micros < *window)) return {};
    std::vector<std::string> first_seen;
    std::map<std::string, int> net;
    for (const auto& l : o.lines) {
      if (!net.contains(l.sku)) first_seen.push_back(l.sku);
      net[l.sku] += l.quantity - l.refunded;
    }
    std::vector<std::pair<std::string, int>> out;
    for (int i = 0; i < static_cast<int>(first_seen.size()); ++i) {
      if (net[first_seen[i]] > 0) out.emplace_back(first_seen[i], i);
    }
    return out;
  }

  std::map<std::string, int64_t> Items() const {
    std::map<std::string, int64_t> items;
    for (const auto& [id, o] : orders) {
      for (const auto& [sku, pos] : Basket(o)) ++items[sku];
    }
    return items;
  }

  std::map<std::pair<std::string, std::string>, int64_t> Pairs() const {
    std::map<std::pair<std::string, std::string>, int64_t> pairs;
    for (const auto& [id, o] : orders) {
      const auto basket = Basket(o);
      for (const auto& [a, pa] : basket) {
        for (const auto& [b, pb] : basket) {
          if (a != b && pa < kPairSkus && pb < kPairSkus) ++pairs[{a, b}];
        }
      }
    }
    return pairs;
  }

  bool Eligible(const std::string& sku) const {
    auto it = catalogue.find(sku);
    return it != catalogue.end() && it->second.in_stock() && !it->second.hidden() &&
           it->second.kind() != v1::PRODUCT_KIND_GIFT_WRAP;
  }

  std::set<std::string> Owned(const std::string& customer) const {
    std::set<std::string> out;
    for (const auto& [id, o] : orders) {
      if (o.customer != customer || o.cancelled) continue;
      std::map<std::string, int> net;
      for (const auto& l : o.lines) net[l.sku] += l.quantity - l.refunded;
      for (const auto& [sku, n] : net) {
        if (n > 0) out.insert(sku);
      }
    }
    return out;
  }

  struct Cand {
    std::string sku;
    int64_t together;
    int64_t orders;
  };

  // The candidates of `anchor`: its eligible, not excluded partners, most bought together first,
  // at most `cut` (the service's candidates setting when 0).
  std::vector<Cand> Candidates(const std::string& anchor, const std::set<std::string>& exclude,
                               const std::map<std::string, int64_t>& items,
                               const std::map<std::pair<std::string, std::string>, int64_t>& pairs,
                               int cut = 0) const {
    if (cut == 0) cut = candidates;
    std::vector<Cand> out;
    for (const auto& [key, together] : pairs) {
      if (key.first != anchor || !Eligible(key.second) || exclude.contains(key.second)) continue;
      out.push_back({key.second, together, items.at(key.second)});
    }
    std::sort(out.begin(), out.end(), [this](const Cand& a, const Cand& b) {
      return a.together != b.together ? a.together > b.together : ids.at(a.sku) < ids.at(b.sku);
    });
    if (static_cast<int>(out.size()) > cut) out.resize(static_cast<size_t>(cut));
    return out;
  }

  static double Cos(int64_t together, int64_t a, int64_t b) {
    return static_cast<double>(together) / std::sqrt(static_cast<double>(a) * static_cast<double>(b));
  }

  void FillPopular(std::vector<Expected>& out, const std::vector<std::string>& categories,
                   std::set<std::string> exclude, int limit,
                   const std::map<std::string, int64_t>& items) const {
    for (const auto& e : out) exclude.insert(e.sku);
    auto fill = [&](bool by_category) {
      std::vector<std::pair<int64_t, std::string>> popular;
      for (const auto& [sku, n] : items) {
        if (!Eligible(sku) || exclude.contains(sku) || n <= 0) continue;
        const auto& category = catalogue.at(sku).category();
        if (by_category && std::find(categories.begin(), categories.end(), category) ==
                               categories.end()) {
          continue;
        }
        popular.emplace_back(-n, sku);
      }
      std::sort(popular.begin(), popular.end());
      for (const auto& [n, sku] : popular) {
        if (static_cast<int>(out.size()) >= limit) break;
        out.push_back({sku, by_category ? v1::REASON_POPULAR_IN_CATEGORY : v1::REASON_POPULAR_IN_STORE,
                       0});
        exclude.insert(sku);
      }
    };
    if (!categories.empty()) fill(true);
    fill(false);
  }

  std::vector<Expected> ForProduct(const std::string& sku, int limit,
                                   const std::set<std::string>& excluded) const {
    const auto items = Items();
    const auto pairs = Pairs();
    std::set<std::string> exclude = excluded;
    exclude.insert(sku);
    std::vector<Expected> out;
    if (items.contains(sku)) {
      auto cands = Candidates(sku, exclude, items, pairs);
      // Cosine order, decided exactly: together^2 / orders, cross-multiplied.
      std::sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) {
        const Wide l = static_cast<Wide>(a.together) * a.together * b.orders;
        const Wide r = static_cast<Wide>(b.together) * b.together * a.orders;
        return l != r ? l > r : a.sku < b.sku;
      });
      for (const auto& c : cands) {
        if (static_cast<int>(out.size()) >= limit) break;
        out.push_back({c.sku, v1::REASON_BOUGHT_TOGETHER, Cos(c.together, items.at(sku), c.orders)});
      }
    }
    std::vector<std::string> categories;
    if (catalogue.contains(sku)) categories.push_back(catalogue.at(sku).category());
    FillPopular(out, categories, exclude, limit, items);
    return out;
  }

  std::vector<Expected> CrossSell(const std::vector<std::string>& cart, const std::string& customer,
                                  int limit) const {
    const auto items = Items();
    const auto pairs = Pairs();
    std::set<std::string> exclude(cart.begin(), cart.end());
    if (!customer.empty()) {
      for (const auto& s : Owned(customer)) exclude.insert(s);
    }
    std::vector<std::string> anchors;
    for (const auto& a : cart) {
      if (items.contains(a)) anchors.push_back(a);
    }
    std::sort(anchors.begin(), anchors.end());
    const int learnt = static_cast<int>(anchors.size());
    const int cut = learnt <= kExactCartItems
                        ? candidates
                        : std::max(kMinCandidatesPerItem, candidates * kExactCartItems / learnt);
    std::map<std::string, double> score;
    for (const auto& a : anchors) {
      for (const auto& c : Candidates(a, exclude, items, pairs, cut)) {
        score[c.sku] += Cos(c.together, items.at(a), c.orders);
      }
    }
    std::vector<std::pair<double, std::string>> ranked;
    for (const auto& [sku, s] : score) ranked.emplace_back(s, sku);
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    std::vector<Expected> out;
    for (const auto& [s, sku] : ranked) {
      if (static_cast<int>(out.size()) >= limit) break;
      out.push_back({sku, v1::REASON_BOUGHT_TOGETHER, s});
    }
    std::vector<std::string> categories;
    for (const auto& sku : cart) {
      if (!catalogue.contains(sku)) continue;
      const auto& c = catalogue.at(sku).category();
      if (std::find(categories.begin(), categories.end(), c) == categories.end()) {
        categories.push_back(c);
      }
    }
    FillPopular(out, categories, exclude, limit, items);
    return out;
  }
};

template <class Suggestions>
void ExpectAnswer(const std::vector<Expected>& expected, const Suggestions& actual,
                  const std::string& what) {
  std::string want, got;
  for (const auto& e : expected) want += e.sku + "/" + v1::Reason_Name(e.reason) + " ";
  for (const auto& s : actual) got += s.sku() + "/" + v1::Reason_Name(s.reason()) + " ";
  ASSERT_EQ(got, want) << what;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(actual[static_cast<int>(i)].score(), expected[i].score, 1e-12) << what << " #" << i;
  }
}

// ---------------------------------------------------------------------------------------------

std::string Uuid(std::mt19937_64& rng) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
    out += kHex[rng() % 16];
  }
  return out;
}

v1::Product MakeProduct(const std::string& sku, const std::string& category, int64_t price,
                        bool in_stock = true) {
  v1::Product p;
  p.set_sku(sku);
  p.set_name("Product " + sku);
  p.set_category(category);
  p.set_price_minor(price);
  p.set_in_stock(in_stock);
  return p;
}

class RecommendationsIT : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(std::map<std::string, std::string> env) {
    process_.reset();
    process_ = std::make_unique<testing::ServiceProcess>("recommendations", db_.url(), env);
    process_->WaitServing();
    auto channel = grpc::CreateChannel(process_->address(), grpc::InsecureChannelCredentials());
    stub_ = v1::RecommendationsService::NewStub(channel);
    sink_ = loyalty::events::v1::EventSinkService::NewStub(channel);
  }

  // ---- catalogue ----
  void Upsert(const std::vector<v1::Product>& products, const std::string& store = kStore) {
    v1::UpsertProductsRequest r;
    r.set_store_id(store);
    r.set_request_id(Uuid(rng_));
    for (const auto& p : products) {
      *r.add_products() = p;
      if (store == kStore) model_.catalogue[p.sku()] = p;
    }
    v1::UpsertProductsResponse response;
    const auto status = stub_->UpsertProducts(testing::InternalContext().get(), r, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // ---- events ----
  grpc::Status Deliver(const Event& e, bool* duplicate = nullptr) {
    loyalty::events::v1::DeliverEventRequest request;
    *request.mutable_event() = e;
    loyalty::events::v1::DeliverEventResponse response;
    auto status = sink_->DeliverEvent(testing::InternalContext().get(), request, &response);
    if (duplicate) *duplicate = response.duplicate();
    return status;
  }

  Event MakeEvent(const std::string& type, const std::string& order_id, int64_t sequence,
                  const google::protobuf::Message& payload, const std::string& store = kStore) {
    Event e;
    e.set_event_id(Uuid(rng_));
    e.set_store_id(store);
    e.set_type(type);
    e.set_aggregate_id(order_id);
    e.set_sequence(sequence);
    *e.mutable_occurred_at() = TimeUtil::GetCurrentTime();
    e.mutable_payload()->PackFrom(payload);
    return e;
  }

  void Send(const Event& e) {
    bool duplicate = true;
    const auto status = Deliver(e, &duplicate);
    ASSERT_TRUE(status.ok()) << e.type() << " " << e.aggregate_id() << ": " << status.error_message();
    EXPECT_FALSE(duplicate);
    sent_.push_back(e);
  }

  // Places an order of (sku, quantity) lines, recording it in the brute force.
  void Place(const std::string& order_id, const std::vector<std::pair<std::string, int>>& lines,
             const std::string& customer = "cust-1", bool imported = false,
             int64_t placed_micros = 0, const std::string& store = kStore) {
    TOrder t;
    t.id = order_id;
    t.customer = customer;
    t.placed_micros = placed_micros ? placed_micros
                                    : TimeUtil::TimestampToMicroseconds(TimeUtil::GetCurrentTime());
    orders::v1::OrderPlaced placed;
    auto* o = placed.mutable_order();
    o->set_store_id(store);
    o->set_order_id(order_id);
    o->set_customer_id(customer);
    o->set_currency_code("EUR");
    o->set_status(orders::v1::ORDER_STATUS_PLACED);
    o->set_imported(imported);
    *o->mutable_placed_at() = TimeUtil::MicrosecondsToTimestamp(t.placed_micros);
    int n = 0;
    for (const auto& [sku, quantity] : lines) {
      auto* line = o->add_lines()->mutable_line();
      line->set_line_id("l" + std::to_string(++n));
      line->set_sku(sku);
      line->set_category("c");
      line->set_unit_price_minor(100);
      line->set_quantity(quantity);
      t.lines.push_back({line->line_id(), sku, quantity, 0});
    }
    t.sequence = 1;
    Send(MakeEvent(imported ? "order.imported" : "order.placed", order_id, 1, placed, store));
    if (store == kStore) model_.orders[order_id] = t;
  }

  // Refunds (line index, quantity) pairs of an order.
  void Refund(const std::string& order_id, const std::vector<std::pair<int, int>>& refunds) {
    auto& t = model_.orders.at(order_id);
    orders::v1::OrderRefunded r;
    r.set_order_id(order_id);
    r.set_customer_id(t.customer);
    r.set_refund_id(Uuid(rng_));
    for (const auto& [index, quantity] : refunds) {
      auto& line = t.lines[static_cast<size_t>(index)];
      line.refunded += quantity;
      auto* l = r.add_lines();
      l->set_line_id(line.line_id);
      l->set_sku(line.sku);
      l->set_quantity(quantity);
      l->set_refunded_quantity_total(line.refunded);
      l->set_line_quantity(line.quantity);
    }
    Send(MakeEvent("order.refunded", order_id, ++t.sequence, r));
  }

  void Cancel(const std::string& order_id) {
    auto& t = model_.orders.at(order_id);
    orders::v1::OrderCancelled c;
    c.set_order_id(order_id);
    c.set_customer_id(t.customer);
    t.cancelled = true;
    Send(MakeEvent("order.cancelled", order_id, ++t.sequence, c));
  }

  void Fulfil(const std::string& order_id) {
    auto& t = model_.orders.at(order_id);
    orders::v1::OrderFulfilled f;
    f.set_order_id(order_id);
    f.set_customer_id(t.customer);
    t.fulfilled = true;
    Send(MakeEvent("order.fulfilled", order_id, ++t.sequence, f));
  }

  // ---- queries ----
  v1::RecommendForProductResponse ForProduct(const std::string& sku, int limit = 0,
                                             const std::vector<std::string>& exclude = {},
                                             const std::string& store = kStore) {
    v1::RecommendForProductRequest r;
    r.set_store_id(store);
    r.set_sku(sku);
    r.set_limit(limit);
    for (const auto& e : exclude) r.add_exclude_skus(e);
    v1::RecommendForProductResponse response;
    const auto status = stub_->RecommendForProduct(testing::InternalContext().get(), r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  v1::RecommendForCartResponse ForCart(const std::vector<std::string>& cart, int64_t missing = 0,
                                       int limit = 0, const std::string& customer = "") {
    v1::RecommendForCartRequest r;
    r.set_store_id(kStore);
    for (const auto& sku : cart) {
      auto* line = r.add_lines();
      line->set_sku(sku);
      line->set_quantity(1);
    }
    r.set_customer_id(customer);
    r.set_free_shipping_missing_minor(missing);
    r.set_limit(limit);
    v1::RecommendForCartResponse response;
    const auto status = stub_->RecommendForCart(testing::InternalContext().get(), r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  v1::RebuildModelResponse Rebuild(std::optional<int64_t> window_micros = std::nullopt,
                                   const std::string& request_id = "") {
    v1::RebuildModelRequest r;
    r.set_store_id(kStore);
    r.set_request_id(request_id.empty() ? Uuid(rng_) : request_id);
    if (window_micros) *r.mutable_window_start() = TimeUtil::MicrosecondsToTimestamp(*window_micros);
    v1::RebuildModelResponse response;
    const auto status =
        stub_->RebuildModel(testing::InternalContext(std::chrono::seconds(60)).get(), r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    model_.window = window_micros;
    return response;
  }

  // ---- the database's counts ----
  std::map<std::string, int64_t> DbItems() {
    pqxx::connection conn(db_.url());
    pqxx::nontransaction tx(conn);
    std::map<std::string, int64_t> out;
    for (const auto& r : tx.exec_params("SELECT sku, orders_count FROM recommendations.products "
                                        "WHERE store_id = $1 AND orders_count > 0",
                                        kStore)) {
      out[r[0].as<std::string>()] = r[1].as<int64_t>();
    }
    return out;
  }

  std::map<std::pair<std::string, std::string>, int64_t> DbPairs() {
    pqxx::connection conn(db_.url());
    pqxx::nontransaction tx(conn);
    std::map<std::pair<std::string, std::string>, int64_t> out;
    for (const auto& r : tx.exec_params(
             "SELECT a.sku, b.sku, x.together FROM recommendations.pairs x "
             "JOIN recommendations.products a ON a.store_id = x.store_id "
             "AND a.product_id = x.product_id JOIN recommendations.products b "
             "ON b.store_id = x.store_id AND b.product_id = x.other_id WHERE x.store_id = $1",
             kStore)) {
      out[{r[0].as<std::string>(), r[1].as<std::string>()}] = r[2].as<int64_t>();
    }
    return out;
  }

  std::map<std::string, int64_t> DbProductIds() {
    pqxx::connection conn(db_.url());
    pqxx::nontransaction tx(conn);
    std::map<std::string, int64_t> out;
    for (const auto& r : tx.exec_params(
             "SELECT sku, product_id FROM recommendations.products WHERE store_id = $1", kStore)) {
      out[r[0].as<std::string>()] = r[1].as<int64_t>();
    }
    return out;
  }

  // Every answer of the service equals the brute force's.
  void ExpectModelMatches(const std::string& when) {
    SCOPED_TRACE(when);
    model_.ids = DbProductIds();
    EXPECT_EQ(DbItems(), model_.Items());
    EXPECT_EQ(DbPairs(), model_.Pairs());
    std::set<std::string> skus;
    for (const auto& [sku, p] : model_.catalogue) skus.insert(sku);
    for (const auto& [sku, n] : model_.Items()) skus.insert(sku);
    skus.insert("never-seen");
    for (const auto& sku : skus) {
      ExpectAnswer(model_.ForProduct(sku, 50, {}), ForProduct(sku, 50).suggestions(),
                   "product " + sku);
      ExpectAnswer(model_.ForProduct(sku, 3, {}), ForProduct(sku, 3).suggestions(),
                   "product " + sku + " limit 3");
    }
    const std::vector<std::string> all(skus.begin(), skus.end());
    for (int i = 0; i < 30; ++i) {
      std::vector<std::string> cart;
      // Mostly small carts; one in six large enough to share a budget of candidates.
      const int size = i % 6 == 5 ? kExactCartItems + 1 + static_cast<int>(rng_() % 15)
                                  : 1 + static_cast<int>(rng_() % 4);
      for (int k = 0; k < size; ++k) cart.push_back(all[rng_() % all.size()]);
      std::vector<std::string> distinct;
      for (const auto& s : cart) {
        if (std::find(distinct.begin(), distinct.end(), s) == distinct.end()) distinct.push_back(s);
      }
      const std::string customer = i % 3 == 0 ? "cust-" + std::to_string(rng_() % 4) : "";
      const int limit = i % 2 ? 50 : 4;
      std::string what = "cart";
      for (const auto& s : distinct) what += " " + s;
      ExpectAnswer(model_.CrossSell(distinct, customer, limit),
                   ForCart(cart, 0, limit, customer).cross_sell(), what + " for " + customer);
    }
  }

  // A store of `count` products over 7 categories (every 17th out of stock) and `orders` orders
  // of 2 to 6 of them, low indexes bought far more often (so that the items of a large cart share
  // their best partners, as with a real best-seller). Returns the SKUs.
  std::vector<std::string> SkewedStore(int count, int orders) {
    std::vector<v1::Product> products;
    std::vector<std::string> skus;
    for (int i = 0; i < count; ++i) {
      char sku[16];  // room for any int: GCC at -O1 cannot prove `i` small and warns
      std::snprintf(sku, sizeof sku, "q%03d", i);
      auto p = MakeProduct(sku, "cat-" + std::to_string(i % 7), 500 + 37 * i);
      if (i % 17 == 4) p.set_in_stock(false);
      products.push_back(p);
      skus.push_back(sku);
    }
    Upsert(products);
    auto draw = [&] {
      const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
      return skus[static_cast<size_t>(u * u * static_cast<double>(skus.size()))];
    };
    for (int o = 0; o < orders; ++o) {
      std::vector<std::pair<std::string, int>> lines;
      const size_t distinct = 2 + rng_() % 5;
      while (lines.size() < distinct) {
        const auto sku = draw();
        auto same = [&](const auto& line) { return line.first == sku; };
        if (std::none_of(lines.begin(), lines.end(), same)) lines.emplace_back(sku, 1);
      }
      Place("order-" + std::to_string(o), lines, "cust-" + std::to_string(o % 5));
      if (::testing::Test::HasFatalFailure()) break;
    }
    model_.ids = DbProductIds();
    return skus;
  }

  // `size` distinct SKUs of `skus`, in random order.
  std::vector<std::string> RandomCart(std::vector<std::string> skus, size_t size) {
    std::shuffle(skus.begin(), skus.end(), rng_);
    skus.resize(size);
    return skus;
  }

  std::mt19937_64 rng_{20240611};
  testing::TestDatabase db_;
  std::unique_ptr<testing::ServiceProcess> process_;
  std::unique_ptr<v1::RecommendationsService::Stub> stub_;
  std::unique_ptr<loyalty::events::v1::EventSinkService::Stub> sink_;
  BruteForce model_;
  std::vector<Event> sent_;
};

// ---------------------------------------------------------------------------------------------

TEST_F(RecommendationsIT, RandomOrdersRefundsAndCancellationsMatchABruteForceAndARebuild) {
  // A small candidate cut, so that it matters with 30 products.
  Start({{"LOYALTY_RECOMMENDATIONS_CANDIDATES", "6"}});
  model_.candidates = 6;
  std::vector<v1::Product> products;
  for (int i = 0; i < 30; ++i) {
    char sku[16];  // room for any int: GCC at -O1 cannot prove `i` small and warns
    std::snprintf(sku, sizeof sku, "p%02d", i);
    auto p = MakeProduct(sku, "cat-" + std::to_string(i % 3), 1000 + 137 * i);
    if (i % 11 == 3) p.set_in_stock(false);
    if (i % 13 == 5) p.set_hidden(true);
    if (i == 29) p.set_kind(v1::PRODUCT_KIND_GIFT_WRAP);
    products.push_back(p);
  }
  Upsert(products);
  // SKUs that orders name but the catalogue does not: counted, never suggested.
  std::vector<std::string> skus;
  for (const auto& p : products) skus.push_back(p.sku());
  skus.push_back("uncatalogued-1");
  skus.push_back("uncatalogued-2");

  const int64_t now = TimeUtil::TimestampToMicroseconds(TimeUtil::GetCurrentTime());
  const int64_t day = 86400LL * 1000000;
  int next_order = 0;
  // Skewed: low indexes are bought far more often.
  auto draw_sku = [&] {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
    return skus[static_cast<size_t>(std::pow(u, 2.0) * static_cast<double>(skus.size()))];
  };
  auto random_steps = [&](int steps) {
    for (int step = 0; step < steps; ++step) {
      const int roll = static_cast<int>(rng_() % 100);
      std::vector<std::string> open;
      for (const auto& [id, o] : model_.orders) {
        if (!o.cancelled) open.push_back(id);
      }
      if (roll < 55 || open.empty()) {
        std::vector<std::pair<std::string, int>> lines;
        const bool big = rng_() % 12 == 0;
        const int distinct = big ? kPairSkus + 1 + static_cast<int>(rng_() % 6)
                                 : 1 + static_cast<int>(rng_() % 5);
        std::vector<std::string> chosen;
        while (static_cast<int>(chosen.size()) < distinct) {
          auto s = big ? skus[rng_() % skus.size()] : draw_sku();
          if (std::find(chosen.begin(), chosen.end(), s) == chosen.end()) chosen.push_back(s);
        }
        for (const auto& s : chosen) lines.emplace_back(s, 1 + static_cast<int>(rng_() % 3));
        // Sometimes a SKU on two lines.
        if (rng_() % 4 == 0) lines.emplace_back(chosen[0], 1);
        const bool imported = rng_() % 3 == 0;
        const int64_t placed = imported ? now - static_cast<int64_t>(1 + rng_() % 100) * day : now;
        Place("o" + std::to_string(++next_order), lines, "cust-" + std::to_string(rng_() % 4),
              imported, placed);
      } else if (roll < 75) {
        const auto& id = open[rng_() % open.size()];
        std::vector<std::pair<int, int>> refunds;
        const auto& lines = model_.orders.at(id).lines;
        for (int i = 0; i < static_cast<int>(lines.size()); ++i) {
          const int left = lines[static_cast<size_t>(i)].quantity - lines[static_cast<size_t>(i)].refunded;
          if (left == 0 || rng_() % 2) continue;
          // Mostly whole lines, sometimes part of one.
          refunds.emplace_back(i, rng_() % 3 ? left : 1 + static_cast<int>(rng_() % left));
        }
        if (!refunds.empty()) Refund(id, refunds);
      } else if (roll < 85) {
        std::vector<std::string> cancellable;
        for (const auto& id : open) {
          if (!model_.orders.at(id).fulfilled) cancellable.push_back(id);
        }
        if (!cancellable.empty()) Cancel(cancellable[rng_() % cancellable.size()]);
      } else if (roll < 93) {
        std::vector<std::string> placed;
        for (const auto& id : open) {
          if (!model_.orders.at(id).fulfilled) placed.push_back(id);
        }
        if (!placed.empty()) Fulfil(placed[rng_() % placed.size()]);
      } else if (!sent_.empty()) {
        // A redelivery: acknowledged, no effect.
        bool duplicate = false;
        ASSERT_TRUE(Deliver(sent_[rng_() % sent_.size()], &duplicate).ok());
        EXPECT_TRUE(duplicate);
      }
      if (::testing::Test::HasFatalFailure()) return;
    }
  };

  random_steps(150);
  ASSERT_NO_FATAL_FAILURE(ExpectModelMatches("incremental"));
  // Stock changes apply at once.
  auto p1 = products[1];
  p1.set_in_stock(false);
  Upsert({p1});
  ASSERT_NO_FATAL_FAILURE(ExpectModelMatches("p01 out of stock"));

  const auto rebuilt = Rebuild();
  EXPECT_EQ(rebuilt.products_counted(), static_cast<int64_t>(model_.Items().size()));
  EXPECT_EQ(rebuilt.pairs_counted(), static_cast<int64_t>(model_.Pairs().size() / 2));
  ASSERT_NO_FATAL_FAILURE(ExpectModelMatches("after RebuildModel"));

  random_steps(80);
  ASSERT_NO_FATAL_FAILURE(ExpectModelMatches("incremental after a rebuild"));

  // A window: imported orders older than 50 days stop counting, now and for later events.
  Rebuild(now - 50 * day);
  ASSERT_NO_FATAL_FAILURE(ExpectModelMatches("after RebuildModel with a window"));
  random_steps(80);
  ASSERT_NO_FATAL_FAILURE(ExpectModelMatches("incremental inside a window"));
  Rebuild(now - 50 * day);
  ASSERT_NO_FATAL_FAILURE(ExpectModelMatches("rebuilt again inside the window"));
}

TEST_F(RecommendationsIT, ARedeliveredEventChangesNothing) {
  Upsert({MakeProduct("a", "c", 100), MakeProduct("b", "c", 200), MakeProduct("x", "c", 300)});
  Place("o1", {{"a", 1}, {"b", 2}, {"x", 1}});
  Refund("o1", {{2, 1}});
  const auto items = DbItems();
  const auto pairs = DbPairs();
  const auto answer = ForProduct("a").SerializeAsString();
  for (const auto& e : sent_) {
    bool duplicate = false;
    ASSERT_TRUE(Deliver(e, &duplicate).ok());
    EXPECT_TRUE(duplicate);
  }
  EXPECT_EQ(DbItems(), items);
  EXPECT_EQ(DbPairs(), pairs);
  EXPECT_EQ(ForProduct("a").SerializeAsString(), answer);
  EXPECT_EQ(items, model_.Items());
  EXPECT_EQ(pairs, model_.Pairs());
  EXPECT_FALSE(pairs.contains({"a", "x"})) << "a fully refunded line no longer counts";
}

TEST_F(RecommendationsIT, AHugeOrderFormsPairsOnlyAmongItsFirstTwentySkus) {
  std::vector<std::pair<std::string, int>> lines;
  for (int i = 0; i < 30; ++i) lines.emplace_back("s" + std::to_string(100 + i), 1);
  Place("big", lines);
  EXPECT_EQ(DbItems().size(), 30u);
  EXPECT_EQ(DbPairs().size(), static_cast<size_t>(kPairSkus * (kPairSkus - 1)));
  // Refunding a SKU of the first twenty does not let the twenty-first in.
  Refund("big", {{0, 1}});
  EXPECT_EQ(DbPairs().size(), static_cast<size_t>((kPairSkus - 1) * (kPairSkus - 2)));
  EXPECT_EQ(DbPairs(), model_.Pairs());
  Cancel("big");
  EXPECT_TRUE(DbItems().empty());
  EXPECT_TRUE(DbPairs().empty());
}

// A cart of more than 10 learnt items shares 10 items' worth of candidates: with 40 items, each
// brings its 12 strongest partners. Every item's partners tie after the first (bought together
// once), ties going to the product catalogued first; the two catalogued last have the smallest
// SKUs, so they would fill the list if they were candidates, and must not appear.
TEST_F(RecommendationsIT, ALargeCartSharesABudgetOfCandidates) {
  std::vector<v1::Product> catalogue = {MakeProduct("p", "c", 900)};
  std::vector<std::string> cart;
  for (int k = 0; k < 40; ++k) cart.push_back("i" + std::to_string(100 + k));
  for (const auto& item : cart) catalogue.push_back(MakeProduct(item, "c", 1000));
  auto filler = [](int j, const std::string& item) { return "f" + std::to_string(99 - j) + item; };
  Upsert(catalogue);
  for (int j = 0; j < 13; ++j) {  // one batch each: catalogue order = tie order, j = 12 last
    std::vector<v1::Product> fillers;
    for (const auto& item : cart) fillers.push_back(MakeProduct(filler(j, item), "c", 800));
    Upsert(fillers);
  }
  for (const auto& item : cart) {
    Place("twice-" + item, {{item, 1}, {"p", 1}});
    std::vector<std::pair<std::string, int>> lines = {{item, 1}, {"p", 1}};
    for (int j = 0; j < 13; ++j) lines.emplace_back(filler(j, item), 1);
    Place("once-" + item, lines);
  }

  const auto answer = ForCart(cart, 0, 50);
  ASSERT_EQ(answer.cross_sell_size(), 50);
  EXPECT_EQ(answer.cross_sell(0).sku(), "p") << "every item's strongest partner comes first";
  for (const auto& suggestion : answer.cross_sell()) {
    EXPECT_NE(suggestion.sku().substr(0, 3), "f87") << "beyond an item's 12 candidates";
    EXPECT_NE(suggestion.sku().substr(0, 3), "f88") << "beyond an item's 12 candidates";
  }
  // Without the budget the smallest SKUs among the tied would be f87... and f88...: what is
  // shown instead is the next ones, f89... (each item's 11th partner).
  EXPECT_EQ(answer.cross_sell(1).sku().substr(0, 3), "f89");
}

TEST_F(RecommendationsIT, NeverSuggestsWhatIsInTheCartOutOfStockOrHidden) {
  auto gone = MakeProduct("gone", "c", 500, false);
  auto secret = MakeProduct("secret", "c", 500);
  secret.set_hidden(true);
  auto wrap = MakeProduct("wrap", "services", 50);
  wrap.set_kind(v1::PRODUCT_KIND_GIFT_WRAP);
  auto a = MakeProduct("a", "c", 1000);
  a.set_gift_wrappable(true);
  a.set_premium_sku("gone");
  Upsert({a, MakeProduct("b", "c", 1200), MakeProduct("d", "c", 1400), gone, secret, wrap});
  for (int i = 0; i < 3; ++i) {
    Place("o" + std::to_string(i), {{"a", 1}, {"b", 1}, {"gone", 1}, {"secret", 1}, {"wrap", 1},
                                    {"d", 1}});
  }
  const auto cart = ForCart({"a", "b"}, 1, 50);
  std::set<std::string> forbidden = {"a", "b", "gone", "secret"};
  for (const auto* list : {&cart.cross_sell(), &cart.upsell(), &cart.free_shipping_gap_closers(),
                           &cart.gift_wrap()}) {
    for (const auto& s : *list) EXPECT_FALSE(forbidden.contains(s.sku())) << s.ShortDebugString();
  }
  ASSERT_EQ(cart.cross_sell_size(), 1);
  EXPECT_EQ(cart.cross_sell(0).sku(), "d");
  EXPECT_EQ(cart.cross_sell(0).reason(), v1::REASON_BOUGHT_TOGETHER);
  EXPECT_EQ(cart.cross_sell(0).related_skus_size(), 2);
  // The explicit premium version is out of stock: the category band gives d (1400 <= 1.5 x 1000).
  ASSERT_EQ(cart.upsell_size(), 1);
  EXPECT_EQ(cart.upsell(0).sku(), "d");
  EXPECT_EQ(cart.upsell(0).reason(), v1::REASON_UPGRADE_IN_CATEGORY);
  EXPECT_EQ(cart.upsell(0).related_skus(0), "a");
  ASSERT_EQ(cart.gift_wrap_size(), 1);
  EXPECT_EQ(cart.gift_wrap(0).sku(), "wrap");
  EXPECT_EQ(cart.gift_wrappable_skus(0), "a");
  // The gift wrap in the cart is not suggested again; a cart without wrappable items gets none.
  EXPECT_EQ(ForCart({"a", "wrap"}).gift_wrap_size(), 0);
  EXPECT_EQ(ForCart({"b"}).gift_wrap_size(), 0);
  EXPECT_EQ(ForCart({"b"}).gift_wrappable_skus_size(), 0);
  const auto for_a = ForProduct("a", 50);
  for (const auto& s : for_a.suggestions()) {
    EXPECT_TRUE(s.sku() == "b" || s.sku() == "d") << s.ShortDebugString();
  }
  EXPECT_EQ(for_a.suggestions_size(), 2);
  EXPECT_EQ(ForProduct("a", 50, {"d"}).suggestions_size(), 1) << "exclude_skus holds";

  // Back in stock: the premium version comes first.
  gone.set_in_stock(true);
  Upsert({gone});
  const auto again = ForCart({"a"});
  ASSERT_EQ(again.upsell_size(), 1);
  EXPECT_EQ(again.upsell(0).sku(), "gone");
  EXPECT_EQ(again.upsell(0).reason(), v1::REASON_PREMIUM_VERSION);
  EXPECT_EQ(again.upsell(0).score(), 1.0);
}

TEST_F(RecommendationsIT, UpsellStaysWithinTheBandAndPrefersTheMostOrdered) {
  Upsert({MakeProduct("base", "c", 1000), MakeProduct("edge", "c", 1500),
          MakeProduct("over", "c", 1501), MakeProduct("near", "c", 1100),
          MakeProduct("cheaper", "c", 900), MakeProduct("other-cat", "d", 1200)});
  Place("o1", {{"edge", 1}});
  Place("o2", {{"edge", 1}});
  Place("o3", {{"near", 1}});
  Place("o4", {{"over", 1}});
  Place("o5", {{"over", 1}});
  Place("o6", {{"over", 1}});
  auto cart = ForCart({"base"});
  ASSERT_EQ(cart.upsell_size(), 1);
  EXPECT_EQ(cart.upsell(0).sku(), "edge") << "1500 is in the band and ordered most";
  EXPECT_EQ(cart.upsell(0).score(), 0.5);
  // edge is in the cart: base gets near; edge (1500) gets over (1501 <= 2250), in cart order.
  cart = ForCart({"base", "edge"});
  ASSERT_EQ(cart.upsell_size(), 2);
  EXPECT_EQ(cart.upsell(0).sku(), "near");
  EXPECT_EQ(cart.upsell(0).related_skus(0), "base");
  EXPECT_EQ(cart.upsell(1).sku(), "over");
  EXPECT_EQ(cart.upsell(1).related_skus(0), "edge");
  // Nothing dearer in the band: no upsell.
  EXPECT_EQ(ForCart({"over"}).upsell_size(), 0);
  EXPECT_EQ(ForCart({"other-cat"}).upsell_size(), 0);
}

TEST_F(RecommendationsIT, ColdStartGivesPopularItemsOfTheCategoryThenOfTheStore) {
  Upsert({MakeProduct("new", "shoes", 5000), MakeProduct("s1", "shoes", 4000),
          MakeProduct("s2", "shoes", 4500), MakeProduct("h1", "hats", 1000),
          MakeProduct("h2", "hats", 1500)});
  for (int i = 0; i < 4; ++i) Place("h1-" + std::to_string(i), {{"h1", 1}});
  for (int i = 0; i < 3; ++i) Place("s2-" + std::to_string(i), {{"s2", 1}});
  Place("s1-0", {{"s1", 1}});
  Place("h2-0", {{"h2", 1}});
  auto answer = ForProduct("new", 4).suggestions();
  ASSERT_EQ(answer.size(), 4);
  EXPECT_EQ(answer[0].sku(), "s2");
  EXPECT_EQ(answer[0].reason(), v1::REASON_POPULAR_IN_CATEGORY);
  EXPECT_EQ(answer[0].orders_count(), 3);
  EXPECT_EQ(answer[1].sku(), "s1");
  EXPECT_EQ(answer[1].reason(), v1::REASON_POPULAR_IN_CATEGORY);
  EXPECT_EQ(answer[2].sku(), "h1");
  EXPECT_EQ(answer[2].reason(), v1::REASON_POPULAR_IN_STORE);
  EXPECT_EQ(answer[3].sku(), "h2");
  // A SKU nobody knows gets the store's best-sellers; so does an empty cart.
  answer = ForProduct("unknown", 2).suggestions();
  ASSERT_EQ(answer.size(), 2);
  EXPECT_EQ(answer[0].sku(), "h1");
  EXPECT_EQ(answer[1].sku(), "s2");
  const auto empty = ForCart({}, 0, 1);
  ASSERT_EQ(empty.cross_sell_size(), 1);
  EXPECT_EQ(empty.cross_sell(0).sku(), "h1");
  // A new store with orders imported but no pairs: its own best-sellers, nothing of store-1.
  Upsert({MakeProduct("z1", "z", 100), MakeProduct("z2", "z", 100)}, "store-2");
  Place("z-1", {{"z2", 1}}, "c", true, 0, "store-2");
  answer = ForProduct("z1", 5, {}, "store-2").suggestions();
  ASSERT_EQ(answer.size(), 1);
  EXPECT_EQ(answer[0].sku(), "z2");
  EXPECT_EQ(answer[0].reason(), v1::REASON_POPULAR_IN_CATEGORY);
}

TEST_F(RecommendationsIT, GapClosersAreRightToTheCent) {
  Upsert({MakeProduct("cart", "c", 3000), MakeProduct("pair-1999", "c", 1999),
          MakeProduct("pair-2500", "c", 2500), MakeProduct("solo-2000", "c", 2000),
          MakeProduct("solo-2001", "c", 2001), MakeProduct("solo-0999", "c", 999),
          MakeProduct("solo-9999", "c", 9999, false)});
  Place("o1", {{"cart", 1}, {"pair-1999", 1}, {"pair-2500", 1}});
  Place("o2", {{"cart", 1}, {"pair-1999", 1}});

  struct Case {
    int64_t missing;
    std::vector<std::pair<std::string, int64_t>> closers;  // sku, overshoot
  };
  const std::vector<Case> cases = {
      {1, {{"pair-1999", 1998}, {"pair-2500", 2499}, {"solo-0999", 998}, {"solo-2000", 1999}}},
      {999, {{"pair-1999", 1000}, {"pair-2500", 1501}, {"solo-0999", 0}, {"solo-2000", 1001}}},
      {1999, {{"pair-1999", 0}, {"pair-2500", 501}, {"solo-2000", 1}, {"solo-2001", 2}}},
      {2000, {{"pair-2500", 500}, {"solo-2000", 0}, {"solo-2001", 1}}},
      {2001, {{"pair-2500", 499}, {"solo-2001", 0}}},
      {2501, {}},
  };
  for (const auto& c : cases) {
    const auto cart = ForCart({"cart"}, c.missing, 4);
    std::vector<std::pair<std::string, int64_t>> got;
    for (const auto& s : cart.free_shipping_gap_closers()) {
      got.emplace_back(s.sku(), s.overshoot_minor());
      EXPECT_EQ(s.reason(), v1::REASON_CLOSES_FREE_SHIPPING_GAP);
      EXPECT_EQ(s.price_minor() - c.missing, s.overshoot_minor());
      EXPECT_EQ(s.related_skus_size() > 0, s.sku().starts_with("pair")) << s.ShortDebugString();
    }
    EXPECT_EQ(got, c.closers) << "missing " << c.missing;
  }
  EXPECT_EQ(ForCart({"cart"}, 0).free_shipping_gap_closers_size(), 0);
}

TEST_F(RecommendationsIT, ACustomerIsNotOfferedWhatTheyAlreadyBought) {
  Upsert({MakeProduct("a", "c", 100), MakeProduct("b", "c", 100), MakeProduct("d", "c", 100)});
  Place("o1", {{"a", 1}, {"b", 1}, {"d", 1}}, "alice");
  Place("o2", {{"a", 1}, {"b", 1}}, "bob");
  auto skus = [](const v1::RecommendForCartResponse& r) {
    std::set<std::string> out;
    for (const auto& s : r.cross_sell()) out.insert(s.sku());
    return out;
  };
  EXPECT_EQ(skus(ForCart({"a"}, 0, 5, "")), (std::set<std::string>{"b", "d"}));
  EXPECT_EQ(skus(ForCart({"a"}, 0, 5, "bob")), (std::set<std::string>{"d"}));
  EXPECT_EQ(skus(ForCart({"a"}, 0, 5, "alice")), (std::set<std::string>{}));
}

TEST_F(RecommendationsIT, BadInputNamesTheFieldAndWritesNothing) {
  v1::UpsertProductsRequest upsert;
  upsert.set_store_id("store-1");
  upsert.set_request_id("r1");
  auto* p = upsert.add_products();
  *p = MakeProduct("ok", "c", 100);
  p->set_price_minor(-5);
  *upsert.add_products() = MakeProduct("", "", 1);
  v1::UpsertProductsResponse upserted;
  auto status = stub_->UpsertProducts(testing::InternalContext().get(), upsert, &upserted);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorFields(status),
            (std::vector<std::string>{"products[0].price_minor", "products[1].sku",
                                      "products[1].category"}));
  v1::GetProductRequest get;
  get.set_store_id("store-1");
  get.set_sku("ok");
  v1::GetProductResponse got;
  EXPECT_EQ(ErrorReason(stub_->GetProduct(testing::InternalContext().get(), get, &got)),
            "PRODUCT_NOT_FOUND");

  v1::RecommendForProductRequest product;
  product.set_limit(51);
  v1::RecommendForProductResponse recommended;
  status = stub_->RecommendForProduct(testing::InternalContext().get(), product, &recommended);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorFields(status), (std::vector<std::string>{"store_id", "sku", "limit"}));

  v1::RecommendForCartRequest cart;
  cart.set_store_id("store-1");
  cart.add_lines()->set_sku("a");
  cart.set_free_shipping_missing_minor(-1);
  v1::RecommendForCartResponse answered;
  status = stub_->RecommendForCart(testing::InternalContext().get(), cart, &answered);
  EXPECT_EQ(ErrorFields(status),
            (std::vector<std::string>{"lines[0].quantity", "free_shipping_missing_minor"}));

  v1::RebuildModelRequest rebuild;
  rebuild.set_store_id("store-1");
  v1::RebuildModelResponse rebuilt;
  status = stub_->RebuildModel(testing::InternalContext().get(), rebuild, &rebuilt);
  EXPECT_EQ(ErrorFields(status), (std::vector<std::string>{"request_id"}));

  // Calls without the internal token are refused.
  grpc::ClientContext anonymous;
  EXPECT_EQ(stub_->GetProduct(&anonymous, get, &got).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(RecommendationsIT, UpsertsAreIdempotentByRequestIdAndByContent) {
  v1::UpsertProductsRequest r;
  r.set_store_id(kStore);
  r.set_request_id("batch-1");
  *r.add_products() = MakeProduct("a", "c", 100);
  *r.add_products() = MakeProduct("b", "c", 200);
  v1::UpsertProductsResponse first, second;
  ASSERT_TRUE(stub_->UpsertProducts(testing::InternalContext().get(), r, &first).ok());
  EXPECT_EQ(first.created(), 2);
  ASSERT_TRUE(stub_->UpsertProducts(testing::InternalContext().get(), r, &second).ok());
  EXPECT_EQ(second.SerializeAsString(), first.SerializeAsString()) << "the first answer";
  r.set_request_id("batch-2");
  r.mutable_products(1)->set_price_minor(250);
  ASSERT_TRUE(stub_->UpsertProducts(testing::InternalContext().get(), r, &second).ok());
  EXPECT_EQ(second.created(), 0);
  EXPECT_EQ(second.updated(), 1);
  EXPECT_EQ(second.unchanged(), 1);
  r.set_request_id("batch-1");
  const auto status = stub_->UpsertProducts(testing::InternalContext().get(), r, &second);
  EXPECT_EQ(ErrorReason(status), "REQUEST_ID_REUSED");

  v1::GetProductRequest get;
  get.set_store_id(kStore);
  get.set_sku("b");
  v1::GetProductResponse got;
  ASSERT_TRUE(stub_->GetProduct(testing::InternalContext().get(), get, &got).ok());
  EXPECT_EQ(got.product().price_minor(), 250);
  EXPECT_EQ(got.product().kind(), v1::PRODUCT_KIND_MERCHANDISE);

  // A rebuild retried with its request id answers the first answer.
  Place("o1", {{"a", 1}, {"b", 1}});
  const auto rebuilt = Rebuild(std::nullopt, "rebuild-1");
  EXPECT_EQ(rebuilt.orders_counted(), 1);
  EXPECT_EQ(rebuilt.products_counted(), 2);
  EXPECT_EQ(rebuilt.pairs_counted(), 1);
  EXPECT_EQ(Rebuild(std::nullopt, "rebuild-1").SerializeAsString(), rebuilt.SerializeAsString());
}

TEST_F(RecommendationsIT, EventsItCanNeverApplyAreRejected) {
  orders::v1::OrderRefunded refund;
  refund.set_order_id("ghost");
  auto* line = refund.add_lines();
  line->set_sku("a");
  line->set_quantity(1);
  auto status = Deliver(MakeEvent("order.refunded", "ghost", 1, refund));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorReason(status), "EVENT_REJECTED");

  Place("o1", {{"a", 1}});
  line->set_sku("not-in-the-order");
  refund.set_order_id("o1");
  status = Deliver(MakeEvent("order.refunded", "o1", 2, refund));
  EXPECT_EQ(ErrorReason(status), "EVENT_REJECTED");
  model_.orders.at("o1").sequence = 2;
  // The rejected event moved the sequence on: the order's next event applies.
  Cancel("o1");
  EXPECT_TRUE(DbItems().empty());

  orders::v1::OrderCancelled wrong_payload;
  status = Deliver(MakeEvent("order.placed", "o2", 1, wrong_payload));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  status = Deliver(MakeEvent("order.shipped", "o3", 1, wrong_payload));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}


// A 100-line cart is answered like a small one, equal to the brute force: its items share ten
// items' worth of candidates (5 each), most of them the store's best-sellers.
TEST_F(RecommendationsIT, AHundredLineCartMatchesTheBruteForce) {
  model_.candidates = kDefaultCandidates;
  const auto skus = SkewedStore(140, 250);
  for (int k = 0; k < 4; ++k) {
    const auto cart = RandomCart(skus, 100);
    const std::string customer = k % 2 ? "cust-1" : "";
    ExpectAnswer(model_.CrossSell(cart, customer, 50), ForCart(cart, 0, 50, customer).cross_sell(),
                 "100-line cart #" + std::to_string(k) + " for " + customer);
    ExpectAnswer(model_.CrossSell(cart, customer, 5), ForCart(cart, 0, 5, customer).cross_sell(),
                 "100-line cart #" + std::to_string(k) + ", limit 5");
  }
}

// The cart's statement reads the upsell bands of the first 2 x limit items that need one; an
// answer that gets further (items whose band is empty) reads the others with a second statement.
TEST_F(RecommendationsIT, UpsellReachesItemsBeyondTheBandsReadFirst) {
  std::vector<v1::Product> products;
  for (const std::string c : {"1", "2", "3", "4", "6", "7"}) {
    products.push_back(MakeProduct("a" + c, "c" + c, 1000));
  }
  products.push_back(MakeProduct("up4", "c4", 1200));
  products.push_back(MakeProduct("far1", "c1", 5000));  // beyond a1's band
  auto a5 = MakeProduct("a5", "c5", 1000);
  a5.set_premium_sku("p5");
  products.push_back(a5);
  products.push_back(MakeProduct("p5", "c5", 4000));
  Upsert(products);
  // Limit 1: the statement reads a1's and a2's bands (empty); a3's and a4's come second.
  auto answer = ForCart({"a1", "a2", "a3", "a4"}, 0, 1);
  ASSERT_EQ(answer.upsell_size(), 1);
  EXPECT_EQ(answer.upsell(0).sku(), "up4");
  EXPECT_EQ(answer.upsell(0).reason(), v1::REASON_UPGRADE_IN_CATEGORY);
  EXPECT_EQ(answer.upsell(0).related_skus(0), "a4");
  // Limit 2: four bands read first (a1, a2, a3, a6), a7's and a4's second; a5 needs none.
  answer = ForCart({"a1", "a2", "a3", "a6", "a7", "a4", "a5"}, 0, 2);
  ASSERT_EQ(answer.upsell_size(), 2);
  EXPECT_EQ(answer.upsell(0).sku(), "up4");
  EXPECT_EQ(answer.upsell(1).sku(), "p5");
  EXPECT_EQ(answer.upsell(1).reason(), v1::REASON_PREMIUM_VERSION);
  // All bands empty: nothing, whatever the limit.
  EXPECT_EQ(ForCart({"a1", "a2", "a3", "a6", "a7"}, 0, 1).upsell_size(), 0);
}

// A cart is one statement whatever its size, planned once per connection (a generic plan), not
// on every call. Observed with pg_stat_statements, when the test cluster loads it.
TEST_F(RecommendationsIT, ACartIsOneStatementPlannedOnceWhateverItsSize) {
  pqxx::connection conn(db_.url());
  try {
    pqxx::nontransaction tx(conn);
    tx.exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    tx.exec("SELECT 1 FROM pg_stat_statements LIMIT 1");
  } catch (const std::exception& e) {
    GTEST_SKIP() << "pg_stat_statements is not loaded by the test cluster: " << e.what();
  }
  bool planning = false;
  try {  // plans are counted only with track_planning, set for the service's new connections
    pqxx::nontransaction tx(conn);
    tx.exec("ALTER DATABASE " + tx.quote_name(tx.exec1("SELECT current_database()")[0].c_str()) +
            " SET pg_stat_statements.track_planning = on");
    planning = true;
  } catch (const std::exception& e) {
    std::cerr << "plans not counted: " << e.what() << "\n";
  }
  // One pooled connection: "once per connection" is then once, whichever connection a call
  // would have taken (with the default pool a call now and then met a connection not yet warm).
  Start({{"LOYALTY_DB_POOL_SIZE", "1"}});
  const auto skus = SkewedStore(140, 150);

  // Calls and plans of each statement the service ran on this database.
  auto counts = [&] {
    pqxx::nontransaction tx(conn);
    std::map<std::string, std::pair<int64_t, int64_t>> out;
    for (const auto& r : tx.exec(
             "SELECT query, sum(calls)::bigint, sum(plans)::bigint FROM pg_stat_statements "
             "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
             "AND query NOT LIKE '%pg_stat_statements%' AND query <> 'SELECT $1' "
             "GROUP BY query")) {
      out[r[0].as<std::string>()] = {r[1].as<int64_t>(), r[2].as<int64_t>()};
    }
    return out;
  };
  // Limit 50: the statement reads every item's upsell band (2 x limit items), so that no answer
  // needs the second statement. Warm-up: the connection prepares the statement and plans it.
  for (size_t size : {3, 100}) ForCart(RandomCart(skus, size), 500, 50, "cust-1");
  const auto before = counts();
  const int calls = 5;
  for (int i = 0; i < calls; ++i) {
    for (size_t size : {3, 100}) ForCart(RandomCart(skus, size), 500, 50, "cust-1");
  }
  int64_t statements = 0, plans = 0, cart_calls = 0;
  for (const auto& [query, after] : counts()) {
    auto it = before.find(query);
    const auto was = it == before.end() ? std::pair<int64_t, int64_t>{0, 0} : it->second;
    statements += after.first - was.first;
    plans += after.second - was.second;
    if (query.starts_with("WITH cart")) cart_calls += after.first - was.first;
  }
  EXPECT_EQ(cart_calls, 2 * calls);
  EXPECT_EQ(statements, 2 * calls) << "one statement per cart, 3 lines or 100";
  if (planning) {
    EXPECT_EQ(plans, 0) << "a generic plan, made once per connection";
  }
}

}  // namespace
}  // namespace loyalty::recommendations
