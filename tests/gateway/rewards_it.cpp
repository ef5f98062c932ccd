// The rewards catalogue through the gateway's AdminService on all six services and a real
// Postgres (docs/rewards.md): bad definitions are refused naming the field and write nothing;
// a reward is created, versioned with author and reason, replayed by request id, never created
// twice; an update may not take the stock limit below what was redeemed.
#include "gateway_fixture.hpp"

namespace loyalty::gateway {
namespace {

class RewardsIT : public GatewayIT {
 protected:
  static points::v1::RewardDefinition FiveOff() {
    points::v1::RewardDefinition d;
    d.set_name("5.00 off");
    d.set_kind(points::v1::REWARD_KIND_AMOUNT_OFF);
    d.set_points_cost(500);
    d.set_amount_off_minor(500);
    d.set_stock_limit(5);
    d.add_tier_ids("gold");
    return d;
  }

  grpc::Status Create(const TestStore& s, const std::string& request_id,
                      const std::string& reward_id, const points::v1::RewardDefinition& d,
                      v1::CreateRewardResponse* resp) {
    v1::CreateRewardRequest req;
    req.set_request_id(request_id);
    req.set_reward_id(reward_id);
    *req.mutable_definition() = d;
    req.set_reason("launch");
    return admin_->CreateReward(Ctx(s.owner).get(), req, resp);
  }

  grpc::Status Update(const TestStore& s, const std::string& request_id,
                      const std::string& reward_id, const points::v1::RewardDefinition& d,
                      v1::UpdateRewardResponse* resp) {
    v1::UpdateRewardRequest req;
    req.set_request_id(request_id);
    req.set_reward_id(reward_id);
    *req.mutable_definition() = d;
    req.set_reason("more stock");
    return admin_->UpdateReward(Ctx(s.owner).get(), req, resp);
  }

  v1::ListRewardsResponse List(const TestStore& s, const std::string& reward_id = "") {
    v1::ListRewardsRequest req;
    req.set_reward_id(reward_id);
    v1::ListRewardsResponse resp;
    const auto status = admin_->ListRewards(Ctx(s.owner).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  }
};

TEST_F(RewardsIT, ABadDefinitionIsRefusedNamingTheFieldAndWritesNothing) {
  const auto s = CreateStore("rewards-bad");
  SetUpProgram(s);
  auto d = FiveOff();
  d.set_kind(points::v1::REWARD_KIND_PERCENT_OFF);
  d.set_amount_off_minor(0);
  d.set_percent_off_bps(1000);  // no cap
  v1::CreateRewardResponse resp;
  const auto status = Create(s, "r-1", "ten-percent", d, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"definition.cap_minor"});
  EXPECT_EQ(List(s).rewards_size(), 0);
  // The request id stays free for the corrected definition.
  d.set_cap_minor(2000);
  ASSERT_TRUE(Create(s, "r-1", "ten-percent", d, &resp).ok());
  EXPECT_EQ(resp.reward().definition().cap_minor(), 2000);
}

TEST_F(RewardsIT, CreatedOnceVersionedWithAuthorAndReasonAndReplayedByRequestId) {
  const auto s = CreateStore("rewards-versions");
  SetUpProgram(s);
  v1::CreateRewardResponse created;
  ASSERT_TRUE(Create(s, "r-1", "5-off", FiveOff(), &created).ok());
  EXPECT_EQ(created.reward().reward_id(), "5-off");
  EXPECT_EQ(created.reward().version(), 1);
  EXPECT_FALSE(created.reward().author().empty());  // the owner's key id
  EXPECT_EQ(created.reward().reason(), "launch");
  EXPECT_EQ(created.reward().redeemed(), 0);
  EXPECT_EQ(created.reward().definition().currency_code(), "USD");

  v1::CreateRewardResponse replayed;
  ASSERT_TRUE(Create(s, "r-1", "5-off", FiveOff(), &replayed).ok());
  EXPECT_EQ(replayed.SerializeAsString(), created.SerializeAsString());
  v1::CreateRewardResponse again;
  const auto twice = Create(s, "r-2", "5-off", FiveOff(), &again);
  EXPECT_EQ(twice.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(common::ErrorReason(twice), "REWARD_EXISTS");

  auto d = FiveOff();
  d.set_stock_limit(10);
  v1::UpdateRewardResponse updated;
  ASSERT_TRUE(Update(s, "r-3", "5-off", d, &updated).ok());
  EXPECT_EQ(updated.reward().version(), 2);
  EXPECT_EQ(updated.reward().reason(), "more stock");
  v1::UpdateRewardResponse missing;
  const auto unknown = Update(s, "r-4", "no-such", d, &missing);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(common::ErrorReason(unknown), "REWARD_NOT_FOUND");

  const auto all = List(s);
  ASSERT_EQ(all.rewards_size(), 1);
  EXPECT_EQ(all.rewards(0).version(), 2);
  EXPECT_EQ(all.rewards(0).definition().stock_limit(), 10);
  EXPECT_EQ(all.versions_size(), 0);
  const auto history = List(s, "5-off");
  ASSERT_EQ(history.versions_size(), 2);
  EXPECT_EQ(history.versions(0).version(), 2);
  EXPECT_EQ(history.versions(1).version(), 1);
  EXPECT_EQ(history.versions(1).definition().stock_limit(), 5);
  EXPECT_EQ(history.versions(1).reason(), "launch");
}

TEST_F(RewardsIT, StoresSeeOnlyTheirOwnRewards) {
  const auto a = CreateStore("rewards-a");
  const auto b = CreateStore("rewards-b");
  SetUpProgram(a);
  SetUpProgram(b);
  v1::CreateRewardResponse created;
  ASSERT_TRUE(Create(a, "r-1", "5-off", FiveOff(), &created).ok());
  EXPECT_EQ(List(b).rewards_size(), 0);
  v1::UpdateRewardResponse updated;
  EXPECT_EQ(Update(b, "r-1", "5-off", FiveOff(), &updated).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace loyalty::gateway
