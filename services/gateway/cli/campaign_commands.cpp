// loyaltyctl's campaign commands (docs/campaigns.md):
//   campaigns put ID FILE --reason TEXT [--effective-from RFC3339]   (a CampaignDefinition)
//   campaigns run ID [--preview [--version N]] [--as-of RFC3339]
//   segments put ID FILE --reason TEXT        (a JSON or YAML CampaignAudience)
//   segments members ID [--as-of RFC3339] [--page-size N] [--after ID]
//   subscriptions report --from RFC3339 --to RFC3339   (docs/subscriptions.md)
#include <CLI/CLI.hpp>

#include <iostream>

#include "ctl.hpp"

namespace loyalty::ctl {

namespace {

struct PutArgs {
  std::string id, file, reason, effective_from;
};

struct RunArgs {
  std::string id, as_of;
  bool preview = false;
  int version = 0;
};

struct PeriodArgs {
  std::string from, to;
};

struct MembersArgs {
  std::string id, as_of, after;
  int page_size = 0;
};

}  // namespace

void AddCampaignCommands(CLI::App& app, const Options& o, std::function<void(Client&)>& run,
                         const StructuredFileReader& read) {
  auto* campaigns = app.add_subcommand("campaigns", "win-back and other campaigns");
  campaigns->require_subcommand(1);

  auto put_args = std::make_shared<PutArgs>();
  auto* put = campaigns->add_subcommand("put", "write a campaign's next version from a file");
  put->add_option("id", put_args->id, "campaign id")->required();
  put->add_option("file", put_args->file, "JSON or YAML CampaignDefinition")->required();
  put->add_option("--reason", put_args->reason, "why (recorded with the version)")->required();
  put->add_option("--effective-from", put_args->effective_from, "RFC 3339 time (default: now)");
  put->callback([&o, &run, &read, put_args] {
    run = [&o, &read, put_args](Client& c) {
      v1::PutCampaignRequest req;
      req.set_store_id(o.store);
      req.set_request_id(NewRequestId());
      req.set_campaign_id(put_args->id);
      read(put_args->file, req.mutable_definition());
      req.set_reason(put_args->reason);
      if (!put_args->effective_from.empty()) {
        ParseTime(put_args->effective_from, "--effective-from", req.mutable_effective_from());
      }
      v1::PutCampaignResponse resp;
      Check(c.stub().PutCampaign(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp.campaign()) << "\n");
      std::cout << "campaign " << resp.campaign().campaign_id() << " version "
                << resp.campaign().version() << ", effective from "
                << Time(resp.campaign().effective_from()) << "\n";
    };
  });

  auto run_args = std::make_shared<RunArgs>();
  auto* run_cmd = campaigns->add_subcommand("run", "run a campaign now (or as of a time)");
  run_cmd->add_option("id", run_args->id, "campaign id")->required();
  run_cmd->add_flag("--preview", run_args->preview, "count whom it would reach; write nothing");
  run_cmd->add_option("--version", run_args->version,
                      "with --preview: this version instead of the one in force");
  run_cmd->add_option("--as-of", run_args->as_of, "the run's time, RFC 3339 (default: now)");
  run_cmd->callback([&o, &run, run_args] {
    run = [&o, run_args](Client& c) {
      v1::RunCampaignRequest req;
      req.set_store_id(o.store);
      req.set_request_id(NewRequestId());
      req.set_campaign_id(run_args->id);
      req.set_preview(run_args->preview);
      req.set_version(run_args->version);
      SetAsOf(run_args->as_of, req);
      v1::RunCampaignResponse resp;
      Check(c.stub().RunCampaign(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::cout << (run_args->preview ? "would reach " : "reached ") << resp.reached()
                << "; already reached " << resp.already_reached() << "; without consent "
                << resp.without_consent() << "; codes " << resp.codes() << "\n";
    };
  });

  auto* segments = app.add_subcommand("segments", "saved segments, a campaign's audience");
  segments->require_subcommand(1);
  auto segment_args = std::make_shared<PutArgs>();
  auto* put_segment = segments->add_subcommand("put", "create or replace a segment from a file");
  put_segment->add_option("id", segment_args->id, "segment id")->required();
  put_segment->add_option("file", segment_args->file, "JSON or YAML CampaignAudience")->required();
  put_segment->add_option("--reason", segment_args->reason, "why")->required();
  put_segment->callback([&o, &run, &read, segment_args] {
    run = [&o, &read, segment_args](Client& c) {
      v1::PutSegmentRequest req;
      req.set_store_id(o.store);
      req.set_request_id(NewRequestId());
      req.set_segment_id(segment_args->id);
      read(segment_args->file, req.mutable_definition());
      req.set_reason(segment_args->reason);
      v1::PutSegmentResponse resp;
      Check(c.stub().PutSegment(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp.segment()) << "\n");
      std::cout << "segment " << resp.segment().segment_id() << " saved\n";
    };
  });
  auto members_args = std::make_shared<MembersArgs>();
  auto* members = segments->add_subcommand("members", "count a segment and list a page of it");
  members->add_option("id", members_args->id, "segment id")->required();
  members->add_option("--as-of", members_args->as_of, "evaluate as of, RFC 3339 (default: now)");
  members->add_option("--page-size", members_args->page_size, "ids to list, 1 to 1,000");
  members->add_option("--after", members_args->after, "the last id of the previous page");
  members->callback([&o, &run, members_args] {
    run = [&o, members_args](Client& c) {
      v1::PreviewSegmentRequest req;
      req.set_store_id(o.store);
      req.set_segment_id(members_args->id);
      SetAsOf(members_args->as_of, req);
      req.set_page_size(members_args->page_size);
      req.set_page_token(members_args->after);
      v1::PreviewSegmentResponse resp;
      Check(c.stub().PreviewSegment(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::cout << resp.members() << " members, " << resp.with_consent()
                << " with marketing consent\n";
      for (const auto& id : resp.customer_ids()) std::cout << id << "\n";
      if (!resp.next_page_token().empty()) {
        std::cout << "more: --after " << resp.next_page_token() << "\n";
      }
    };
  });

  auto* subscriptions = app.add_subcommand("subscriptions", "customers' subscriptions");
  subscriptions->require_subcommand(1);
  auto period = std::make_shared<PeriodArgs>();
  auto* report = subscriptions->add_subcommand(
      "report", "subscriptions started, cancelled and renewed in a period; active and paused now");
  report->add_option("--from", period->from, "RFC 3339 time: from")->required();
  report->add_option("--to", period->to, "RFC 3339 time: before")->required();
  report->callback([&o, &run, period] {
    run = [&o, period](Client& c) {
      v1::SubscriptionReportRequest req;
      req.set_store_id(o.store);
      ParseTime(period->from, "--from", req.mutable_from());
      ParseTime(period->to, "--to", req.mutable_to());
      v1::SubscriptionReportResponse resp;
      Check(c.stub().SubscriptionReport(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::cout << "started " << resp.started() << "; cancelled " << resp.cancelled()
                << "; renewals " << resp.renewals() << " (" << resp.renewal_bonus_points()
                << " bonus points); active now " << resp.active() << ", paused "
                << resp.paused() << "\n";
    };
  });
}

}  // namespace loyalty::ctl
