// Model-based test: thousands of seeded random operations (earn, refund, cancel, reserve with or
// without a reward of the catalogue, commit, void, hold expiry, adjust, member actions, time
// steps with release, expiry and the tier job) against the real service and an in-memory model
// written here from the rules in points_service.proto, docs/rewards.md and docs/tiers.md, sharing
// no code with the service. After every operation the touched customer's balances, lots and tier
// (and the reward's units redeemed) must be equal. Tiers are on spend over a rolling 12 months
// with grace: an order earns with its customer's tier's multiplier; the tier job at model time
// moves customers up and down. (The model's orders lie in the future while the service evaluates
// an order when it applies it, at its clock: the move up on the crossing order is TiersIT's.)
// Actions: signup (once), social shares (once per reference, 3 a year), retries of both.
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "loyalty/common/time.hpp"
#include "loyalty/customers/v1/customers_service.grpc.pb.h"
#include "points_fixture.hpp"

namespace loyalty::points {
namespace {

using common::ErrorReason;

// Calendar months later, same time of day, clamped to the month's last day.
int64_t ModelAddMonths(int64_t seconds, int months) {
  using namespace std::chrono;
  const sys_seconds t{std::chrono::seconds(seconds)};
  const sys_days day = floor<days>(t);
  year_month_day ymd{day};
  int m = static_cast<int>(static_cast<unsigned>(ymd.month())) - 1 + months;
  year y = ymd.year() + years(m / 12);
  month mo{static_cast<unsigned>(m % 12 + 1)};
  year_month_day target{y, mo, ymd.day()};
  if (!target.ok()) target = year_month_day_last{y, month_day_last{mo}};
  return (sys_days(target) + (t - day)).time_since_epoch().count();
}

struct MLot {
  int64_t earned = 0, pending = 0, available = 0, clawed = 0;
  int quantity = 0;
  int64_t available_at = 0;            // seconds
  std::optional<int64_t> expires_at;  // microseconds: adjustments carry the server's clock
};

// The catalogue's one reward: its cost and stock (small: holds expire at every time step and
// give their units back, so only committed ones use it up).
constexpr int64_t kRewardCost = 40;
constexpr int64_t kRewardStock = 5;

struct MHold {
  std::string customer;
  int64_t points = 0;  // the reward's cost included
  bool reward = false;
  std::vector<std::pair<std::string, int64_t>> taken;
  std::string state = "active";
  int created = 0;  // holds expire in the order they were made
};

struct MLine {
  std::string id;
  int quantity = 0;
  int refunded = 0;
  int64_t net = 0;
};

struct MOrder {
  std::string customer;
  std::vector<MLine> lines;
  int64_t sequence = 1;
  bool cancelled = false;
  int64_t placed = 0;  // seconds
};

// The same time of day `years` later in UTC; 29 February into a common year is 1 March (what a
// civil-time library does with a day the month lacks).
int64_t ModelAddYears(int64_t seconds, int years) {
  using namespace std::chrono;
  const sys_seconds t{std::chrono::seconds(seconds)};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  year_month_day target{ymd.year() + std::chrono::years(years), ymd.month(), ymd.day()};
  sys_days moved = target.ok() ? sys_days(target)
                               : sys_days(year_month_day{target.year(), target.month(),
                                                         std::chrono::day(28)}) + days(1);
  return (moved + (t - day)).time_since_epoch().count();
}

// The tier program: spend over a rolling 12 months, 5 days of grace.
struct MTierDef {
  const char* id;
  int64_t threshold;
  int32_t earn_bps;
};
constexpr MTierDef kTiers[] = {{"member", 0, 10000}, {"silver", 200000, 15000},
                               {"gold", 400000, 20000}};
constexpr int kGraceDays = 5;
// Member actions' settings.
constexpr int64_t kSignupPoints = 50;
constexpr int64_t kSharePoints = 7;
constexpr int kShareCap = 3;  // a (real) calendar year

struct MCustomer {
  std::map<std::string, MLot> lots;
  int64_t held = 0;
  int64_t debt = 0;  // owed, 0 or more
  int tier = -1;     // index in kTiers; -1: never evaluated
  int64_t kept_until = 0;  // microseconds
  bool signed_up = false;
  int shares = 0;  // rewarded this (real) year
  int64_t pending() const {
    int64_t n = 0;
    for (const auto& [id, l] : lots) n += l.pending;
    return n;
  }
  int64_t available() const {
    int64_t n = 0;
    for (const auto& [id, l] : lots) n += l.available;
    return n;
  }
  // Lots to spend from: soonest expiry first, never-expiring last, then by id.
  std::vector<std::string> SpendOrder() const {
    std::vector<std::string> ids;
    for (const auto& [id, l] : lots) {
      if (l.available > 0) ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end(), [&](const std::string& a, const std::string& b) {
      const auto& x = lots.at(a).expires_at;
      const auto& y = lots.at(b).expires_at;
      const int64_t xe = x ? *x : INT64_MAX;
      const int64_t ye = y ? *y : INT64_MAX;
      return xe != ye ? xe < ye : a < b;
    });
    return ids;
  }
  void RepayFrom(MLot& lot) {
    const int64_t repay = std::min(debt, lot.available);
    debt -= repay;
    lot.available -= repay;
  }
};

class PointsModelIT : public PointsIT {
 protected:
  // Member actions ask the customers service who the customer is: a real one, started first.
  void SetUp() override {
    customers_service_ = std::make_unique<testing::ServiceProcess>("customers", db_.url());
    customers_service_->WaitServing();
    customers_address_ = customers_service_->address();
    PointsIT::SetUp();
    if (HasFatalFailure()) return;
    customers_stub_ = customers::v1::CustomersService::NewStub(
        grpc::CreateChannel(customers_address_, grpc::InsecureChannelCredentials()));
    ConfigureProgram();
  }

  // Actions in the settings (a second version), and the tier program.
  void ConfigureProgram() {
    v1::GetSettingsRequest get;
    get.set_store_id("s1");
    v1::GetSettingsResponse current;
    ASSERT_TRUE(stub_->GetSettings(testing::InternalContext().get(), get, &current).ok());
    v1::UpdateSettingsRequest update;
    update.set_store_id("s1");
    update.set_request_id("settings-actions");
    *update.mutable_settings() = current.settings();
    auto* a = update.mutable_settings()->mutable_actions();
    a->set_signup_points(kSignupPoints);
    a->set_share_points(kSharePoints);
    a->set_share_cap(kShareCap);
    a->set_share_period(v1::ACTION_PERIOD_YEAR);
    v1::UpdateSettingsResponse updated;
    const auto status = stub_->UpdateSettings(testing::InternalContext().get(), update, &updated);
    ASSERT_TRUE(status.ok()) << status.error_message();

    v1::PublishTiersRequest tiers;
    tiers.set_store_id("s1");
    tiers.set_request_id("tiers-1");
    tiers.set_author("model");
    tiers.set_reason("model");
    auto* program = tiers.mutable_program();
    program->set_measure(v1::TIER_MEASURE_SPEND);
    program->set_window(v1::TIER_WINDOW_ROLLING_12_MONTHS);
    program->set_grace_days(kGraceDays);
    for (const auto& def : kTiers) {
      auto* t = program->add_tiers();
      t->set_tier_id(def.id);
      t->set_name(def.id);
      t->set_threshold(def.threshold);
      t->mutable_benefits()->set_earn_multiplier_bps(def.earn_bps);
    }
    v1::PublishTiersResponse published;
    const auto tiers_status =
        stub_->PublishTiers(testing::InternalContext().get(), tiers, &published);
    ASSERT_TRUE(tiers_status.ok()) << tiers_status.error_message();
  }

  std::string RegisterCustomer(const std::string& name) {
    customers::v1::RegisterCustomerRequest r;
    r.set_store_id("s1");
    r.set_request_id("register-" + name);
    r.set_email(name + "@example.com");
    r.set_name(name);
    customers::v1::RegisterCustomerResponse response;
    const auto status =
        customers_stub_->RegisterCustomer(testing::InternalContext().get(), r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.customer().customer_id();
  }

  grpc::Status RecordAction(const std::string& customer, v1::ActionKind kind,
                            const std::string& request_id, const std::string& share_reference,
                            v1::RecordActionResponse* response) {
    v1::RecordActionRequest r;
    r.set_store_id("s1");
    r.set_request_id(request_id);
    r.set_customer_id(customer);
    r.set_kind(kind);
    r.set_share_reference(share_reference);
    return stub_->RecordAction(testing::InternalContext().get(), r, response);
  }

  // An action's points: a lot of its own, available at once (repaying debt first), expiring a
  // year from the server's clock, which the model reads.
  void CreditAction(MCustomer& c, const std::string& customer, const std::string& lot_id,
                    int64_t points) {
    pqxx::connection conn(db_.url());
    pqxx::nontransaction tx(conn);
    const auto row = tx.exec_params1(
        "SELECT (extract(epoch FROM expires_at) * 1000000)::bigint FROM points.lots "
        "WHERE store_id = 's1' AND customer_id = $1 AND lot_id = $2",
        customer, lot_id);
    MLot lot;
    lot.available = points;
    lot.expires_at = row[0].as<int64_t>();
    c.RepayFrom(lot);
    c.lots[lot_id] = lot;
  }

  // Qualifying spend at `as_of` (seconds): line nets placed in (as_of − 12 months, as_of], less
  // the refunded units' cumulative shares.
  int64_t Qualifying(const std::string& customer, int64_t as_of) const {
    const int64_t from = ModelAddYears(as_of, -1);
    int64_t total = 0;
    for (const auto& [id, o] : orders_model_) {
      if (o.customer != customer || o.placed <= from || o.placed > as_of) continue;
      for (const auto& l : o.lines) total += l.net - l.net * l.refunded / l.quantity;
    }
    return total;
  }
  static int Reached(int64_t qualifying) {
    int reached = -1;
    for (int i = 0; i < static_cast<int>(std::size(kTiers)); ++i) {
      if (qualifying >= kTiers[i].threshold) reached = i;
    }
    return reached;
  }
  static int64_t KeptUntil(int64_t as_of_us) {
    return ModelAddYears(as_of_us / 1000000, 1) * 1000000 + as_of_us % 1000000 +
           kGraceDays * kDay * 1000000;
  }

  // The tier job at `as_of` (seconds), for a customer it is due for (kept_until passed): the tier
  // the figure reaches, up or down, kept for another period from then.
  void TierJob(const std::string& customer, int64_t as_of) {
    auto& c = customers_[customer];
    const int reached = Reached(Qualifying(customer, as_of));
    if (reached > c.tier) ++counts_["tier_up"];
    if (reached < c.tier) ++counts_["tier_down"];
    c.tier = reached;
    c.kept_until = KeptUntil(as_of * 1000000);
  }

  // Orders and refunds re-evaluate the customer when the service applies them, at its clock,
  // which lies between `before_us` and `after_us`; the model's orders are all later than that, so
  // none counts: the figure reaches the base tier. A customer above it keeps their tier (only
  // the job lowers one); one in it (or in none yet) is in it until a year and the grace after
  // that moment, if that is later: the one figure the model reads back, checking its bounds.
  void OnRealClockEvaluation(const std::string& customer, int64_t before_us, int64_t after_us) {
    auto& c = customers_[customer];
    if (c.tier > 0) return;
    pqxx::connection conn(db_.url());
    pqxx::nontransaction tx(conn);
    const auto row = tx.exec_params1(
        "SELECT (extract(epoch FROM kept_until) * 1000000)::bigint FROM points.customer_tiers "
        "WHERE store_id = 's1' AND customer_id = $1",
        customer);
    const int64_t kept = row[0].as<int64_t>();
    if (c.tier < 0 || kept != c.kept_until) {
      ASSERT_GE(kept, KeptUntil(before_us)) << customer << " after " << last_;
      ASSERT_LE(kept, KeptUntil(after_us)) << customer << " after " << last_;
      ASSERT_TRUE(c.tier < 0 || kept > c.kept_until) << customer << " after " << last_;
    }
    c.tier = 0;
    c.kept_until = kept;
  }

  std::unique_ptr<testing::ServiceProcess> customers_service_;
  std::unique_ptr<customers::v1::CustomersService::Stub> customers_stub_;
  std::map<std::string, MCustomer> customers_;
  std::map<std::string, MHold> holds_;
  std::map<std::string, MOrder> orders_model_;
  std::map<std::string, int> counts_;
  std::string last_;  // the operation just done, for failure messages
  int64_t redeemed_ = 0;  // the reward's units held or spent

  void CreateReward() {
    v1::CreateRewardRequest r;
    r.set_store_id("s1");
    r.set_request_id("reward-1");
    r.set_reward_id("r1");
    auto* d = r.mutable_definition();
    d->set_name("1.00 off");
    d->set_kind(v1::REWARD_KIND_AMOUNT_OFF);
    d->set_points_cost(kRewardCost);
    d->set_amount_off_minor(100);
    d->set_stock_limit(kRewardStock);
    r.set_author("model");
    r.set_reason("model");
    v1::CreateRewardResponse response;
    ASSERT_TRUE(stub_->CreateReward(testing::InternalContext().get(), r, &response).ok());
  }

  void Spend(MCustomer& c, int64_t points, MHold* hold) {
    for (const auto& id : c.SpendOrder()) {
      if (points == 0) break;
      auto& lot = c.lots[id];
      const int64_t take = std::min(points, lot.available);
      lot.available -= take;
      points -= take;
      if (hold) hold->taken.emplace_back(id, take);
    }
    ASSERT_EQ(points, 0) << "model: spent more than available";
  }

  void ReleaseHold(MHold& hold, const std::string& state) {
    auto& c = customers_[hold.customer];
    // Points go back lot by lot in lot id order, each lot repaying debt first.
    std::sort(hold.taken.begin(), hold.taken.end());
    for (const auto& [id, points] : hold.taken) {
      auto& lot = c.lots[id];
      lot.available += points;
      c.RepayFrom(lot);
    }
    c.held -= hold.points;
    if (hold.reward) --redeemed_;  // its unit goes back to the stock
    hold.state = state;
  }

  void Clawback(MCustomer& c, MLot& lot, int64_t amount) {
    const int64_t from_pending = std::min(amount, lot.pending);
    lot.pending -= from_pending;
    const int64_t from_available = std::min(amount - from_pending, lot.available);
    lot.available -= from_available;
    c.debt += amount - from_pending - from_available;
    lot.clawed += amount;
  }

  void Release(int64_t as_of) {
    for (auto& [name, c] : customers_) {
      std::vector<std::string> due;
      for (auto& [id, lot] : c.lots) {
        if (lot.pending > 0 && lot.available_at <= as_of) due.push_back(id);
      }
      std::sort(due.begin(), due.end(), [&](const std::string& a, const std::string& b) {
        return c.lots[a].available_at != c.lots[b].available_at
                   ? c.lots[a].available_at < c.lots[b].available_at
                   : a < b;
      });
      for (const auto& id : due) {
        auto& lot = c.lots[id];
        lot.available += lot.pending;
        lot.pending = 0;
        lot.expires_at = ModelAddMonths(lot.available_at, 12) * 1000000;
        c.RepayFrom(lot);
        ++counts_["released"];
      }
    }
  }

  void Expire(int64_t as_of) {
    for (auto& [name, c] : customers_) {
      for (auto& [id, lot] : c.lots) {
        if (lot.available > 0 && lot.expires_at && *lot.expires_at <= as_of * 1000000) {
          lot.available = 0;
          ++counts_["expired"];
        }
      }
    }
  }

  // Balances, and every lot's pending and available points, must equal the model's.
  void Compare(const std::string& name) {
    const auto& c = customers_[name];
    const auto b = Balance(name);
    ASSERT_EQ(b.pending(), c.pending()) << name << " pending after " << last_;
    ASSERT_EQ(b.available(), c.available()) << name << " available after " << last_;
    ASSERT_EQ(b.held(), c.held) << name << " held after " << last_;
    ASSERT_EQ(b.debt(), c.debt) << name << " debt after " << last_;
    pqxx::connection conn(db_.url());
    pqxx::nontransaction tx(conn);
    const auto redeemed = tx.exec1("SELECT redeemed FROM points.rewards WHERE reward_id = 'r1'");
    ASSERT_EQ(redeemed[0].as<int64_t>(), redeemed_)
        << "units redeemed after " << last_;
    const auto tier = tx.exec_params(
        "SELECT tier_id, (extract(epoch FROM kept_until) * 1000000)::bigint "
        "FROM points.customer_tiers WHERE customer_id = $1",
        name);
    if (c.tier < 0) {
      ASSERT_TRUE(tier.empty() || tier[0][0].as<std::string>().empty())
          << name << " has a tier after " << last_;
    } else {
      ASSERT_EQ(tier.size(), 1u) << name << " has no tier after " << last_;
      ASSERT_EQ(tier[0][0].as<std::string>(), kTiers[c.tier].id) << name << " after " << last_;
      ASSERT_EQ(tier[0][1].as<int64_t>(), c.kept_until) << name << " kept until, after " << last_;
    }
    for (const auto& r : tx.exec_params(
             "SELECT lot_id, pending, available FROM points.lots WHERE customer_id = $1", name)) {
      const auto it = c.lots.find(r[0].as<std::string>());
      ASSERT_TRUE(it != c.lots.end()) << "unknown lot " << r[0].c_str() << " after " << last_;
      ASSERT_EQ(r[1].as<int64_t>(), it->second.pending) << r[0].c_str() << " after " << last_;
      ASSERT_EQ(r[2].as<int64_t>(), it->second.available) << r[0].c_str() << " after " << last_;
    }
  }
};

TEST_F(PointsModelIT, RandomOperationsMatchTheModel) {
  const char* from_env = std::getenv("LOYALTY_MODEL_SEED");
  const uint64_t seed = from_env ? std::stoull(from_env) : std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (rerun with LOYALTY_MODEL_SEED)");
  std::mt19937_64 rng(seed);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::vector<std::string> names;
  for (const char* n : {"ann", "bob", "cy", "di"}) names.push_back(RegisterCustomer(n));
  if (HasFailure()) return;
  for (const auto& n : names) customers_[n];
  std::set<std::string> shared;  // share references rewarded (in the whole store)
  struct LastAction {
    std::string customer, request_id, reference;
    v1::ActionKind kind = v1::ACTION_KIND_UNSPECIFIED;
    int64_t points = 0;
  };
  std::optional<LastAction> last_action;  // the last one that earned, to replay
  CreateReward();
  // Model time: whole days from a base, half a day away from the real clock, so that the real
  // time an adjustment's expiry starts from never ties with a model instant.
  int64_t now = now_ + 12 * 3600;
  int orders = 0;
  int requests = 0;
  std::vector<std::string> hold_ids;

  // CI's sanitizer stage runs fewer (LOYALTY_MODEL_OPERATIONS): each is ~3x slower there.
  const char* ops_env = std::getenv("LOYALTY_MODEL_OPERATIONS");
  const int operations = ops_env ? std::stoi(ops_env) : 1500;
  for (int step = 0; step < operations; ++step) {
    const std::string who = names[pick(0, names.size() - 1)];
    auto& c = customers_[who];
    const int op = static_cast<int>(pick(0, 99));
    std::string touched = who;
    last_ = "step " + std::to_string(step) + " op " + std::to_string(op) + " for " + who;
    if (op < 22) {  // earn
      const std::string id = "m" + std::to_string(++orders);
      std::vector<std::pair<int64_t, int>> lines;
      MOrder order{who, {}, 1, false, now};
      for (int i = 0, n = static_cast<int>(pick(1, 3)); i < n; ++i) {
        lines.emplace_back(pick(50, 30000), static_cast<int>(pick(1, 4)));
        order.lines.push_back({"l" + std::to_string(i + 1), lines.back().second, 0,
                               lines.back().first});
      }
      // It earns with the tier its customer has (before this order counts).
      const int tier = c.tier >= 0 ? c.tier : Reached(Qualifying(who, now));
      const int64_t bps = tier >= 0 ? kTiers[tier].earn_bps : 10000;
      const int64_t before = common::NowMicros();
      Place(MakeOrder(id, who, lines, now));
      const int64_t after = common::NowMicros();
      for (size_t i = 0; i < lines.size(); ++i) {
        // Base rate 1 per 100 minor units, times the tier's multiplier, rounded down.
        const int64_t points = lines[i].first * bps / 1'000'000;
        if (points == 0) continue;
        MLot lot;
        lot.earned = lot.pending = points;
        lot.quantity = lines[i].second;
        lot.available_at = now + 30 * kDay;
        c.lots["earn:" + id + ":l" + std::to_string(i + 1)] = lot;
      }
      orders_model_[id] = order;
      OnRealClockEvaluation(who, before, after);
      ++counts_["earn"];
      if (tier > 0) ++counts_["earn_with_tier"];
    } else if (op < 34) {  // refund part of a line, or cancel
      std::vector<std::string> open;
      for (const auto& [id, o] : orders_model_) {
        if (o.customer == who && !o.cancelled) open.push_back(id);
      }
      if (open.empty()) continue;
      const std::string id = open[pick(0, open.size() - 1)];
      auto& order = orders_model_[id];
      if (pick(0, 3) == 0) {
        orders::v1::OrderCancelled cancelled;
        cancelled.set_order_id(id);
        cancelled.set_customer_id(who);
        const int64_t before = common::NowMicros();
        ASSERT_TRUE(Deliver("order.cancelled", id, ++order.sequence, cancelled).ok());
        OnRealClockEvaluation(who, before, common::NowMicros());
        for (auto& line : order.lines) {
          auto it = c.lots.find("earn:" + id + ":" + line.id);
          if (it != c.lots.end()) Clawback(c, it->second, it->second.earned - it->second.clawed);
          line.refunded = line.quantity;
        }
        order.cancelled = true;
        ++counts_["cancel"];
      } else {
        auto& line = order.lines[pick(0, order.lines.size() - 1)];
        if (line.refunded == line.quantity) continue;
        line.refunded += static_cast<int>(pick(1, line.quantity - line.refunded));
        const int64_t before = common::NowMicros();
        ASSERT_TRUE(Refund(id, who, ++order.sequence, line.id, line.refunded, line.quantity).ok());
        OnRealClockEvaluation(who, before, common::NowMicros());
        auto it = c.lots.find("earn:" + id + ":" + line.id);
        if (it != c.lots.end()) {
          const int64_t target = it->second.earned * line.refunded / line.quantity;
          Clawback(c, it->second, target - it->second.clawed);
        }
        ++counts_["refund"];
      }
    } else if (op < 50) {  // reserve; one in four asks for more than there is
      // One in three also redeems the reward (then possibly with no points of its own).
      const bool reward = pick(0, 2) == 0;
      const int64_t cost = reward ? kRewardCost : 0;
      const int64_t points =
          pick(0, 3) == 0 ? c.available() + pick(1, 100)
                          : pick(reward ? 0 : 1, std::max<int64_t>(1, c.available() - cost));
      v1::Hold hold;
      const std::string n = std::to_string(++requests);
      const auto status = Reserve(who, points, "q" + n, "never-" + n, &hold, reward ? "r1" : "");
      // The reward's rules come first (stock), then the points, all or nothing.
      if (reward && redeemed_ >= kRewardStock) {
        ASSERT_EQ(ErrorReason(status), "REWARD_OUT_OF_STOCK") << status.error_message();
        ++counts_["reward_out_of_stock"];
      } else if (c.available() >= points + cost) {
        ASSERT_TRUE(status.ok()) << status.error_message();
        ASSERT_EQ(hold.points(), points + cost);
        MHold h{who, points + cost, reward, {}, "active", step};
        Spend(c, points + cost, &h);
        c.held += points + cost;
        if (reward) ++redeemed_;
        holds_[hold.hold_id()] = h;
        hold_ids.push_back(hold.hold_id());
        ++counts_[reward ? "reserve_reward" : "reserve"];
        if (reward && pick(0, 2) == 0) {
          // Checked out at once (holds expire at every time step): the stock runs out.
          v1::CommitRedemptionRequest r;
          r.set_store_id("s1");
          r.set_hold_id(hold.hold_id());
          v1::CommitRedemptionResponse response;
          const auto committed =
              stub_->CommitRedemption(testing::InternalContext().get(), r, &response);
          ASSERT_TRUE(committed.ok()) << committed.error_message();
          c.held -= h.points;
          holds_[hold.hold_id()].state = "committed";
          ++counts_["commit_reward"];
        }
      } else {
        ASSERT_EQ(ErrorReason(status), "INSUFFICIENT_POINTS");
        ++counts_["reserve_refused"];
      }
    } else if (op < 62) {  // commit or void a hold
      if (hold_ids.empty()) continue;
      // Mostly a hold still active (holds expire at every time step), sometimes any.
      std::vector<std::string> active;
      for (const auto& h : hold_ids) {
        if (holds_[h].state == "active") active.push_back(h);
      }
      const std::string id = !active.empty() && pick(0, 3) > 0
                                 ? active[pick(0, active.size() - 1)]
                                 : hold_ids[pick(0, hold_ids.size() - 1)];
      auto& h = holds_[id];
      touched = h.customer;
      if (pick(0, 1) == 0) {
        v1::CommitRedemptionRequest r;
        r.set_store_id("s1");
        r.set_hold_id(id);
        v1::CommitRedemptionResponse response;
        const auto status = stub_->CommitRedemption(testing::InternalContext().get(), r, &response);
        if (h.state == "active") {
          ASSERT_TRUE(status.ok()) << status.error_message();
          customers_[h.customer].held -= h.points;
          h.state = "committed";
        } else {
          ASSERT_EQ(status.ok(), h.state == "committed") << h.state;
        }
        ++counts_["commit"];
      } else {
        v1::VoidRedemptionRequest r;
        r.set_store_id("s1");
        r.set_hold_id(id);
        v1::VoidRedemptionResponse response;
        const auto status = stub_->VoidRedemption(testing::InternalContext().get(), r, &response);
        if (h.state == "active") {
          ASSERT_TRUE(status.ok()) << status.error_message();
          ReleaseHold(h, "voided");
        } else {
          ASSERT_EQ(status.ok(), h.state == "voided") << h.state;
        }
        ++counts_["void"];
      }
    } else if (op < 72) {  // adjust
      const std::string request = "a" + std::to_string(++requests);
      if (pick(0, 2) > 0) {
        const int64_t points = pick(1, 200);
        ASSERT_TRUE(Adjust(who, points, request).ok());
        MLot lot;
        lot.available = points;
        // The one input the model cannot know: the server's clock when the lot was made.
        lot.expires_at = Scalar("SELECT (extract(epoch FROM expires_at) * 1000000)::bigint "
                                "FROM points.lots WHERE lot_id = 'adjust:" + request + "'");
        c.RepayFrom(lot);
        c.lots["adjust:" + request] = lot;
        ++counts_["adjust_add"];
      } else {
        const int64_t points = pick(1, 200);
        const auto status = Adjust(who, -points, request);
        if (c.available() >= points) {
          ASSERT_TRUE(status.ok()) << status.error_message();
          Spend(c, points, nullptr);
          ++counts_["adjust_remove"];
        } else {
          ASSERT_EQ(ErrorReason(status), "INSUFFICIENT_POINTS");
        }
      }
    } else if (op < 80) {  // member actions
      v1::RecordActionResponse response;
      if (last_action && pick(0, 5) == 0) {  // a retry of the last one that earned: nothing more
        const auto& a = *last_action;
        touched = a.customer;
        const auto status = RecordAction(a.customer, a.kind, a.request_id, a.reference, &response);
        ASSERT_TRUE(status.ok()) << status.error_message();
        ASSERT_EQ(response.points(), a.points);
        ++counts_["action_retry"];
      } else if (pick(0, 3) == 0) {
        const std::string request = "signup-" + std::to_string(++requests);
        const auto status = RecordAction(who, v1::ACTION_KIND_SIGNUP, request, "", &response);
        if (c.signed_up) {
          ASSERT_EQ(ErrorReason(status), "ACTION_ALREADY_REWARDED") << status.error_message();
          ++counts_["signup_again"];
        } else {
          ASSERT_TRUE(status.ok()) << status.error_message();
          ASSERT_EQ(response.points(), kSignupPoints);
          CreditAction(c, who, "action:signup:" + who, kSignupPoints);
          c.signed_up = true;
          last_action = LastAction{who, request, "", v1::ACTION_KIND_SIGNUP, kSignupPoints};
          ++counts_["signup"];
        }
      } else {
        // References from a small pool that all customers share: repeats happen.
        const std::string reference = "post-" + std::to_string(pick(1, 30));
        const std::string request = "share-" + std::to_string(++requests);
        const auto status =
            RecordAction(who, v1::ACTION_KIND_SOCIAL_SHARE, request, reference, &response);
        if (shared.count(reference)) {
          ASSERT_EQ(ErrorReason(status), "ACTION_ALREADY_REWARDED") << status.error_message();
          ++counts_["share_again"];
        } else if (c.shares >= kShareCap) {
          ASSERT_EQ(ErrorReason(status), "ACTION_CAP_REACHED") << status.error_message();
          ++counts_["share_over_cap"];
        } else {
          ASSERT_TRUE(status.ok()) << status.error_message();
          ASSERT_EQ(response.points(), kSharePoints);
          CreditAction(c, who, "action:share:" + reference, kSharePoints);
          shared.insert(reference);
          ++c.shares;
          last_action =
              LastAction{who, request, reference, v1::ACTION_KIND_SOCIAL_SHARE, kSharePoints};
          ++counts_["share"];
        }
      }
    } else {  // time passes: jobs run
      now += pick(1, 25) * kDay;
      RunJob("release", now);
      Release(now);
      last_ += " (release)";
      for (const auto& n : names) Compare(n);
      if (HasFatalFailure()) return;
      RunJob("expiry", now);
      Expire(now);
      last_ += " (expiry)";
      for (const auto& n : names) Compare(n);
      if (HasFatalFailure()) return;
      RunJob("holds", now);
      last_ += " (holds)";
      std::vector<MHold*> active;
      for (auto& [id, h] : holds_) {
        if (h.state == "active") active.push_back(&h);
      }
      std::sort(active.begin(), active.end(),
                [](const MHold* a, const MHold* b) { return a->created < b->created; });
      for (auto* h : active) ReleaseHold(*h, "expired");
      RunJob("tiers", now);
      last_ += " (tiers)";
      for (const auto& n : names) {
        const auto& m = customers_[n];
        if (m.tier >= 0 && m.kept_until <= now * 1000000) TierJob(n, now);
      }
      ++counts_["time_step"];
      for (const auto& n : names) Compare(n);
      if (HasFatalFailure()) return;
      continue;
    }
    Compare(touched);
    if (HasFatalFailure()) return;
  }
  for (const auto& n : names) Compare(n);
  std::string summary;
  for (const auto& [kind, count] : counts_) summary += " " + kind + "=" + std::to_string(count);
  std::printf("seed %llu:%s\n", static_cast<unsigned long long>(seed), summary.c_str());
  for (const char* kind : {"earn", "refund", "cancel", "reserve", "reserve_refused", "commit",
                           "void", "adjust_add", "adjust_remove", "time_step", "released",
                           "expired"}) {
    // 20 in 1,500 operations; in proportion when fewer run.
    EXPECT_GE(counts_[kind], std::max(5, 20 * operations / 1500))
        << kind << " ran too rarely to mean anything";
  }
  // The stock runs out once five of the reward's holds are committed (a third are at once).
  EXPECT_GE(counts_["reward_out_of_stock"], 5) << "the reward's stock never ran out";
  // Each tier and action rule was exercised (in 1,500 operations; fewer under the sanitizers).
  if (operations >= 1500) {
    for (const char* kind : {"earn_with_tier", "tier_up", "tier_down", "signup", "signup_again",
                             "share", "share_again", "share_over_cap", "action_retry"}) {
      EXPECT_GE(counts_[kind], 3) << kind << " ran too rarely to mean anything";
    }
  }
}

}  // namespace
}  // namespace loyalty::points
