// Model-based test: thousands of seeded random operations (earn, refund, cancel, reserve with or
// without a reward of the catalogue, commit, void, hold expiry, adjust, time steps with release
// and expiry) against the real service and an in-memory model written here from the rules in
// points_service.proto and docs/rewards.md, sharing no code with the service. After every
// operation the touched customer's balances, and the reward's units redeemed, must be equal.
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>

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
};

struct MOrder {
  std::string customer;
  std::vector<MLine> lines;
  int64_t sequence = 1;
  bool cancelled = false;
};

struct MCustomer {
  std::map<std::string, MLot> lots;
  int64_t held = 0;
  int64_t debt = 0;  // owed, 0 or more
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
  const std::vector<std::string> names = {"ann", "bob", "cy", "di"};
  for (const auto& n : names) customers_[n];
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
      MOrder order{who, {}, 1, false};
      for (int i = 0, n = static_cast<int>(pick(1, 3)); i < n; ++i) {
        lines.emplace_back(pick(50, 30000), static_cast<int>(pick(1, 4)));
        order.lines.push_back({"l" + std::to_string(i + 1), lines.back().second, 0});
      }
      Place(MakeOrder(id, who, lines, now));
      for (size_t i = 0; i < lines.size(); ++i) {
        const int64_t points = lines[i].first / 100;  // base rate 1 per 100 minor units
        if (points == 0) continue;
        MLot lot;
        lot.earned = lot.pending = points;
        lot.quantity = lines[i].second;
        lot.available_at = now + 30 * kDay;
        c.lots["earn:" + id + ":l" + std::to_string(i + 1)] = lot;
      }
      orders_model_[id] = order;
      ++counts_["earn"];
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
        ASSERT_TRUE(Deliver("order.cancelled", id, ++order.sequence, cancelled).ok());
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
        ASSERT_TRUE(Refund(id, who, ++order.sequence, line.id, line.refunded, line.quantity).ok());
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
    } else if (op < 80) {  // adjust
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
}

}  // namespace
}  // namespace loyalty::points
