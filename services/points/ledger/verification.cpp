#include "ledger/verification.hpp"

#include <chrono>
#include <map>
#include <thread>

#include "loyalty/common/money.hpp"

namespace loyalty::points {

using common::CallContext;
using common::Validator;

namespace {
void RequireStore(Validator& v, const std::string& store_id) { v.RequireId(store_id, "store_id"); }
}  // namespace

void Verification::VerifyLedger(const CallContext& call, const v1::VerifyLedgerRequest* request,
                                v1::VerifyLedgerResponse* response) {
  Validator v;
  RequireStore(v, request->store_id());
  v.ThrowIfInvalid();
  // One snapshot for every query, so concurrent writes cannot look like mismatches.
  db_.Write(
      call.deadline,
      [&](pqxx::transaction_base& tx) {
        int64_t transfers = 0, customers = 0, zero_sum = 0;
        for (auto& m : store_.Verify(tx, request->store_id(), &transfers, &customers, &zero_sum)) {
          response->add_mismatches(std::move(m));
        }
        response->set_transfers_checked(transfers);
        response->set_customers_checked(customers);
        response->set_zero_sum(zero_sum);
      },
      common::Isolation::kRepeatableRead);
}

void Verification::LiabilityReport(const CallContext& call,
                                   const v1::LiabilityReportRequest* request,
                                   v1::LiabilityReportResponse* response) {
  Validator v;
  RequireStore(v, request->store_id());
  v.ThrowIfInvalid();
  db_.Write(
      call.deadline,
      [&](pqxx::transaction_base& tx) {
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
        response->set_breakage_bps(
            response->issued() > 0 ? response->expired() * 10000 / response->issued() : 0);
      },
      common::Isolation::kRepeatableRead);
}

void Verification::ListEvents(const CallContext& call, const v1::ListEventsRequest* request,
                              v1::ListEventsResponse* response) {
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
  v.Check(!request->from_end() || request->after().empty(), "from_end", "goes without after");
  v.ThrowIfInvalid();
  if (request->from_end()) {
    response->set_next_cursor(db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return store_.EndOfEvents(tx, request->store_id());
    }));
    return;
  }
  const int limit = request->limit() == 0 ? 100 : request->limit();
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(request->wait_ms());
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
}

}  // namespace loyalty::points
