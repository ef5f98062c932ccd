// loyaltyctl's rewards catalogue commands:
//   rewards create ID FILE --reason TEXT     (a JSON or YAML RewardDefinition)
//   rewards update ID FILE --reason TEXT     (the whole new definition: a new version)
//   rewards list [ID]                        (with an id: that reward's versions)
//   rewards dry-run ID FILE --from RFC3339 --to RFC3339   (a draft RewardDefinition)
#include <CLI/CLI.hpp>

#include <iostream>

#include "ctl.hpp"

namespace loyalty::ctl {

namespace {

// What a reward does, in a table cell.
std::string Terms(const points::v1::RewardDefinition& d) {
  switch (d.kind()) {
    case points::v1::REWARD_KIND_AMOUNT_OFF:
      return std::to_string(d.amount_off_minor()) + " off";
    case points::v1::REWARD_KIND_PERCENT_OFF:
      return std::to_string(d.percent_off_bps()) + " bps off, at most " +
             std::to_string(d.cap_minor());
    case points::v1::REWARD_KIND_FREE_SHIPPING:
      return "free shipping";
    case points::v1::REWARD_KIND_FREE_PRODUCT:
      return "free " + d.sku();
    case points::v1::REWARD_KIND_GIFT_WRAP:
      return "free gift wrap " + d.sku();
    default:
      return "?";
  }
}

std::string Stock(const points::v1::Reward& r) {
  const auto limit = r.definition().stock_limit();
  return limit == 0 ? std::to_string(r.redeemed()) + "/-"
                    : std::to_string(r.redeemed()) + "/" + std::to_string(limit);
}

std::vector<std::string> Row(const points::v1::Reward& r) {
  const auto& d = r.definition();
  std::string who;
  for (const auto& t : d.tier_ids()) who += (who.empty() ? "" : ",") + t;
  if (d.exclusive()) who += who.empty() ? "exclusive" : " (exclusive)";
  return {r.reward_id(),  std::to_string(r.version()), d.name(), std::to_string(d.points_cost()),
          Terms(d),       who.empty() ? "anyone" : who, Stock(r), d.disabled() ? "no" : "yes",
          r.author(),     r.reason()};
}

struct WriteArgs {
  std::string id, file, reason;
};

struct DryRunArgs {
  std::string id, file, from, to;
};

}  // namespace

void AddRewardCommands(CLI::App& app, const Options& o, std::function<void(Client&)>& run,
                       const StructuredFileReader& read) {
  auto* rewards = app.add_subcommand("rewards", "the rewards catalogue");
  rewards->require_subcommand(1);

  auto add_write = [&](const char* name, const char* help, bool create) {
    auto args = std::make_shared<WriteArgs>();
    auto* cmd = rewards->add_subcommand(name, help);
    cmd->add_option("id", args->id, "reward id")->required();
    cmd->add_option("file", args->file, "JSON or YAML RewardDefinition")->required();
    cmd->add_option("--reason", args->reason, "why (recorded with the version)")->required();
    cmd->callback([&o, &run, &read, args, create] {
      run = [&o, &read, args, create](Client& c) {
        points::v1::Reward reward;
        if (create) {
          v1::CreateRewardRequest req;
          req.set_store_id(o.store);
          req.set_request_id(NewRequestId());
          req.set_reward_id(args->id);
          read(args->file, req.mutable_definition());
          req.set_reason(args->reason);
          v1::CreateRewardResponse resp;
          Check(c.stub().CreateReward(c.Ctx().get(), req, &resp));
          reward = resp.reward();
        } else {
          v1::UpdateRewardRequest req;
          req.set_store_id(o.store);
          req.set_request_id(NewRequestId());
          req.set_reward_id(args->id);
          read(args->file, req.mutable_definition());
          req.set_reason(args->reason);
          v1::UpdateRewardResponse resp;
          Check(c.stub().UpdateReward(c.Ctx().get(), req, &resp));
          reward = resp.reward();
        }
        if (o.json) return void(std::cout << ToJson(reward) << "\n");
        std::cout << "reward " << reward.reward_id() << " version " << reward.version() << "\n";
      };
    });
  };
  add_write("create", "create a reward from a file", true);
  add_write("update", "write a new version of a reward from a file", false);

  auto id = std::make_shared<std::string>();
  auto dry = std::make_shared<DryRunArgs>();
  auto* dry_run = rewards->add_subcommand(
      "dry-run", "what a draft would have done to a past period's redemptions of the reward");
  dry_run->add_option("id", dry->id, "reward id")->required();
  dry_run->add_option("file", dry->file, "JSON or YAML RewardDefinition: the draft")->required();
  dry_run->add_option("--from", dry->from, "RFC 3339 time: redemptions from")->required();
  dry_run->add_option("--to", dry->to, "RFC 3339 time: redemptions before")->required();
  dry_run->callback([&o, &run, &read, dry] {
    run = [&o, &read, dry](Client& c) {
      v1::DryRunRewardRequest req;
      req.set_store_id(o.store);
      req.set_reward_id(dry->id);
      read(dry->file, req.mutable_draft());
      ParseTime(dry->from, "--from", req.mutable_from());
      ParseTime(dry->to, "--to", req.mutable_to());
      v1::DryRunRewardResponse resp;
      Check(c.stub().DryRunReward(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      const auto& r = resp.report();
      std::cout << r.customers() << " customers; the draft refuses " << r.refused_disabled()
                << " (withdrawn), " << r.refused_window() << " (window), " << r.refused_stock()
                << " (stock)\n";
      PrintTable({"", "REDEMPTIONS", "POINTS"},
                 {{"in force", std::to_string(r.redemptions()), std::to_string(r.points_in_force())},
                  {"draft", std::to_string(r.redemptions_draft()),
                   std::to_string(r.points_draft())}});
    };
  });

  auto* list = rewards->add_subcommand("list", "the rewards; with an id, its versions");
  list->add_option("id", *id, "reward id");
  list->callback([&o, &run, id] {
    run = [&o, id](Client& c) {
      v1::ListRewardsRequest req;
      req.set_store_id(o.store);
      req.set_reward_id(*id);
      v1::ListRewardsResponse resp;
      Check(c.stub().ListRewards(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::vector<std::vector<std::string>> rows;
      for (const auto& r : id->empty() ? resp.rewards() : resp.versions()) rows.push_back(Row(r));
      PrintTable({"ID", "VERSION", "NAME", "POINTS", "TAKES OFF", "WHO", "REDEEMED/STOCK",
                  "ENABLED", "AUTHOR", "REASON"},
                 rows);
    };
  });
}

}  // namespace loyalty::ctl
