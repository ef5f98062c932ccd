// loyaltyctl: the admin command line over loyalty.gateway.v1.AdminService.
//
//   loyaltyctl [--address HOST:PORT] [--token KEY] [--store ID] [--json] COMMAND ...
//
// The token is an admin key (or the operator token: for create-store, and with --store for the
// rest), also read from LOYALTY_TOKEN; the address from LOYALTY_GATEWAY_ADDR (default
// 127.0.0.1:50051). Output is a table for people, or the response as JSON with --json (for
// scripts). The operator commands are in operator_commands.cpp.
#include <CLI/CLI.hpp>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "ctl.hpp"
#include "structured_text.hpp"

using namespace loyalty::ctl;

namespace {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A JSON or YAML file (by its extension) into `message`.
void FromStructuredFile(const std::string& path, google::protobuf::Message* message) {
  const bool yaml = path.size() > 5 && (path.ends_with(".yaml") || path.ends_with(".yml"));
  loyalty::ctl::FromStructuredText(ReadFile(path), yaml, message, path);
}

// The data rows of a CSV file with `columns` columns (after a header row); no quoting.
std::vector<std::vector<std::string>> ReadCsv(const std::string& path, size_t columns) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::string row;
  std::getline(in, row);  // header
  std::vector<std::vector<std::string>> rows;
  int number = 1;
  while (std::getline(in, row)) {
    ++number;
    if (!row.empty() && row.back() == '\r') row.pop_back();
    if (row.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(row);
    std::string cell;
    while (std::getline(ss, cell, ',')) f.push_back(cell);
    if (f.size() != columns) {
      throw std::runtime_error(path + ":" + std::to_string(number) + ": " +
                               std::to_string(columns) + " columns expected");
    }
    rows.push_back(std::move(f));
  }
  return rows;
}

// Products from CSV: sku,name,category,price_minor,in_stock,gift_wrappable (true/false).
std::vector<loyalty::recommendations::v1::Product> ReadProductsCsv(const std::string& path) {
  std::vector<loyalty::recommendations::v1::Product> products;
  for (const auto& f : ReadCsv(path, 6)) {
    loyalty::recommendations::v1::Product p;
    p.set_sku(f[0]);
    p.set_name(f[1]);
    p.set_category(f[2]);
    p.set_price_minor(std::stoll(f[3]));
    p.set_in_stock(f[4] == "true");
    p.set_gift_wrappable(f[5] == "true");
    products.push_back(std::move(p));
  }
  return products;
}

// Orders from CSV: a header row, then one line per order line with the columns
// order_id,customer_id,placed_at(RFC 3339),line_id,sku,category,unit_price_minor,quantity
// (lines of one order together).
std::vector<loyalty::orders::v1::ImportedOrder> ReadOrdersCsv(const std::string& path,
                                                              bool earn_points) {
  std::vector<loyalty::orders::v1::ImportedOrder> orders;
  std::map<std::string, size_t> index;
  for (const auto& f : ReadCsv(path, 8)) {
    auto [it, inserted] = index.try_emplace(f[0], orders.size());
    if (inserted) {
      loyalty::orders::v1::ImportedOrder o;
      o.mutable_order()->set_order_id(f[0]);
      o.mutable_order()->set_customer_id(f[1]);
      if (!google::protobuf::util::TimeUtil::FromString(f[2], o.mutable_placed_at())) {
        throw std::runtime_error(path + ": order " + f[0] + ": bad placed_at");
      }
      o.set_fulfilled(true);
      o.set_earn_points(earn_points);
      orders.push_back(o);
    }
    auto* line = orders[it->second].mutable_order()->add_lines();
    line->set_line_id(f[3]);
    line->set_sku(f[4]);
    line->set_category(f[5]);
    line->set_unit_price_minor(std::stoll(f[6]));
    line->set_quantity(std::stoi(f[7]));
  }
  return orders;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"loyaltyctl: administer a store through the loyalty gateway"};
  app.require_subcommand(1);
  app.add_option("--address", o.address, "gateway address")
      ->default_str(EnvOr("LOYALTY_GATEWAY_ADDR", "127.0.0.1:50051"));
  app.add_option("--token", o.token, "admin key or operator token (or LOYALTY_TOKEN)");
  app.add_option("--store", o.store, "store id (for keys granted several stores)");
  app.add_flag("--json", o.json, "print responses as JSON");
  o.address = EnvOr("LOYALTY_GATEWAY_ADDR", "127.0.0.1:50051");
  o.token = EnvOr("LOYALTY_TOKEN", "");

  std::function<void(Client&)> run;

  // create-store
  auto* create = app.add_subcommand("create-store", "create a store (operator token)");
  std::string name, currency, tz, request_id;
  create->add_option("--name", name)->required();
  create->add_option("--currency", currency)->required();
  create->add_option("--time-zone", tz)->required();
  create->add_option("--request-id", request_id, "idempotency key (default: random)");
  create->callback([&] {
    run = [&](Client& c) {
      v1::CreateStoreRequest req;
      req.set_request_id(request_id.empty() ? NewRequestId() : request_id);
      req.set_name(name);
      req.set_currency_code(currency);
      req.set_time_zone(tz);
      v1::CreateStoreResponse resp;
      Check(c.stub().CreateStore(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::cout << "store     " << resp.store().store_id() << "\nowner key " << resp.owner_key_secret()
                << "\n(shown once: keep it safe)\n";
    };
  });

  // settings
  auto* settings = app.add_subcommand("settings", "program settings");
  settings->require_subcommand(1);
  settings->add_subcommand("get", "settings in force")->callback([&] {
    run = [&](Client& c) {
      v1::GetSettingsRequest req;
      req.set_store_id(o.store);
      v1::GetSettingsResponse resp;
      Check(c.stub().GetSettings(c.Ctx().get(), req, &resp));
      std::cout << ToJson(resp.settings()) << "\n";
    };
  });
  std::string settings_file, settings_reason;
  auto* settings_set = settings->add_subcommand("set", "write a settings version from a file");
  settings_set->add_option("file", settings_file, "JSON or YAML Settings")->required();
  settings_set->add_option("--reason", settings_reason, "why (kept with the version)");
  settings_set->callback([&] {
    run = [&](Client& c) {
      v1::UpdateSettingsRequest req;
      req.set_store_id(o.store);
      req.set_request_id(NewRequestId());
      FromStructuredFile(settings_file, req.mutable_settings());
      req.set_reason(settings_reason);
      v1::UpdateSettingsResponse resp;
      Check(c.stub().UpdateSettings(c.Ctx().get(), req, &resp));
      std::cout << ToJson(resp.settings()) << "\n";
    };
  });

  // rules
  auto* rules = app.add_subcommand("rules", "earn rules");
  rules->require_subcommand(1);
  std::string rules_file, effective_from, rules_reason;
  auto* publish = rules->add_subcommand("publish", "publish a rule version from a file");
  publish->add_option("file", rules_file, "JSON or YAML EarnRules")->required();
  publish->add_option("--reason", rules_reason, "why (kept with the version)");
  publish->add_option("--effective-from", effective_from, "RFC 3339 time (default: now)");
  publish->callback([&] {
    run = [&](Client& c) {
      v1::PublishEarnRulesRequest req;
      req.set_store_id(o.store);
      req.set_request_id(NewRequestId());
      FromStructuredFile(rules_file, req.mutable_rules());
      req.set_reason(rules_reason);
      if (!effective_from.empty()) {
        ParseTime(effective_from, "--effective-from", req.mutable_effective_from());
      }
      v1::PublishEarnRulesResponse resp;
      Check(c.stub().PublishEarnRules(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::cout << "published version " << resp.version().version() << ", effective from "
                << Time(resp.version().effective_from()) << "\n";
    };
  });
  rules->add_subcommand("list", "rule versions, newest first")->callback([&] {
    run = [&](Client& c) {
      v1::ListRuleVersionsRequest req;
      req.set_store_id(o.store);
      v1::ListRuleVersionsResponse resp;
      Check(c.stub().ListRuleVersions(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::vector<std::vector<std::string>> rows;
      for (const auto& v : resp.versions()) {
        rows.push_back({std::to_string(v.version()), Time(v.effective_from()),
                        std::to_string(v.rules().base_rate()), Time(v.published_at())});
      }
      PrintTable({"VERSION", "EFFECTIVE FROM", "BASE RATE", "PUBLISHED"}, rows);
    };
  });

  std::string dry_from, dry_to;
  int dry_top = 0;
  auto* dry_run = rules->add_subcommand(
      "dry-run", "what a draft would have issued over past orders, beside what was issued");
  dry_run->add_option("file", rules_file, "JSON or YAML EarnRules: the draft")->required();
  dry_run->add_option("--from", dry_from, "RFC 3339 time: orders placed from")->required();
  dry_run->add_option("--to", dry_to, "RFC 3339 time: orders placed before")->required();
  dry_run->add_option("--top", dry_top, "most affected customers to list (default 10)");
  dry_run->callback([&] {
    run = [&](Client& c) {
      v1::DryRunEarnRulesRequest req;
      req.set_store_id(o.store);
      FromStructuredFile(rules_file, req.mutable_draft());
      ParseTime(dry_from, "--from", req.mutable_from());
      ParseTime(dry_to, "--to", req.mutable_to());
      req.set_top_customers(dry_top);
      v1::DryRunEarnRulesResponse resp;
      Check(c.stub().DryRunEarnRules(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      const auto& r = resp.report();
      std::cout << r.orders() << " orders, " << r.customers() << " customers ("
                << r.customers_affected() << " affected)\n";
      PrintTable({"", "POINTS", "COST (" + r.currency_code() + " minor)"},
                 {{"in force", std::to_string(r.points_in_force()),
                   std::to_string(r.cost_in_force_minor())},
                  {"draft", std::to_string(r.points_draft()), std::to_string(r.cost_draft_minor())}});
      std::vector<std::vector<std::string>> rows;
      for (const auto& customer : r.most_affected()) {
        rows.push_back({customer.customer_id(), std::to_string(customer.orders()),
                        std::to_string(customer.points_in_force()),
                        std::to_string(customer.points_draft())});
      }
      if (!rows.empty()) PrintTable({"CUSTOMER", "ORDERS", "IN FORCE", "DRAFT"}, rows);
    };
  });

  // report
  auto* report = app.add_subcommand("report", "retention and revenue reports");
  std::string report_name, query_json;
  report->add_option("name", report_name,
                     "retention|repeat-revenue|concentration|top-customers|lapsed|value|"
                     "segments|rfm|liability")
      ->required();
  report->add_option("--query", query_json, "the query as JSON (orders analytics request)");
  report->callback([&] {
    run = [&](Client& c) {
      const std::string q = query_json.empty() ? "{}" : query_json;
      auto go = [&](auto req, auto resp, auto method) {
        req.set_store_id(o.store);
        loyalty::ctl::FromJson(q, req.mutable_query(), "--query");
        Check((c.stub().*method)(c.Ctx().get(), req, &resp));
        std::cout << ToJson(resp.report()) << "\n";
      };
      using S = v1::AdminService::Stub;
      if (report_name == "retention") go(v1::RetentionReportRequest(), v1::RetentionReportResponse(), &S::RetentionReport);
      else if (report_name == "repeat-revenue") go(v1::RepeatCustomerRevenueRequest(), v1::RepeatCustomerRevenueResponse(), &S::RepeatCustomerRevenue);
      else if (report_name == "concentration") go(v1::RevenueConcentrationRequest(), v1::RevenueConcentrationResponse(), &S::RevenueConcentration);
      else if (report_name == "top-customers") go(v1::TopCustomersRequest(), v1::TopCustomersResponse(), &S::TopCustomers);
      else if (report_name == "lapsed") go(v1::LapsedCustomersRequest(), v1::LapsedCustomersResponse(), &S::LapsedCustomers);
      else if (report_name == "value") go(v1::CustomerValueRequest(), v1::CustomerValueResponse(), &S::CustomerValue);
      else if (report_name == "segments") go(v1::SegmentCustomersRequest(), v1::SegmentCustomersResponse(), &S::SegmentCustomers);
      else if (report_name == "rfm") go(v1::RfmReportRequest(), v1::RfmReportResponse(), &S::RfmReport);
      else if (report_name == "liability") {
        v1::LiabilityReportRequest req;
        req.set_store_id(o.store);
        v1::LiabilityReportResponse resp;
        Check(c.stub().LiabilityReport(c.Ctx().get(), req, &resp));
        std::cout << ToJson(resp.report()) << "\n";
      } else {
        throw std::runtime_error("unknown report " + report_name);
      }
    };
  });

  // points adjust
  auto* points = app.add_subcommand("points", "customers' points");
  points->require_subcommand(1);
  std::string customer, reason;
  long long amount = 0;
  auto* adjust = points->add_subcommand("adjust", "add (or remove, negative) points");
  adjust->add_option("--customer", customer)->required();
  adjust->add_option("--points", amount)->required();
  adjust->add_option("--reason", reason)->required();
  adjust->callback([&] {
    run = [&](Client& c) {
      v1::AdjustPointsRequest req;
      req.set_store_id(o.store);
      req.set_request_id(NewRequestId());
      req.set_customer_id(customer);
      req.set_points(amount);
      req.set_reason(reason);
      v1::AdjustPointsResponse resp;
      Check(c.stub().AdjustPoints(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      PrintTable({"CUSTOMER", "AVAILABLE", "PENDING", "HELD", "DEBT"},
                 {{resp.balance().customer_id(), std::to_string(resp.balance().available()),
                   std::to_string(resp.balance().pending()), std::to_string(resp.balance().held()),
                   std::to_string(resp.balance().debt())}});
    };
  });

  // orders import
  auto* orders = app.add_subcommand("orders", "order history");
  orders->require_subcommand(1);
  std::string csv;
  bool earn = false;
  auto* import = orders->add_subcommand("import", "import past orders from CSV");
  import->add_option("file", csv, "order_id,customer_id,placed_at,line_id,sku,category,"
                                  "unit_price_minor,quantity")
      ->required();
  import->add_flag("--earn-points", earn, "let the imported orders earn points");
  import->callback([&] {
    run = [&](Client& c) {
      const auto all = ReadOrdersCsv(csv, earn);
      v1::ImportOrdersResponse total;
      for (size_t i = 0; i < all.size(); i += 1000) {
        v1::ImportOrdersRequest req;
        req.set_store_id(o.store);
        req.set_request_id(NewRequestId());
        for (size_t j = i; j < all.size() && j < i + 1000; ++j) *req.add_orders() = all[j];
        v1::ImportOrdersResponse resp;
        Check(c.stub().ImportOrders(c.Ctx().get(), req, &resp));
        auto* t = total.mutable_result();
        t->set_imported(t->imported() + resp.result().imported());
        t->set_unchanged(t->unchanged() + resp.result().unchanged());
        for (const auto& id : resp.result().conflicting_order_ids()) t->add_conflicting_order_ids(id);
      }
      if (o.json) return void(std::cout << ToJson(total) << "\n");
      std::cout << "imported " << total.result().imported() << ", unchanged "
                << total.result().unchanged() << ", conflicting "
                << total.result().conflicting_order_ids_size() << "\n";
    };
  });

  // products import
  auto* products = app.add_subcommand("products", "the catalogue");
  products->require_subcommand(1);
  std::string products_csv;
  auto* pimport = products->add_subcommand("import", "upsert products from CSV");
  pimport->add_option("file", products_csv,
                      "sku,name,category,price_minor,in_stock,gift_wrappable")
      ->required();
  pimport->callback([&] {
    run = [&](Client& c) {
      const auto all = ReadProductsCsv(products_csv);
      for (size_t i = 0; i < all.size(); i += 1000) {
        v1::UpsertProductsRequest req;
        req.set_store_id(o.store);
        req.set_request_id(NewRequestId());
        for (size_t j = i; j < all.size() && j < i + 1000; ++j) *req.add_products() = all[j];
        v1::UpsertProductsResponse resp;
        Check(c.stub().UpsertProducts(c.Ctx().get(), req, &resp));
      }
      std::cout << "upserted " << all.size() << " products\n";
    };
  });

  // keys
  auto* keys = app.add_subcommand("keys", "API keys");
  keys->require_subcommand(1);
  std::string kind, role, display, key_id;
  int rate = 0;
  auto* kcreate = keys->add_subcommand("create", "create a key (shown once)");
  kcreate->add_option("--kind", kind, "storefront|admin")->required();
  kcreate->add_option("--role", role, "viewer|editor|owner|operator (admin keys)");
  kcreate->add_option("--name", display, "display name");
  kcreate->add_option("--rate", rate, "calls per second (0: default)");
  kcreate->callback([&] {
    run = [&](Client& c) {
      v1::CreateApiKeyRequest req;
      req.set_store_id(o.store);
      req.set_request_id(NewRequestId());
      req.set_kind(kind == "storefront" ? v1::KEY_KIND_STOREFRONT
                   : kind == "admin"    ? v1::KEY_KIND_ADMIN
                                        : v1::KEY_KIND_UNSPECIFIED);
      req.set_role(role == "viewer"     ? v1::ROLE_VIEWER
                   : role == "editor"   ? v1::ROLE_EDITOR
                   : role == "owner"    ? v1::ROLE_OWNER
                   : role == "operator" ? v1::ROLE_OPERATOR
                                        : v1::ROLE_UNSPECIFIED);
      req.set_display_name(display);
      req.set_rate_limit_per_second(rate);
      v1::CreateApiKeyResponse resp;
      Check(c.stub().CreateApiKey(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::cout << "key id " << resp.key().key_id() << "\nkey    " << resp.secret()
                << "\n(shown once: keep it safe)\n";
    };
  });
  keys->add_subcommand("list", "the store's keys")->callback([&] {
    run = [&](Client& c) {
      v1::ListApiKeysRequest req;
      req.set_store_id(o.store);
      v1::ListApiKeysResponse resp;
      Check(c.stub().ListApiKeys(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::vector<std::vector<std::string>> rows;
      for (const auto& k : resp.keys()) {
        rows.push_back({k.key_id(), v1::KeyKind_Name(k.kind()), v1::Role_Name(k.role()),
                        k.display_name(), std::to_string(k.rate_limit_per_second()),
                        Time(k.create_time()), Time(k.revoke_time())});
      }
      PrintTable({"KEY ID", "KIND", "ROLE", "NAME", "RATE", "CREATED", "REVOKED"}, rows);
    };
  });
  auto* revoke = keys->add_subcommand("revoke", "revoke a key");
  revoke->add_option("key_id", key_id)->required();
  revoke->callback([&] {
    run = [&](Client& c) {
      v1::RevokeApiKeyRequest req;
      req.set_store_id(o.store);
      req.set_key_id(key_id);
      v1::RevokeApiKeyResponse resp;
      Check(c.stub().RevokeApiKey(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::cout << "revoked " << resp.key().key_id() << "\n";
    };
  });

  // audit
  auto* audit = app.add_subcommand("audit", "the admin audit log, newest first");
  int limit = 50;
  audit->add_option("--limit", limit, "entries");
  audit->callback([&] {
    run = [&](Client& c) {
      v1::ListAuditLogRequest req;
      req.set_store_id(o.store);
      req.set_page_size(limit);
      v1::ListAuditLogResponse resp;
      Check(c.stub().ListAuditLog(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::vector<std::vector<std::string>> rows;
      for (const auto& e : resp.entries()) {
        rows.push_back({std::to_string(e.audit_id()), Time(e.create_time()), e.actor_key_id(),
                        e.method()});
      }
      PrintTable({"ID", "WHEN", "WHO", "WHAT"}, rows);
    };
  });

  AddOperatorCommands(app, o, run);
  const StructuredFileReader read_file = FromStructuredFile;
  AddTierCommands(app, o, run, read_file);
  AddRewardCommands(app, o, run, read_file);
  AddCodeCommands(app, o, run, read_file);
  AddCampaignCommands(app, o, run, read_file);
  AddVersionCommands(app, o, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    Client client(o);
    if (run) run(client);
  } catch (const std::exception& e) {
    std::cerr << "loyaltyctl: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
