// DryRunEarnRules end to end (docs/dry-run.md): 1,000 orders imported across a rule change that
// took effect while they were being placed; the dry run of a draft over them reports, against a
// hand computation, what the versions then in force issued (which the ledger also holds) and what
// the draft would have, and it changes no row of any table.
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <map>
#include <pqxx/pqxx>
#include <thread>

#include "gateway_fixture.hpp"

namespace loyalty::gateway {
namespace {

using google::protobuf::util::TimeUtil;

class DryRunIT : public GatewayIT {
 protected:
  // Every table of every schema the services own, as (row count, checksum of the rows' text).
  std::map<std::string, std::string> Snapshot() {
    pqxx::connection conn(db_.url());
    pqxx::read_transaction tx(conn);
    std::map<std::string, std::string> tables;
    for (const auto& row : tx.exec("SELECT table_schema, table_name FROM information_schema.tables "
                                   "WHERE table_type = 'BASE TABLE' "
                                   "AND table_schema NOT IN ('pg_catalog', 'information_schema')")) {
      tables[row[0].as<std::string>() + "." + row[1].as<std::string>()];
    }
    for (auto& [name, sum] : tables) {
      const auto quoted = tx.quote_name(name.substr(0, name.find('.'))) + "." +
                          tx.quote_name(name.substr(name.find('.') + 1));
      const auto row = tx.exec1("SELECT count(*)::text || ' ' || coalesce(md5(string_agg(t::text, "
                                "'|' ORDER BY t::text)), '') FROM " + quoted + " t");
      sum = row[0].as<std::string>();
    }
    return tables;
  }

  // Once the other consumers of what a test wrote (recommendations, the relay's bookkeeping) are
  // done: two snapshots in a row alike.
  std::map<std::string, std::string> SettledSnapshot() {
    auto before = Snapshot();
    EXPECT_TRUE(Eventually([&] {
      auto again = Snapshot();
      std::swap(again, before);
      return again == before;
    }));
    return before;
  }

  int64_t LedgerPoints(const TestStore& s, const std::string& customer) {
    points::v1::GetBalanceRequest req;
    req.set_store_id(s.store_id);
    req.set_customer_id(customer);
    points::v1::GetBalanceResponse resp;
    if (!points_stub_->GetBalance(testing::InternalContext().get(), req, &resp).ok()) return -1;
    return resp.balance().pending() + resp.balance().available();
  }

  grpc::Status DryRun(const TestStore& s, const v1::DryRunEarnRulesRequest& req,
                      v1::DryRunEarnRulesResponse* resp) {
    auto ctx = Ctx(s.owner);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return admin_->DryRunEarnRules(ctx.get(), req, resp);
  }
};

TEST_F(DryRunIT, AThousandOrdersAcrossARuleChangeMatchTheHandComputationAndNothingIsWritten) {
  const auto s = CreateStore("dry-run");
  SetUpProgram(s);  // base rate 1 (a point per 1.00), in force from now: T0
  v1::ListRuleVersionsRequest list;
  v1::ListRuleVersionsResponse versions;
  ASSERT_TRUE(admin_->ListRuleVersions(Ctx(s.owner).get(), list, &versions).ok());
  const int64_t t0 = TimeUtil::TimestampToMicroseconds(versions.versions(0).effective_from());
  // Base rate 2 from T1, 1.5 s ahead: published now, it earns nothing until then.
  const int64_t t1 = common::NowMicros() + 1'500'000;
  v1::PublishEarnRulesRequest v2;
  v2.set_request_id("rules-2");
  v2.mutable_rules()->set_base_rate(2);
  *v2.mutable_effective_from() = TimeUtil::MicrosecondsToTimestamp(t1);
  v1::PublishEarnRulesResponse published;
  ASSERT_TRUE(admin_->PublishEarnRules(Ctx(s.owner).get(), v2, &published).ok());
  std::vector<std::string> customers;
  for (int c = 0; c < 50; ++c) customers.push_back(Register(s, "c" + std::to_string(c) + "@x.org"));
  std::this_thread::sleep_for(std::chrono::microseconds(t1 + 600'000 - common::NowMicros()));

  // Order i: one line of (i + 1) units, a gift card when i is odd, by customer i % 50, placed
  // between T0 and T1 + 0.4 s in equal steps.
  constexpr int kOrders = 1000;
  const int64_t step = (t1 + 400'000 - t0) / (kOrders + 1);
  v1::ImportOrdersRequest import;
  import.set_request_id("import-1");
  std::map<std::string, std::pair<int64_t, int64_t>> expected;  // customer: in force, draft
  int64_t in_force = 0, draft = 0;
  for (int i = 0; i < kOrders; ++i) {
    const int64_t placed = t0 + (i + 1) * step;
    auto* o = import.add_orders();
    o->mutable_order()->set_order_id("o" + std::to_string(i));
    o->mutable_order()->set_customer_id(customers[i % 50]);
    auto* line = o->mutable_order()->add_lines();
    line->set_line_id("1");
    line->set_sku("S" + std::to_string(i % 7));
    line->set_category(i % 2 ? "gift" : "tea");
    line->set_unit_price_minor((i + 1) * 100);
    line->set_quantity(1);
    *o->mutable_placed_at() = TimeUtil::MicrosecondsToTimestamp(placed);
    o->set_fulfilled(true);
    o->set_earn_points(true);
    const int64_t was = (i + 1) * (placed < t1 ? 1 : 2);
    const int64_t would = i % 2 ? 0 : 3 * (i + 1);  // the draft: base 3, gift cards excluded
    in_force += was;
    draft += would;
    expected[customers[i % 50]].first += was;
    expected[customers[i % 50]].second += would;
  }
  v1::ImportOrdersResponse imported;
  const auto status = admin_->ImportOrders(Ctx(s.owner).get(), import, &imported);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(imported.result().imported(), kOrders);
  // The ledger earned exactly the hand-computed figures: v2 nothing before T1.
  for (const auto& [customer, figures] : expected) {
    ASSERT_TRUE(Eventually([&] { return LedgerPoints(s, customer) == figures.first; }))
        << customer << " has " << LedgerPoints(s, customer) << ", expected " << figures.first;
  }

  v1::DryRunEarnRulesRequest req;
  req.mutable_draft()->set_base_rate(3);
  req.mutable_draft()->add_excluded_categories("gift");
  *req.mutable_from() = TimeUtil::MicrosecondsToTimestamp(t0);
  *req.mutable_to() = TimeUtil::MicrosecondsToTimestamp(t1 + 500'000);
  req.set_top_customers(3);
  const auto before = SettledSnapshot();
  v1::DryRunEarnRulesResponse resp;
  const auto ran = DryRun(s, req, &resp);
  ASSERT_TRUE(ran.ok()) << ran.error_message();
  EXPECT_EQ(Snapshot(), before);

  const auto& r = resp.report();
  EXPECT_EQ(r.orders(), kOrders);
  EXPECT_EQ(r.lines(), kOrders);
  EXPECT_EQ(r.customers(), 50);
  EXPECT_EQ(r.customers_affected(), 50);
  EXPECT_EQ(r.points_in_force(), in_force);
  EXPECT_EQ(r.points_draft(), draft);
  EXPECT_EQ(r.cost_in_force_minor(), in_force);  // 100 points are worth 1.00: a point, a cent
  EXPECT_EQ(r.cost_draft_minor(), draft);
  // The most affected: largest difference either way, then by customer id.
  std::vector<std::pair<int64_t, std::string>> by_difference;
  for (const auto& [customer, f] : expected) {
    by_difference.emplace_back(-std::abs(f.second - f.first), customer);
  }
  std::sort(by_difference.begin(), by_difference.end());
  ASSERT_EQ(r.most_affected_size(), 3);
  for (int k = 0; k < 3; ++k) {
    const auto& customer = by_difference[k].second;
    EXPECT_EQ(r.most_affected(k).customer_id(), customer);
    EXPECT_EQ(r.most_affected(k).orders(), kOrders / 50);
    EXPECT_EQ(r.most_affected(k).points_in_force(), expected[customer].first);
    EXPECT_EQ(r.most_affected(k).points_draft(), expected[customer].second);
  }

  // A period before the orders: nothing to replay.
  *req.mutable_to() = TimeUtil::MicrosecondsToTimestamp(t0);
  *req.mutable_from() = TimeUtil::MicrosecondsToTimestamp(t0 - 86'400'000'000);
  ASSERT_TRUE(DryRun(s, req, &resp).ok());
  EXPECT_EQ(resp.report().orders(), 0);
  EXPECT_EQ(resp.report().points_draft(), 0);
}

TEST_F(DryRunIT, ABadDraftOrPeriodIsRefusedNamingTheField) {
  const auto s = CreateStore("dry-run-bad");
  SetUpProgram(s);
  const auto now = TimeUtil::MicrosecondsToTimestamp(common::NowMicros());
  const auto day_ago = TimeUtil::MicrosecondsToTimestamp(common::NowMicros() - 86'400'000'000);
  struct Case {
    std::function<void(v1::DryRunEarnRulesRequest&)> change;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](auto& r) { r.mutable_draft()->set_base_rate(-1); }, "draft.base_rate"},
      {[](auto& r) { r.clear_from(); }, "from"},
      {[&](auto& r) { *r.mutable_to() = day_ago; *r.mutable_from() = now; }, "to"},
      {[&](auto& r) {
         *r.mutable_from() = TimeUtil::MicrosecondsToTimestamp(common::NowMicros() -
                                                                367 * 86'400'000'000LL);
       },
       "to"},
      {[](auto& r) { r.set_top_customers(101); }, "top_customers"},
  };
  for (const auto& c : cases) {
    v1::DryRunEarnRulesRequest req;
    req.mutable_draft()->set_base_rate(1);
    *req.mutable_from() = day_ago;
    *req.mutable_to() = now;
    c.change(req);
    v1::DryRunEarnRulesResponse resp;
    const auto refused = DryRun(s, req, &resp);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(common::ErrorFields(refused), std::vector<std::string>{c.field});
  }
  // A viewer may not run it.
  const auto viewer = CreateKey(s.owner, v1::KEY_KIND_ADMIN, v1::ROLE_VIEWER, 0);
  v1::DryRunEarnRulesRequest req;
  req.mutable_draft()->set_base_rate(1);
  *req.mutable_from() = day_ago;
  *req.mutable_to() = now;
  v1::DryRunEarnRulesResponse resp;
  EXPECT_EQ(admin_->DryRunEarnRules(Ctx(viewer).get(), req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// DryRunTiers (docs/dry-run.md, "A tier program's draft"): a draft with a lower gold threshold
// and a platinum tier, against Member (0) and Gold (80.00) published; counts per tier and per
// move as computed by hand from the orders; nothing written; a bad draft names the field.
TEST_F(DryRunIT, ATierDraftCountsWhoWouldMoveAndWritesNothing) {
  const auto s = CreateStore("tiers-dry-run");
  SetUpProgram(s);
  auto program = [](int64_t gold, int64_t platinum) {
    points::v1::TierProgram p;
    p.set_measure(points::v1::TIER_MEASURE_SPEND);
    p.set_window(points::v1::TIER_WINDOW_ROLLING_12_MONTHS);
    p.set_currency_code("USD");
    auto* member = p.add_tiers();
    member->set_tier_id("member");
    member->set_name("Member");
    auto* g = p.add_tiers();
    g->set_tier_id("gold");
    g->set_name("Gold");
    g->set_threshold(gold);
    if (platinum > 0) {
      auto* pl = p.add_tiers();
      pl->set_tier_id("platinum");
      pl->set_name("Platinum");
      pl->set_threshold(platinum);
    }
    return p;
  };
  v1::PublishTiersRequest publish;
  publish.set_request_id("tiers-1");
  publish.set_reason("launch");
  *publish.mutable_program() = program(8000, 0);
  v1::PublishTiersResponse published;
  ASSERT_TRUE(admin_->PublishTiers(Ctx(s.owner).get(), publish, &published).ok());

  // Ada spends 50.00 (Member), Bob 100.00 in two orders (Gold from his second).
  const auto ada = Register(s, "ada@example.com");
  const auto bob = Register(s, "bob@example.com");
  v1::PlaceOrderResponse order;
  ASSERT_TRUE(Place(s, "o-ada", TwoLineCart(ada, 0), &order).ok());
  ASSERT_TRUE(Place(s, "o-bob-1", TwoLineCart(bob, 0), &order).ok());
  ASSERT_TRUE(Place(s, "o-bob-2", TwoLineCart(bob, 0), &order).ok());
  ASSERT_TRUE(Eventually([&] {
    return Status(s, ada).balance().pending() == 50 && Status(s, bob).balance().pending() == 100;
  }));

  const auto before = SettledSnapshot();
  v1::DryRunTiersRequest req;
  *req.mutable_draft() = program(4000, 9000);
  v1::DryRunTiersResponse resp;
  auto status = admin_->DryRunTiers(Ctx(s.owner).get(), req, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const auto& r = resp.report();
  EXPECT_EQ(r.tier_version_now(), 1);
  EXPECT_EQ(r.customers(), 2);
  EXPECT_EQ(r.customers_moved(), 2);
  ASSERT_EQ(r.moves_size(), 2);
  EXPECT_EQ(r.moves(0).from_tier_id() + ">" + r.moves(0).to_tier_id(), "gold>platinum");
  EXPECT_EQ(r.moves(1).from_tier_id() + ">" + r.moves(1).to_tier_id(), "member>gold");
  ASSERT_EQ(r.tiers_size(), 3);
  EXPECT_EQ(r.tiers(0).tier_id(), "member");
  EXPECT_EQ(r.tiers(0).customers_now(), 1);
  EXPECT_EQ(r.tiers(0).customers_draft(), 0);
  EXPECT_EQ(r.tiers(1).customers_now(), 1);
  EXPECT_EQ(r.tiers(1).customers_draft(), 1);
  EXPECT_EQ(r.tiers(2).tier_id(), "platinum");
  EXPECT_EQ(r.tiers(2).customers_draft(), 1);
  EXPECT_EQ(Snapshot(), before);

  // The published program against itself: nobody moves.
  *req.mutable_draft() = program(8000, 0);
  ASSERT_TRUE(admin_->DryRunTiers(Ctx(s.owner).get(), req, &resp).ok());
  EXPECT_EQ(resp.report().customers_moved(), 0);

  *req.mutable_draft() = program(8000, 7000);  // platinum below gold
  status = admin_->DryRunTiers(Ctx(s.owner).get(), req, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_FALSE(common::ErrorFields(status).empty());
  EXPECT_EQ(common::ErrorFields(status)[0].rfind("draft.tiers[2]", 0), 0u)
      << common::ErrorFields(status)[0];
  *req.mutable_draft() = program(8000, 0);
  *req.mutable_as_of() = InDays(1);
  status = admin_->DryRunTiers(Ctx(s.owner).get(), req, &resp);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"as_of"});
}

// DiffVersions (docs/dry-run.md, "Versions"): two versions whole and what changed, for settings
// and a reward; a missing version or a bad kind is refused naming the field.
TEST_F(DryRunIT, TwoVersionsAreShownWholeWithWhatChangedFieldByField) {
  const auto s = CreateStore("versions");
  SetUpProgram(s);  // settings version 2 (the store's creation wrote version 1)
  v1::UpdateSettingsRequest update;
  update.set_request_id("settings-2");
  v1::GetSettingsRequest get;
  v1::GetSettingsResponse current;
  ASSERT_TRUE(admin_->GetSettings(Ctx(s.owner).get(), get, &current).ok());
  *update.mutable_settings() = current.settings();
  update.mutable_settings()->set_return_window_days(30);
  update.mutable_settings()->mutable_cart_recovery()->set_after_hours(24);
  update.set_reason("longer returns");
  v1::UpdateSettingsResponse updated;
  ASSERT_TRUE(admin_->UpdateSettings(Ctx(s.owner).get(), update, &updated).ok());

  v1::DiffVersionsRequest req;
  req.set_kind(points::v1::VERSIONED_KIND_SETTINGS);
  req.set_from_version(2);
  req.set_to_version(3);
  v1::DiffVersionsResponse diff;
  auto status = admin_->DiffVersions(Ctx(s.owner).get(), req, &diff);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<std::string> changes;
  for (const auto& c : diff.changes()) {
    // created_at differs between any two versions; the rest is what the admin changed.
    if (c.path() != "version" && c.path() != "created_at") {
      changes.push_back(c.path() + ": " + c.before() + " -> " + c.after());
    }
  }
  EXPECT_EQ(changes, (std::vector<std::string>{"return_window_days: 14 -> 30",
                                               "cart_recovery:  -> {\"after_hours\":24}"}));
  EXPECT_EQ(diff.from().version(), 2);
  EXPECT_EQ(diff.to().version(), 3);
  EXPECT_NE(diff.to().content_json().find("\"return_window_days\":30"), std::string::npos);
  EXPECT_EQ(diff.to().reason(), "longer returns");
  EXPECT_FALSE(diff.to().author().empty());

  // The settings versions, newest first, two a page: the first is the store's seed, by nobody.
  v1::ListVersionsRequest list;
  list.set_kind(points::v1::VERSIONED_KIND_SETTINGS);
  list.set_page_size(2);
  v1::ListVersionsResponse page;
  auto listed = admin_->ListVersions(Ctx(s.owner).get(), list, &page);
  ASSERT_TRUE(listed.ok()) << listed.error_message();
  ASSERT_EQ(page.versions_size(), 2);
  EXPECT_EQ(page.versions(0).version(), 3);
  EXPECT_EQ(page.versions(0).reason(), "longer returns");
  EXPECT_EQ(page.versions(0).effective_from().seconds(), page.versions(0).created_at().seconds());
  EXPECT_EQ(page.versions(1).version(), 2);
  list.set_page_token(page.next_page_token());
  ASSERT_TRUE(admin_->ListVersions(Ctx(s.owner).get(), list, &page).ok());
  ASSERT_EQ(page.versions_size(), 1);
  EXPECT_EQ(page.versions(0).version(), 1);
  EXPECT_TRUE(page.versions(0).author().empty());
  EXPECT_TRUE(page.next_page_token().empty());
  list.set_page_token("not-a-token");
  listed = admin_->ListVersions(Ctx(s.owner).get(), list, &page);
  EXPECT_EQ(listed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(listed), std::vector<std::string>{"page_token"});

  // A reward's versions name who changed it and why.
  points::v1::RewardDefinition five;
  five.set_name("5.00 off");
  five.set_kind(points::v1::REWARD_KIND_AMOUNT_OFF);
  five.set_points_cost(500);
  five.set_amount_off_minor(500);
  v1::CreateRewardRequest create;
  create.set_request_id("reward-1");
  create.set_reward_id("five-off");
  *create.mutable_definition() = five;
  create.set_reason("launch");
  v1::CreateRewardResponse created;
  ASSERT_TRUE(admin_->CreateReward(Ctx(s.owner).get(), create, &created).ok());
  v1::UpdateRewardRequest change;
  change.set_request_id("reward-2");
  change.set_reward_id("five-off");
  *change.mutable_definition() = five;
  change.mutable_definition()->set_points_cost(400);
  change.set_reason("cheaper in December");
  v1::UpdateRewardResponse changed;
  ASSERT_TRUE(admin_->UpdateReward(Ctx(s.owner).get(), change, &changed).ok());
  req.set_kind(points::v1::VERSIONED_KIND_REWARD);
  req.set_reward_id("five-off");
  req.set_from_version(1);
  req.set_to_version(2);
  ASSERT_TRUE(admin_->DiffVersions(Ctx(s.owner).get(), req, &diff).ok());
  ASSERT_EQ(diff.changes_size(), 1);
  EXPECT_EQ(diff.changes(0).path(), "points_cost");
  EXPECT_EQ(diff.changes(0).before(), "500");
  EXPECT_EQ(diff.changes(0).after(), "400");
  EXPECT_EQ(diff.to().reason(), "cheaper in December");
  EXPECT_FALSE(diff.to().author().empty());

  req.set_to_version(3);
  status = admin_->DiffVersions(Ctx(s.owner).get(), req, &diff);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"to_version"});
  req.set_kind(points::v1::VERSIONED_KIND_UNSPECIFIED);
  req.clear_reward_id();
  status = admin_->DiffVersions(Ctx(s.owner).get(), req, &diff);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"kind"});
}

}  // namespace
}  // namespace loyalty::gateway
