// loyaltyctl's operator commands (a key with the operator role, or the operator token with
// --store): dead letters, the ledger check and the points jobs.
//
//   dead-letters list [--service orders] [--subscriber S] [--all]
//   dead-letters retry EVENT_ID --subscriber S [--reason R] [--request-id ID]
//   dead-letters discard EVENT_ID --subscriber S --reason R [--request-id ID]
//   verify-ledger
//   run-job release|expiry|hold_expiry|tier_review [--as-of RFC3339]
#include <CLI/CLI.hpp>

#include <iostream>
#include <map>

#include "ctl.hpp"

namespace loyalty::ctl {

namespace {

// What the dead-letter commands read from the command line; lives as long as the callbacks.
struct DeadLetterArgs {
  std::string service = "orders";
  std::string subscriber;
  bool all = false;
  std::string event_id;
  std::string reason;
  std::string request_id;
};

void PrintLetters(const google::protobuf::RepeatedPtrField<ops::v1::DeadLetter>& letters,
                  bool with_resolution) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& l : letters) {
    std::vector<std::string> row = {l.event_id(), l.subscriber(), l.event_type(),
                                    l.aggregate_id() + "#" + std::to_string(l.sequence()),
                                    Time(l.dead_at()), std::to_string(l.attempts()), l.error()};
    if (with_resolution) {
      row.push_back(l.resolution() == ops::v1::RESOLUTION_UNSPECIFIED
                        ? ""
                        : ops::v1::Resolution_Name(l.resolution()) + " by " + l.resolved_by() +
                              ": " + l.reason());
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::string> header = {"EVENT ID", "SUBSCRIBER", "TYPE", "AGGREGATE#SEQ", "DEAD AT",
                                     "ATTEMPTS", "ERROR"};
  if (with_resolution) header.push_back("RESOLUTION");
  PrintTable(header, rows);
}

void AddDeadLetterCommands(CLI::App& app, const Options& o, std::function<void(Client&)>& run) {
  auto args = std::make_shared<DeadLetterArgs>();
  auto* letters = app.add_subcommand("dead-letters", "events a subscriber refused (operator)");
  letters->require_subcommand(1);
  auto service = [&](CLI::App* cmd) {
    cmd->add_option("--service", args->service, "the publishing service (default: orders)");
  };

  auto* list = letters->add_subcommand("list", "the store's undecided dead letters, oldest first");
  service(list);
  list->add_option("--subscriber", args->subscriber, "only this subscriber's");
  list->add_flag("--all", args->all, "also the retried and discarded ones");
  list->callback([&o, &run, args] {
    run = [&o, args](Client& c) {
      v1::ListDeadLettersResponse all;
      v1::ListDeadLettersRequest req;
      req.set_store_id(o.store);
      req.set_service(args->service);
      req.set_subscriber(args->subscriber);
      req.set_include_resolved(args->all);
      req.set_page_size(500);
      do {
        v1::ListDeadLettersResponse page;
        Check(c.stub().ListDeadLetters(c.Ctx().get(), req, &page));
        for (const auto& l : page.dead_letters()) *all.add_dead_letters() = l;
        req.set_page_token(page.next_page_token());
      } while (!req.page_token().empty());
      if (o.json) return void(std::cout << ToJson(all) << "\n");
      PrintLetters(all.dead_letters(), args->all);
    };
  });

  // retry and discard take the same arguments and print the letter they decided about.
  auto decide = [&](const char* name, const char* help, bool reason_required, auto call) {
    auto* cmd = letters->add_subcommand(name, help);
    service(cmd);
    cmd->add_option("event_id", args->event_id, "the event (from dead-letters list)")->required();
    cmd->add_option("--subscriber", args->subscriber, "the subscriber that refused it")
        ->required();
    auto* reason = cmd->add_option("--reason", args->reason, "why (kept with the letter)");
    if (reason_required) reason->required();
    cmd->add_option("--request-id", args->request_id, "idempotency key (default: random)");
    cmd->callback([&o, &run, args, call] {
      run = [&o, args, call](Client& c) {
        const ops::v1::DeadLetter letter = call(c, o, *args);
        if (o.json) return void(std::cout << ToJson(letter) << "\n");
        std::cout << ops::v1::Resolution_Name(letter.resolution()) << " " << letter.event_id()
                  << " for " << letter.subscriber() << "\n";
      };
    });
  };
  auto fill = [](auto& req, const Options& opts, const DeadLetterArgs& a) {
    req.set_store_id(opts.store);
    req.set_request_id(a.request_id.empty() ? NewRequestId() : a.request_id);
    req.set_service(a.service);
    req.set_event_id(a.event_id);
    req.set_subscriber(a.subscriber);
    req.set_reason(a.reason);
  };
  decide("retry", "deliver it again (after fixing the cause)", false,
         [fill](Client& c, const Options& opts, const DeadLetterArgs& a) {
           v1::RetryDeadLetterRequest req;
           fill(req, opts, a);
           v1::RetryDeadLetterResponse resp;
           Check(c.stub().RetryDeadLetter(c.Ctx().get(), req, &resp));
           return resp.dead_letter();
         });
  decide("discard", "give up on it, saying why", true,
         [fill](Client& c, const Options& opts, const DeadLetterArgs& a) {
           v1::DiscardDeadLetterRequest req;
           fill(req, opts, a);
           v1::DiscardDeadLetterResponse resp;
           Check(c.stub().DiscardDeadLetter(c.Ctx().get(), req, &resp));
           return resp.dead_letter();
         });
}

}  // namespace

void AddOperatorCommands(CLI::App& app, const Options& o, std::function<void(Client&)>& run) {
  AddDeadLetterCommands(app, o, run);

  app.add_subcommand("verify-ledger", "re-derive the store's points balances (operator)")
      ->callback([&o, &run] {
        run = [&o](Client& c) {
          v1::VerifyLedgerRequest req;
          req.set_store_id(o.store);
          v1::VerifyLedgerResponse resp;
          Check(c.stub().VerifyLedger(c.Ctx().get(), req, &resp));
          const auto& r = resp.result();
          if (o.json) return void(std::cout << ToJson(r) << "\n");
          std::cout << "transfers checked " << r.transfers_checked() << ", customers checked "
                    << r.customers_checked() << ", zero sum " << r.zero_sum() << ", mismatches "
                    << r.mismatches_size() << "\n";
          for (const auto& m : r.mismatches()) std::cout << "  " << m << "\n";
        };
      });

  struct JobArgs {
    std::string name;
    std::string as_of;
  };
  auto job = std::make_shared<JobArgs>();
  auto* run_job = app.add_subcommand("run-job", "run a points job for the store now (operator)");
  run_job
      ->add_option("name", job->name,
                   "release|expiry|hold_expiry|birthdays|first_orders|tier_review")
      ->required()
      ->check(CLI::IsMember(
          {"release", "expiry", "hold_expiry", "birthdays", "first_orders", "tier_review"}));
  run_job->add_option("--as-of", job->as_of, "RFC 3339 time to run it as of (default: now)");
  run_job->callback([&o, &run, job] {
    run = [&o, job](Client& c) {
      v1::RunJobRequest req;
      req.set_store_id(o.store);
      static const std::map<std::string, v1::Job> kJobs{{"release", v1::JOB_RELEASE},
                                                        {"expiry", v1::JOB_EXPIRY},
                                                        {"hold_expiry", v1::JOB_HOLD_EXPIRY},
                                                        {"birthdays", v1::JOB_BIRTHDAYS},
                                                        {"first_orders", v1::JOB_FIRST_ORDERS},
                                                        {"tier_review", v1::JOB_TIER_REVIEW}};
      req.set_job(kJobs.at(job->name));
      SetAsOf(job->as_of, req);
      v1::RunJobResponse resp;
      Check(c.stub().RunJob(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::cout << job->name << ": processed " << resp.processed() << "\n";
    };
  });
}

}  // namespace loyalty::ctl
