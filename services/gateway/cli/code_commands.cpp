// loyaltyctl's discount code commands (docs/codes.md):
//   codes create FILE --reason TEXT (--code CODE | --count N) [--batch ID]
//                                     (a JSON or YAML CodeDefinition; the batch id is the
//                                      request id: repeat it to retry safely)
//   codes list BATCH                  (every code of the batch, all pages; --json: JSON lines)
//   codes show CODE
#include <CLI/CLI.hpp>

#include <iostream>

#include "ctl.hpp"

namespace loyalty::ctl {

namespace {

struct CreateArgs {
  std::string file, reason, code, batch;
  int count = 0;
};

std::vector<std::string> Row(const v1::DiscountCode& c) {
  const auto& d = c.definition();
  return {c.code(), std::to_string(c.uses()),
          d.max_uses() == 0 ? "-" : std::to_string(d.max_uses()), c.batch_id()};
}

}  // namespace

void AddCodeCommands(CLI::App& app, const Options& o, std::function<void(Client&)>& run,
                     const StructuredFileReader& read) {
  auto* codes = app.add_subcommand("codes", "discount codes");
  codes->require_subcommand(1);

  auto args = std::make_shared<CreateArgs>();
  auto* create = codes->add_subcommand("create", "create one chosen code or a generated batch");
  create->add_option("file", args->file, "JSON or YAML CodeDefinition")->required();
  create->add_option("--reason", args->reason, "why (recorded with the batch)")->required();
  auto* code = create->add_option("--code", args->code, "one code of your choice");
  auto* count = create->add_option("--count", args->count, "this many generated codes");
  code->excludes(count);
  create->add_option("--batch", args->batch, "the batch id (default: a new one)");
  create->callback([&o, &run, &read, args] {
    run = [&o, &read, args](Client& c) {
      v1::CreateDiscountCodesRequest req;
      req.set_store_id(o.store);
      req.set_request_id(args->batch.empty() ? NewRequestId() : args->batch);
      read(args->file, req.mutable_definition());
      req.set_code(args->code);
      req.set_count(args->count);
      req.set_reason(args->reason);
      v1::CreateDiscountCodesResponse resp;
      Check(c.stub().CreateDiscountCodes(c.Ctx().get(), req, &resp));
      if (o.json) return void(std::cout << ToJson(resp) << "\n");
      std::cout << "batch " << resp.batch_id() << ": " << resp.count() << " code(s)\n";
    };
  });

  auto batch = std::make_shared<std::string>();
  auto* list = codes->add_subcommand("list", "every code of a batch, with its uses");
  list->add_option("batch", *batch, "batch id")->required();
  list->callback([&o, &run, batch] {
    run = [&o, batch](Client& c) {
      v1::ListDiscountCodesRequest req;
      req.set_store_id(o.store);
      req.set_batch_id(*batch);
      req.set_page_size(10'000);
      std::vector<std::vector<std::string>> rows;
      do {
        v1::ListDiscountCodesResponse resp;
        Check(c.stub().ListDiscountCodes(c.Ctx().get(), req, &resp));
        for (const auto& listed : resp.codes()) {
          if (o.json) {
            std::cout << ToJson(listed, true) << "\n";  // JSON lines: a batch may hold 100,000
          } else {
            rows.push_back(Row(listed));
          }
        }
        req.set_page_token(resp.next_page_token());
      } while (!req.page_token().empty());
      if (!o.json) PrintTable({"CODE", "USES", "MAX USES", "BATCH"}, rows);
    };
  });

  auto one = std::make_shared<std::string>();
  auto* show = codes->add_subcommand("show", "one code, with its definition and uses");
  show->add_option("code", *one, "the code")->required();
  show->callback([&o, &run, one] {
    run = [&o, one](Client& c) {
      v1::ListDiscountCodesRequest req;
      req.set_store_id(o.store);
      req.set_code(*one);
      v1::ListDiscountCodesResponse resp;
      Check(c.stub().ListDiscountCodes(c.Ctx().get(), req, &resp));
      std::cout << ToJson(resp.codes(0)) << "\n";
    };
  });
}

}  // namespace loyalty::ctl
