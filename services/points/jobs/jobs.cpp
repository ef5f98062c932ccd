// The time-driven jobs: releasing pending points when the return window ends, warning about and
// expiring lots, expiring holds.
//
// Each job asks only for what is due at its as-of time, through a partial index whose range
// ends there: a pass with nothing due costs one index probe per job, however many lots and holds
// exist. Lots are processed in batches, one transaction per batch of up to kBatch lots: it locks
// the batch's balances and then its lots in one fixed order, re-checks every lot under the lock
// and changes each exactly once, so a job racing the RPCs or another run of itself (the
// scheduler and a RunJob call) neither double-counts nor deadlocks. Holds stay one transaction
// each, and only expired ones are looked at: each needs the orders service's word first.
#include "jobs/jobs.hpp"

#include <google/protobuf/util/time_util.h>

#include <functional>
#include <limits>
#include <map>

#include "earn_rules.hpp"
#include "ledger/ledger.hpp"
#include "ledger/pg_ledger_store.hpp"
#include "loyalty/common/time.hpp"
#include "program/settings.hpp"

namespace loyalty::points {

using common::CallContext;
using google::protobuf::util::TimeUtil;

namespace {
// Lots per statement and per transaction. A batch holds its customers' balance rows until it
// commits (two or three statements per lot), so a call for one of them waits at most that long.
constexpr int kBatch = 500;
constexpr int64_t kMicrosPerDay = 86'400'000'000;

common::Deadline BatchDeadline() { return common::Clock::now() + std::chrono::seconds(60); }

using Key = std::pair<std::string, std::string>;  // (store, customer) or (store, lot)

// One attempt at a batch's transaction: what the steps share.
struct Batch {
  pqxx::transaction_base& tx;
  std::vector<EventRow> events;                  // logged in one statement at the end
  std::vector<LockedLot> warned;                 // lots whose expiry warning went out
  std::map<std::string, v1::Settings> settings;  // per store, read once per batch
};

// What a job does to one lot of the batch, with the lot and its customer's balance locked:
// false when the lot is no longer due (it changed since it was selected) and nothing was done.
using LotStep = std::function<bool(Batch&, CustomerLedger&, LockedLot&)>;
using DueQuery = std::function<std::vector<DueItem>(pqxx::transaction_base&)>;

bool Same(const BalanceRow& a, const BalanceRow& b) {
  return a.pending == b.pending && a.available == b.available && a.held == b.held &&
         a.debt == b.debt;
}

// One transaction for a batch of due lots: locks the balances, then the lots (the order of every
// ledger transaction), applies `step` to the lots in the order they fell due (the order the
// one-transaction-per-lot version had: it decides, e.g., which lot repays a debt first), then
// saves the balances that changed and logs the events. Returns how many lots `step` changed.
int64_t ApplyToBatch(common::Database& db, const PointsStore& store,
                     const std::vector<DueItem>& due, const LotStep& step) {
  return db.Write(BatchDeadline(), [&](pqxx::transaction_base& tx) {
    Batch batch{tx, {}, {}, {}};
    std::map<Key, BalanceRow> locked;
    std::map<std::string, PgLedgerStore> rows;  // per store
    const auto rows_of = [&](const std::string& store_id) -> PgLedgerStore& {
      return rows.try_emplace(store_id, tx, store, store_id).first->second;
    };
    std::map<Key, CustomerLedger> ledgers;
    for (const auto& b : store.LockBalances(tx, due)) {
      locked.emplace(Key{b.store_id, b.customer_id}, b.balance);
      ledgers.try_emplace(Key{b.store_id, b.customer_id}, rows_of(b.store_id), b.customer_id,
                          b.balance);
    }
    std::map<Key, LockedLot> lots;
    for (auto& l : store.LockLots(tx, due)) {
      Key key{l.store_id, l.lot.lot_id};
      lots.emplace(std::move(key), std::move(l));
    }
    int64_t done = 0;
    for (const auto& item : due) {
      const auto lot = lots.find({item.store_id, item.id});
      if (lot == lots.end()) continue;
      const Key customer{item.store_id, lot->second.lot.customer_id};
      auto ledger = ledgers.find(customer);
      if (ledger == ledgers.end()) {
        // A lot whose customer has no balance row: lots are only made through a ledger, which
        // creates it, so this does not happen; the plain constructor would create and lock it.
        ledger = ledgers.try_emplace(customer, rows_of(customer.first), customer.second).first;
      }
      if (step(batch, ledger->second, lot->second)) ++done;
    }
    for (auto& [customer, ledger] : ledgers) {
      const auto before = locked.find(customer);
      if (before == locked.end() || !Same(before->second, ledger.balance())) ledger.Save();
    }
    if (!batch.warned.empty()) store.MarkWarned(tx, batch.warned);
    store.AppendEvents(tx, batch.events);
    return done;
  });
}

// Runs a lot job to the end: up to kBatch due lots (one autocommitted statement, all that a pass
// with nothing due costs), then their transaction, again while batches come back full.
int64_t RunLotJob(common::Database& db, const PointsStore& store, const DueQuery& select,
                  const LotStep& step) {
  int64_t done = 0;
  for (;;) {
    const auto due = db.Read(BatchDeadline(), select);
    if (due.empty()) return done;
    const int64_t changed = ApplyToBatch(db, store, due, step);
    done += changed;
    // A short batch was the last. A full one that changed nothing held only lots changed since
    // they were selected; stop rather than spin (the next pass looks again).
    if (static_cast<int>(due.size()) < kBatch || changed == 0) return done;
  }
}

}  // namespace

int64_t Jobs::ReleaseDue(const std::string& store_id, int64_t as_of_us) {
  const LotStep release = [&](Batch& batch, CustomerLedger& ledger, LockedLot& locked) {
    auto& lot = locked.lot;
    if (lot.pending == 0 || !lot.available_at_us || *lot.available_at_us > as_of_us) {
      return false;  // released or changed meanwhile
    }
    auto settings = batch.settings.find(locked.store_id);
    if (settings == batch.settings.end()) {
      settings = batch.settings
                     .emplace(locked.store_id, RequireSettings(store_, batch.tx, locked.store_id))
                     .first;
    }
    const int64_t points = lot.pending;
    ledger.Release(lot, *lot.available_at_us, settings->second.expiry_months());
    batch.events.push_back({locked.store_id,
                            "points.available",
                            lot.customer_id,
                            lot.order_id,
                            points,
                            {{"lot_id", lot.lot_id}}});
    return true;
  };
  const DueQuery due = [&](pqxx::transaction_base& tx) {
    return store_.LotsToRelease(tx, store_id, as_of_us, kBatch);
  };
  return RunLotJob(db_, store_, due, release);
}

int64_t Jobs::ExpireDue(const std::string& store_id, int64_t as_of_us) {
  // Warnings first (a lot due for both is warned, then expired): every lot expiring within its
  // store's warning period, once. The period is a setting of each store, so each store is asked
  // with its own horizon; a store's settings are read once a pass, not once per lot.
  std::vector<std::pair<std::string, int64_t>> horizons;
  for (const auto& [id, settings] : db_.Read(BatchDeadline(), [&](pqxx::transaction_base& tx) {
         return store_.CurrentSettings(tx, store_id);
       })) {
    horizons.emplace_back(id, as_of_us + settings.expiry_warning_days() * kMicrosPerDay);
  }
  if (!horizons.empty()) {
    const std::map<std::string, int64_t> horizon(horizons.begin(), horizons.end());
    const LotStep warn = [&](Batch& batch, CustomerLedger&, LockedLot& locked) {
      const auto& lot = locked.lot;
      const auto until = horizon.find(locked.store_id);
      if (locked.warned || lot.available == 0 || !lot.expires_at_us || until == horizon.end() ||
          *lot.expires_at_us > until->second) {
        return false;  // warned, spent or changed meanwhile
      }
      batch.warned.push_back(locked);
      batch.events.push_back({locked.store_id,
                              "points.expiring",
                              lot.customer_id,
                              lot.order_id,
                              lot.available,
                              {{"lot_id", lot.lot_id},
                               {"expires_at", TimeUtil::ToString(TimeUtil::MicrosecondsToTimestamp(
                                                  *lot.expires_at_us))}}});
      return true;
    };
    RunLotJob(
        db_, store_,
        [&](pqxx::transaction_base& tx) { return store_.LotsToWarn(tx, horizons, kBatch); }, warn);
  }

  const LotStep expire = [&](Batch& batch, CustomerLedger& ledger, LockedLot& locked) {
    auto& lot = locked.lot;
    if (lot.available == 0 || !lot.expires_at_us || *lot.expires_at_us > as_of_us) return false;
    const int64_t points = lot.available;
    ledger.Expire(lot);
    batch.events.push_back({locked.store_id,
                            "points.expired",
                            lot.customer_id,
                            lot.order_id,
                            points,
                            {{"lot_id", lot.lot_id}}});
    return true;
  };
  const DueQuery due = [&](pqxx::transaction_base& tx) {
    return store_.LotsToExpire(tx, store_id, as_of_us, kBatch);
  };
  return RunLotJob(db_, store_, due, expire);
}

int64_t Jobs::ExpireHolds(const CallContext& call, const std::string& store_id, int64_t as_of_us) {
  int64_t done = 0;
  // Pages through the expired holds in the order they expired (which decides which lot repays a
  // debt first when points go back): a hold whose order exists stays active until the order's
  // event commits it, and must not hide the holds behind it.
  int64_t after_expiry = std::numeric_limits<int64_t>::min();
  std::string after_hold;
  for (;;) {
    const auto due = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return store_.HoldsToExpire(tx, store_id, as_of_us, after_expiry, after_hold, kBatch);
    });
    for (const auto& item : due) {
      // Only once the orders service says the order can never be placed; if it exists, its
      // event will commit the hold. ReleaseHold re-reads the hold under lock: ended meanwhile,
      // it does nothing.
      if (!holds_.AbandonOrder(call, item.store_id, item.hold.order_id)) continue;
      done += db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
        return holds_.ReleaseHold(tx, item.store_id, item.hold, "expired") ? 1 : 0;
      });
    }
    if (static_cast<int>(due.size()) < kBatch) return done;
    after_expiry = due.back().hold.expires_at_us;
    after_hold = due.back().hold.hold_id;
  }
}

namespace {
int64_t AsOf(const v1::RunJobRequest& request) {
  return request.has_as_of() ? TimeUtil::TimestampToMicroseconds(request.as_of())
                             : common::NowMicros();
}
}  // namespace

void Jobs::RunReleaseJob(const CallContext& /*call*/, const v1::RunJobRequest* request,
                         v1::RunJobResponse* response) {
  response->set_processed(ReleaseDue(request->store_id(), AsOf(*request)));
}

void Jobs::RunExpiryJob(const CallContext& /*call*/, const v1::RunJobRequest* request,
                        v1::RunJobResponse* response) {
  response->set_processed(ExpireDue(request->store_id(), AsOf(*request)));
}

void Jobs::RunHoldExpiryJob(const CallContext& call, const v1::RunJobRequest* request,
                            v1::RunJobResponse* response) {
  response->set_processed(ExpireHolds(call, request->store_id(), AsOf(*request)));
}

}  // namespace loyalty::points
