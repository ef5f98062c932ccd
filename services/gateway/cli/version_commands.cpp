// loyaltyctl's version commands (docs/dry-run.md, "Versions"):
//   versions list KIND [--reward ID | --campaign ID] [--page-size N] [--page-token T]
//   versions get KIND VERSION [--reward ID | --campaign ID]
//   versions diff KIND FROM TO [--reward ID | --campaign ID]
// KIND: settings, earn-rules, tiers, reward or campaign.
#include <CLI/CLI.hpp>

#include <iostream>
#include <map>
#include <memory>

#include "ctl.hpp"

namespace loyalty::ctl {

namespace {

using points::v1::VersionedKind;

struct Target {
  std::string kind, reward, campaign;
};

// The kind, reward and campaign options every versions command takes.
void AddTarget(CLI::App* command, Target& target) {
  command->add_option("kind", target.kind, "settings|earn-rules|tiers|reward|campaign")
      ->required()
      ->check(CLI::IsMember({"settings", "earn-rules", "tiers", "reward", "campaign"}));
  command->add_option("--reward", target.reward, "the reward (kind reward)");
  command->add_option("--campaign", target.campaign, "the campaign (kind campaign)");
}

template <typename Request>
void SetTarget(const Options& o, const Target& target, Request& req) {
  static const std::map<std::string, VersionedKind> kinds = {
      {"settings", points::v1::VERSIONED_KIND_SETTINGS},
      {"earn-rules", points::v1::VERSIONED_KIND_EARN_RULES},
      {"tiers", points::v1::VERSIONED_KIND_TIERS},
      {"reward", points::v1::VERSIONED_KIND_REWARD},
      {"campaign", points::v1::VERSIONED_KIND_CAMPAIGN}};
  req.set_store_id(o.store);
  req.set_kind(kinds.at(target.kind));
  req.set_reward_id(target.reward);
  req.set_campaign_id(target.campaign);
}

}  // namespace

void AddVersionCommands(CLI::App& app, const Options& o, std::function<void(Client&)>& run) {
  auto* versions =
      app.add_subcommand("versions", "versions of settings, rules, tiers, rewards, campaigns");
  versions->require_subcommand(1);

  struct ListArgs {
    Target target;
    int page_size = 0;
    std::string page_token;
  };
  auto list_args = std::make_shared<ListArgs>();
  auto* list = versions->add_subcommand("list", "versions, newest first");
  AddTarget(list, list_args->target);
  list->add_option("--page-size", list_args->page_size, "1-100 (default 20)");
  list->add_option("--page-token", list_args->page_token, "the previous page's next token");
  list->callback([&o, &run, list_args] {
    run = [&o, list_args](Client& c) {
      v1::ListVersionsRequest req;
      SetTarget(o, list_args->target, req);
      req.set_page_size(list_args->page_size);
      req.set_page_token(list_args->page_token);
      v1::ListVersionsResponse resp;
      Check(c.stub().ListVersions(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::vector<std::vector<std::string>> rows;
      for (const auto& v : resp.versions()) {
        rows.push_back({std::to_string(v.version()), Time(v.effective_from()), v.author(),
                        v.reason(), Time(v.created_at())});
      }
      PrintTable({"VERSION", "EFFECTIVE FROM", "AUTHOR", "REASON", "WRITTEN"}, rows);
      if (!resp.next_page_token().empty()) {
        std::cout << "next page: --page-token " << resp.next_page_token() << "\n";
      }
    };
  });

  struct GetArgs {
    Target target;
    int version = 0;
  };
  auto get_args = std::make_shared<GetArgs>();
  auto* get = versions->add_subcommand("get", "one version, whole (JSON)");
  AddTarget(get, get_args->target);
  get->add_option("version", get_args->version, "the version")->required();
  get->callback([&o, &run, get_args] {
    run = [&o, get_args](Client& c) {
      v1::GetVersionRequest req;
      SetTarget(o, get_args->target, req);
      req.set_version(get_args->version);
      v1::GetVersionResponse resp;
      Check(c.stub().GetVersion(c.Ctx().get(), req, &resp));
      std::cout << ToJson(resp.version()) << "\n";
    };
  });

  struct DiffArgs {
    Target target;
    int from = 0, to = 0;
  };
  auto diff_args = std::make_shared<DiffArgs>();
  auto* diff = versions->add_subcommand("diff", "what changed between two versions");
  AddTarget(diff, diff_args->target);
  diff->add_option("from", diff_args->from, "the earlier version")->required();
  diff->add_option("to", diff_args->to, "the later version")->required();
  diff->callback([&o, &run, diff_args] {
    run = [&o, diff_args](Client& c) {
      v1::DiffVersionsRequest req;
      SetTarget(o, diff_args->target, req);
      req.set_from_version(diff_args->from);
      req.set_to_version(diff_args->to);
      v1::DiffVersionsResponse resp;
      Check(c.stub().DiffVersions(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::vector<std::vector<std::string>> rows;
      for (const auto& change : resp.changes()) {
        rows.push_back({change.path(), change.before(), change.after()});
      }
      if (rows.empty()) return void(std::cout << "no changes\n");
      PrintTable({"FIELD", "VERSION " + std::to_string(diff_args->from),
                  "VERSION " + std::to_string(diff_args->to)},
                 rows);
    };
  });
}

}  // namespace loyalty::ctl
