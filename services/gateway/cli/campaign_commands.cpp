// loyaltyctl's campaign commands (docs/campaigns.md):
//   campaigns put ID FILE --reason TEXT       (a JSON or YAML CampaignDefinition)
//   campaigns run ID [--preview] [--as-of RFC3339]
#include <CLI/CLI.hpp>
#include <google/protobuf/util/time_util.h>

#include <iostream>

#include "ctl.hpp"

namespace loyalty::ctl {

namespace {

struct PutArgs {
  std::string id, file, reason;
};

struct RunArgs {
  std::string id, as_of;
  bool preview = false;
};

}  // namespace

void AddCampaignCommands(CLI::App& app, const Options& o, std::function<void(Client&)>& run,
                         const StructuredFileReader& read) {
  auto* campaigns = app.add_subcommand("campaigns", "win-back and other campaigns");
  campaigns->require_subcommand(1);

  auto put_args = std::make_shared<PutArgs>();
  auto* put = campaigns->add_subcommand("put", "create or replace a campaign from a file");
  put->add_option("id", put_args->id, "campaign id")->required();
  put->add_option("file", put_args->file, "JSON or YAML CampaignDefinition")->required();
  put->add_option("--reason", put_args->reason, "why (recorded with the campaign)")->required();
  put->callback([&o, &run, &read, put_args] {
    run = [&o, &read, put_args](Client& c) {
      v1::PutCampaignRequest req;
      req.set_store_id(o.store);
      req.set_request_id(NewRequestId());
      req.set_campaign_id(put_args->id);
      read(put_args->file, req.mutable_definition());
      req.set_reason(put_args->reason);
      v1::PutCampaignResponse resp;
      Check(c.stub().PutCampaign(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp.campaign()) << "\n");
      std::cout << "campaign " << resp.campaign().campaign_id() << " saved\n";
    };
  });

  auto run_args = std::make_shared<RunArgs>();
  auto* run_cmd = campaigns->add_subcommand("run", "run a campaign now (or as of a time)");
  run_cmd->add_option("id", run_args->id, "campaign id")->required();
  run_cmd->add_flag("--preview", run_args->preview, "count whom it would reach; write nothing");
  run_cmd->add_option("--as-of", run_args->as_of, "the run's time, RFC 3339 (default: now)");
  run_cmd->callback([&o, &run, run_args] {
    run = [&o, run_args](Client& c) {
      v1::RunCampaignRequest req;
      req.set_store_id(o.store);
      req.set_request_id(NewRequestId());
      req.set_campaign_id(run_args->id);
      req.set_preview(run_args->preview);
      if (!run_args->as_of.empty() &&
          !google::protobuf::util::TimeUtil::FromString(run_args->as_of, req.mutable_as_of())) {
        throw CLI::ValidationError("--as-of", "is not an RFC 3339 time: " + run_args->as_of);
      }
      v1::RunCampaignResponse resp;
      Check(c.stub().RunCampaign(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::cout << (run_args->preview ? "would reach " : "reached ") << resp.reached()
                << "; already reached " << resp.already_reached() << "; without consent "
                << resp.without_consent() << "; codes " << resp.codes() << "\n";
    };
  });
}

}  // namespace loyalty::ctl
