#include "points_service.hpp"

#include <google/protobuf/util/time_util.h>

#include <thread>

#include "earn_rules.hpp"
#include "loyalty/common/money.hpp"
#include "loyalty/common/page_token.hpp"
#include "loyalty/common/time.hpp"

namespace loyalty::points {

using common::ApiError;
using common::CallContext;
using common::Validator;
using google::protobuf::util::TimeUtil;

namespace {

using common::NowMicros;

void RequireStore(Validator& v, const std::string& store_id) { v.RequireId(store_id, "store_id"); }

// A customer's balance as the API shows it (debt as a positive number of points owed).
void FillBalance(const BalanceRow& balance, const v1::Settings* settings,
                 const std::string& customer_id, v1::Balance* out) {
  out->set_customer_id(customer_id);
  out->set_pending(balance.pending);
  out->set_available(balance.available);
  out->set_held(balance.held);
  out->set_debt(-balance.debt);
  out->set_available_value_minor(
      settings ? common::PointsValue(balance.available, settings->redeem_points(),
                                     settings->redeem_value_minor())
               : 0);
}

}  // namespace

PointsService::PointsService(common::ServiceHost& host, std::shared_ptr<grpc::Channel> orders)
    : host_(host),
      db_(host.db()),
      store_(host.db()),
      idempotency_(host.db(), "points"),
      orders_(orders::v1::OrdersService::NewStub(std::move(orders))) {}

v1::Settings PointsService::RequireSettings(pqxx::transaction_base& tx,
                                            const std::string& store_id) const {
  auto settings = store_.Settings(tx, store_id);
  if (!settings) {
    throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "PROGRAM_NOT_CONFIGURED",
                   "the store has no points settings yet; UpdateSettings first");
  }
  return *settings;
}

v1::Settings PointsService::SettingsOrDefault(pqxx::transaction_base& tx,
                                              const std::string& store_id,
                                              const std::string& fallback_currency) const {
  if (auto settings = store_.Settings(tx, store_id)) return *settings;
  return store_.InsertSettings(tx, store_id, DefaultSettings(fallback_currency, "UTC"));
}

grpc::ServerUnaryReactor* PointsService::UpdateSettings(grpc::CallbackServerContext* context,
                                                        const v1::UpdateSettingsRequest* request,
                                                        v1::UpdateSettingsResponse* response) {
  return host_.Serve(context, "UpdateSettings", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    RequireStore(v, request->store_id());
    v.RequireId(request->request_id(), "request_id");
    CheckSettings(v, request->settings(), "settings.");
    v.ThrowIfInvalid();
    db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      if (idempotency_.Begin(tx, request->store_id(), "UpdateSettings", request->request_id(),
                             *request, response)) {
        return;
      }
      *response->mutable_settings() = store_.InsertSettings(tx, request->store_id(), request->settings());
      idempotency_.Finish(tx, request->store_id(), "UpdateSettings", request->request_id(), *response);
    });
  });
}

grpc::ServerUnaryReactor* PointsService::GetSettings(grpc::CallbackServerContext* context,
                                                     const v1::GetSettingsRequest* request,
                                                     v1::GetSettingsResponse* response) {
  return host_.Serve(context, "GetSettings", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    RequireStore(v, request->store_id());
    v.ThrowIfInvalid();
    *response->mutable_settings() = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return RequireSettings(tx, request->store_id());
    });
  });
}

grpc::ServerUnaryReactor* PointsService::PublishEarnRules(grpc::CallbackServerContext* context,
                                                          const v1::PublishEarnRulesRequest* request,
                                                          v1::PublishEarnRulesResponse* response) {
  return host_.Serve(context, "PublishEarnRules", request->store_id(), [=, this](CallContext& call) {
    const int64_t now = NowMicros();
    const int64_t effective =
        request->has_effective_from() ? TimeUtil::TimestampToMicroseconds(request->effective_from())
                                      : now;
    Validator v;
    RequireStore(v, request->store_id());
    v.RequireId(request->request_id(), "request_id");
    // A second of slack for clocks; anything earlier would rewrite points already earned.
    v.Check(effective >= now - 1000000, "effective_from", "must not be in the past");
    CheckRules(v, request->rules(), "rules.");
    v.ThrowIfInvalid();
    db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      if (idempotency_.Begin(tx, request->store_id(), "PublishEarnRules", request->request_id(),
                             *request, response)) {
        return;
      }
      *response->mutable_version() =
          store_.InsertRules(tx, request->store_id(), effective, request->rules());
      idempotency_.Finish(tx, request->store_id(), "PublishEarnRules", request->request_id(),
                          *response);
    });
  });
}

grpc::ServerUnaryReactor* PointsService::ListRuleVersions(grpc::CallbackServerContext* context,
                                                          const v1::ListRuleVersionsRequest* request,
                                                          v1::ListRuleVersionsResponse* response) {
  return host_.Serve(context, "ListRuleVersions", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    RequireStore(v, request->store_id());
    v.ThrowIfInvalid();
    for (auto& version : db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
           return store_.AllRules(tx, request->store_id());
         })) {
      *response->add_versions() = std::move(version);
    }
  });
}

grpc::ServerUnaryReactor* PointsService::GetRuleVersion(grpc::CallbackServerContext* context,
                                                        const v1::GetRuleVersionRequest* request,
                                                        v1::GetRuleVersionResponse* response) {
  return host_.Serve(context, "GetRuleVersion", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    RequireStore(v, request->store_id());
    v.Check(request->version() > 0, "version", "must be positive");
    v.ThrowIfInvalid();
    auto version = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return store_.Rules(tx, request->store_id(), request->version());
    });
    if (!version) {
      throw ApiError(grpc::StatusCode::NOT_FOUND, "RULE_VERSION_NOT_FOUND",
                     "no rule version " + std::to_string(request->version()));
    }
    *response->mutable_version() = std::move(*version);
  });
}

grpc::ServerUnaryReactor* PointsService::PreviewEarn(grpc::CallbackServerContext* context,
                                                     const v1::PreviewEarnRequest* request,
                                                     v1::PreviewEarnResponse* response) {
  return host_.Serve(context, "PreviewEarn", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    RequireStore(v, request->store_id());
    v.Check(request->lines_size() <= 1000, "lines", "at most 1000");
    if (request->include_balance()) v.RequireId(request->customer_id(), "customer_id");
    int64_t order_net = 0;
    for (int i = 0; i < request->lines_size(); ++i) {
      const auto& line = request->lines(i);
      v.Check(line.net_minor() >= 0 && line.net_minor() <= 1'000'000'000'000'000,
              "lines[" + std::to_string(i) + "].net_minor", "must be 0 to 1e15");
      order_net += std::max<int64_t>(0, std::min<int64_t>(line.net_minor(), 1'000'000'000'000'000));
    }
    v.ThrowIfInvalid();
    const int64_t now = NowMicros();
    db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      const auto settings = RequireSettings(tx, request->store_id());
      const auto rules = store_.RulesAt(tx, request->store_id(), now);
      response->set_rule_version(rules ? rules->version() : 0);
      for (const auto& line : request->lines()) {
        const int64_t points =
            rules ? LinePoints(rules->rules(), settings, {line.sku(), line.category(), line.net_minor()},
                               order_net, now)
                  : 0;
        auto* out = response->add_lines();
        out->set_line_id(line.line_id());
        out->set_points(points);
        response->set_total_points(response->total_points() + points);
      }
      if (request->include_balance()) {
        const auto balance = store_.ReadBalance(tx, request->store_id(), request->customer_id())
                                 .value_or(BalanceRow{});
        FillBalance(balance, &settings, request->customer_id(), response->mutable_balance());
      }
      return 0;
    });
  });
}

grpc::ServerUnaryReactor* PointsService::GetBalance(grpc::CallbackServerContext* context,
                                                    const v1::GetBalanceRequest* request,
                                                    v1::GetBalanceResponse* response) {
  return host_.Serve(context, "GetBalance", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    RequireStore(v, request->store_id());
    v.RequireId(request->customer_id(), "customer_id");
    v.ThrowIfInvalid();
    db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      const auto settings = store_.Settings(tx, request->store_id());
      const auto balance =
          store_.ReadBalance(tx, request->store_id(), request->customer_id()).value_or(BalanceRow{});
      FillBalance(balance, settings ? &*settings : nullptr, request->customer_id(),
                  response->mutable_balance());
      for (const auto& lot : store_.SpendableLots(tx, request->store_id(), request->customer_id(),
                                                  false, 5)) {
        auto* out = response->add_expiring_soonest();
        out->set_lot_id(lot.lot_id);
        out->set_order_id(lot.order_id);
        out->set_line_id(lot.line_id);
        out->set_earned(lot.earned);
        out->set_pending(lot.pending);
        out->set_available(lot.available);
        out->set_rule_version(lot.rule_version);
        if (lot.available_at_us) {
          *out->mutable_available_at() = TimeUtil::MicrosecondsToTimestamp(*lot.available_at_us);
        }
        if (lot.expires_at_us) {
          *out->mutable_expires_at() = TimeUtil::MicrosecondsToTimestamp(*lot.expires_at_us);
        }
      }
      return 0;
    });
  });
}

grpc::ServerUnaryReactor* PointsService::ListLedger(grpc::CallbackServerContext* context,
                                                    const v1::ListLedgerRequest* request,
                                                    v1::ListLedgerResponse* response) {
  return host_.Serve(context, "ListLedger", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    RequireStore(v, request->store_id());
    v.RequireId(request->customer_id(), "customer_id");
    v.Check(request->page_size() >= 0 && request->page_size() <= 500, "page_size", "must be 0 to 500");
    int64_t before = std::numeric_limits<int64_t>::max();
    if (!request->page_token().empty()) {
      const auto token = common::page_token::ParseInt(request->page_token());
      if (v.Check(token.has_value(), "page_token", "is not a token this service issued")) {
        before = *token;
      }
    }
    v.ThrowIfInvalid();
    const int size = request->page_size() == 0 ? 100 : request->page_size();
    auto page = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return store_.Ledger(tx, request->store_id(), request->customer_id(), before, size + 1);
    });
    const bool more = static_cast<int>(page.size()) > size;
    if (more) page.pop_back();
    if (more) response->set_next_page_token(std::to_string(page.back().transfer_id()));
    for (auto& t : page) *response->add_transfers() = std::move(t);
  });
}

grpc::ServerUnaryReactor* PointsService::VerifyLedger(grpc::CallbackServerContext* context,
                                                      const v1::VerifyLedgerRequest* request,
                                                      v1::VerifyLedgerResponse* response) {
  return host_.Serve(context, "VerifyLedger", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    RequireStore(v, request->store_id());
    v.ThrowIfInvalid();
    // One snapshot for every query, so concurrent writes cannot look like mismatches.
    db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      int64_t transfers = 0, customers = 0, zero_sum = 0;
      for (auto& m : store_.Verify(tx, request->store_id(), &transfers, &customers, &zero_sum)) {
        response->add_mismatches(std::move(m));
      }
      response->set_transfers_checked(transfers);
      response->set_customers_checked(customers);
      response->set_zero_sum(zero_sum);
    }, common::Isolation::kRepeatableRead);
  });
}

grpc::ServerUnaryReactor* PointsService::LiabilityReport(grpc::CallbackServerContext* context,
                                                         const v1::LiabilityReportRequest* request,
                                                         v1::LiabilityReportResponse* response) {
  return host_.Serve(context, "LiabilityReport", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    RequireStore(v, request->store_id());
    v.ThrowIfInvalid();
    db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      std::map<std::string, int64_t> accounts;
      for (const auto& [name, balance] : store_.StoreAccounts(tx, request->store_id())) {
        accounts[name] = balance;
      }
      // Points leave `issued` and `written_off` (negative balances) and collect in the others.
      response->set_issued(store_.IssuedGross(tx, request->store_id()));
      response->set_redeemed(accounts["redeemed"]);
      response->set_expired(accounts["expired"]);
      response->set_clawed_back(accounts["clawed_back"]);
      response->set_written_off(-accounts["written_off"]);
      const int64_t outstanding = store_.Outstanding(tx, request->store_id());
      response->set_outstanding(outstanding);
      const auto settings = store_.Settings(tx, request->store_id());
      response->set_outstanding_value_minor(
          settings ? common::PointsValue(outstanding, settings->redeem_points(),
                                         settings->redeem_value_minor())
                   : 0);
      response->set_breakage_bps(response->issued() > 0
                                     ? response->expired() * 10000 / response->issued()
                                     : 0);
    }, common::Isolation::kRepeatableRead);
  });
}

grpc::ServerUnaryReactor* PointsService::ListEvents(grpc::CallbackServerContext* context,
                                                    const v1::ListEventsRequest* request,
                                                    v1::ListEventsResponse* response) {
  return host_.Serve(context, "ListEvents", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    RequireStore(v, request->store_id());
    v.Check(request->limit() >= 0 && request->limit() <= 1000, "limit", "must be 0 to 1000");
    v.Check(request->wait_ms() >= 0 && request->wait_ms() <= 30000, "wait_ms", "must be 0 to 30000");
    // Cursor: "<txid>:<event id>" of the last event seen.
    std::string txid = "0";
    int64_t event_id = 0;
    if (!request->after().empty()) {
      const auto colon = request->after().find(':');
      bool ok = colon != std::string::npos && colon > 0 &&
                request->after().find_first_not_of("0123456789:") == std::string::npos;
      if (ok) {
        txid = request->after().substr(0, colon);
        try {
          event_id = std::stoll(request->after().substr(colon + 1));
        } catch (const std::exception&) {
          ok = false;
        }
      }
      v.Check(ok, "after", "is not a cursor this service issued");
    }
    v.ThrowIfInvalid();
    const int limit = request->limit() == 0 ? 100 : request->limit();
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(request->wait_ms());
    for (;;) {
      auto events = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
        return store_.Events(tx, request->store_id(), txid, event_id, limit);
      });
      if (!events.empty() || std::chrono::steady_clock::now() >= until ||
          common::Clock::now() + std::chrono::milliseconds(200) >= call.deadline) {
        for (auto& e : events) *response->add_events() = std::move(e);
        response->set_next_cursor(response->events_size() > 0
                                      ? response->events(response->events_size() - 1).cursor()
                                      : request->after());
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
}

}  // namespace loyalty::points
