// loyaltyctl's tier commands:
//   tiers publish FILE --reason TEXT [--effective-from RFC3339]   (a JSON or YAML TierProgram)
//   tiers list
//   tiers dry-run FILE [--as-of RFC3339]                          (a draft TierProgram)
//   tiers set CUSTOMER TIER --until RFC3339 --reason TEXT         (a manual tier)
// The period-end job is `run-job tier_review [--as-of RFC3339]` (operator_commands.cpp).
#include <CLI/CLI.hpp>
#include <google/protobuf/util/time_util.h>

#include <iostream>

#include "ctl.hpp"

namespace loyalty::ctl {

namespace {

std::string Benefits(const points::v1::TierBenefits& b) {
  std::string out =
      "x" + std::to_string(b.earn_multiplier_bps() == 0 ? 10000 : b.earn_multiplier_bps());
  out += " bps";
  if (b.free_shipping()) out += ", free shipping";
  if (b.exclusive_rewards()) out += ", exclusive rewards";
  return out;
}

}  // namespace

void AddTierCommands(CLI::App& app, const Options& o, std::function<void(Client&)>& run,
                     const StructuredFileReader& read) {
  auto* tiers = app.add_subcommand("tiers", "loyalty tiers");
  tiers->require_subcommand(1);

  struct PublishArgs {
    std::string file, reason, effective_from;
  };
  auto pub = std::make_shared<PublishArgs>();
  auto* publish = tiers->add_subcommand("publish", "publish a tier program version from a file");
  publish->add_option("file", pub->file, "JSON or YAML TierProgram")->required();
  publish->add_option("--reason", pub->reason, "why (recorded with the version)")->required();
  publish->add_option("--effective-from", pub->effective_from, "RFC 3339 time (default: now)");
  publish->callback([&o, &run, &read, pub] {
    run = [&o, &read, pub](Client& c) {
      v1::PublishTiersRequest req;
      req.set_store_id(o.store);
      req.set_request_id(NewRequestId());
      read(pub->file, req.mutable_program());
      req.set_reason(pub->reason);
      if (!pub->effective_from.empty()) {
        ParseTime(pub->effective_from, "--effective-from", req.mutable_effective_from());
      }
      v1::PublishTiersResponse resp;
      Check(c.stub().PublishTiers(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::cout << "published tier version " << resp.version().version() << ", effective from "
                << Time(resp.version().effective_from()) << "\n";
    };
  });

  struct DryRunArgs {
    std::string file, as_of;
  };
  auto dry = std::make_shared<DryRunArgs>();
  auto* dry_run = tiers->add_subcommand(
      "dry-run", "each tier's customers under a draft program beside the published one");
  dry_run->add_option("file", dry->file, "JSON or YAML TierProgram: the draft")->required();
  dry_run->add_option("--as-of", dry->as_of, "compare as of, RFC 3339 (default: now)");
  dry_run->callback([&o, &run, &read, dry] {
    run = [&o, &read, dry](Client& c) {
      v1::DryRunTiersRequest req;
      req.set_store_id(o.store);
      read(dry->file, req.mutable_draft());
      SetAsOf(dry->as_of, req);
      v1::DryRunTiersResponse resp;
      Check(c.stub().DryRunTiers(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      const auto& r = resp.report();
      std::cout << r.customers() << " customers in a tier, " << r.customers_moved()
                << " would move (published version " << r.tier_version_now() << ")\n";
      std::vector<std::vector<std::string>> rows;
      for (const auto& t : r.tiers()) {
        rows.push_back({t.tier_id(), std::to_string(t.customers_now()),
                        std::to_string(t.customers_draft())});
      }
      PrintTable({"TIER", "NOW", "DRAFT"}, rows);
      rows.clear();
      for (const auto& m : r.moves()) {
        rows.push_back({m.from_tier_id().empty() ? "(none)" : m.from_tier_id(),
                        m.to_tier_id().empty() ? "(none)" : m.to_tier_id(),
                        std::to_string(m.customers())});
      }
      if (!rows.empty()) PrintTable({"FROM", "TO", "CUSTOMERS"}, rows);
    };
  });

  tiers->add_subcommand("list", "tier program versions, newest first")->callback([&o, &run] {
    run = [&o](Client& c) {
      v1::ListTierVersionsRequest req;
      req.set_store_id(o.store);
      v1::ListTierVersionsResponse resp;
      Check(c.stub().ListTierVersions(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::vector<std::vector<std::string>> rows;
      for (const auto& v : resp.versions()) {
        for (const auto& t : v.program().tiers()) {
          rows.push_back({std::to_string(v.version()), Time(v.effective_from()), t.tier_id(),
                          std::to_string(t.threshold()), Benefits(t.benefits()), v.author(),
                          v.reason()});
        }
      }
      PrintTable({"VERSION", "EFFECTIVE FROM", "TIER", "THRESHOLD", "BENEFITS", "AUTHOR", "REASON"},
                 rows);
    };
  });

  struct SetArgs {
    std::string customer, tier, until, reason;
  };
  auto set = std::make_shared<SetArgs>();
  auto* manual = tiers->add_subcommand("set", "put a customer in a tier by hand until a time");
  manual->add_option("customer", set->customer, "customer id")->required();
  manual->add_option("tier", set->tier, "tier id")->required();
  manual->add_option("--until", set->until, "RFC 3339 end time")->required();
  manual->add_option("--reason", set->reason, "why (recorded)")->required();
  manual->callback([&o, &run, set] {
    run = [&o, set](Client& c) {
      v1::SetManualTierRequest req;
      req.set_store_id(o.store);
      req.set_request_id(NewRequestId());
      req.set_customer_id(set->customer);
      req.set_tier_id(set->tier);
      ParseTime(set->until, "--until", req.mutable_until());
      req.set_reason(set->reason);
      v1::SetManualTierResponse resp;
      Check(c.stub().SetManualTier(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::cout << set->customer << ": " << resp.status().tier().name() << " until "
                << Time(resp.status().manual_until()) << "\n";
    };
  });
}

}  // namespace loyalty::ctl
