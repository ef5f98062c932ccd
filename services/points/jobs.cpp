// The time-driven jobs: releasing pending points when the return window ends, warning about and
// expiring lots, expiring holds. Each item is processed in its own transaction with the
// customer's balance locked, so a job racing the RPCs changes each thing exactly once.
#include <google/protobuf/util/time_util.h>

#include "earn_rules.hpp"
#include "loyalty/common/time.hpp"
#include "points_service.hpp"

namespace loyalty::points {

using common::CallContext;
using common::Validator;
using google::protobuf::util::TimeUtil;

namespace {
constexpr int kBatch = 500;
constexpr int64_t kMicrosPerDay = 86'400'000'000;
}  // namespace

int64_t PointsService::ReleaseDue(const std::string& store_id, int64_t as_of_us) {
  int64_t done = 0;
  for (;;) {
    const auto deadline = common::Clock::now() + std::chrono::seconds(30);
    const auto due = db_.Read(deadline, [&](pqxx::transaction_base& tx) {
      return store_.LotsToRelease(tx, store_id, as_of_us, kBatch);
    });
    for (const auto& item : due) {
      db_.Write(deadline, [&](pqxx::transaction_base& tx) {
        const auto settings = RequireSettings(tx, item.store_id);
        CustomerLedger ledger(tx, store_, item.store_id, item.customer_id);
        auto lot = store_.LockLot(tx, item.store_id, item.id);
        if (!lot || lot->pending == 0 || !lot->available_at_us || *lot->available_at_us > as_of_us) {
          return;  // released or changed meanwhile
        }
        const int64_t points = lot->pending;
        ledger.Release(*lot, *lot->available_at_us, settings.expiry_months());
        ledger.Save();
        store_.AppendEvent(tx, item.store_id, "points.available", item.customer_id, lot->order_id,
                           points, {{"lot_id", lot->lot_id}});
      });
      ++done;
    }
    if (static_cast<int>(due.size()) < kBatch) return done;
  }
}

int64_t PointsService::ExpireDue(const std::string& store_id, int64_t as_of_us) {
  int64_t done = 0;
  const auto deadline = common::Clock::now() + std::chrono::seconds(60);
  // Warnings first: every lot expiring within its store's warning period, once.
  for (;;) {
    // The widest warning period allowed; each lot is then checked against its store's own.
    const auto due = db_.Read(deadline, [&](pqxx::transaction_base& tx) {
      return store_.LotsToWarn(tx, store_id, as_of_us + 365 * kMicrosPerDay, kBatch);
    });
    int warned = 0;
    for (const auto& item : due) {
      db_.Write(deadline, [&](pqxx::transaction_base& tx) {
        const auto settings = RequireSettings(tx, item.store_id);
        auto lot = store_.LockLot(tx, item.store_id, item.id);
        if (!lot || !lot->expires_at_us ||
            *lot->expires_at_us > as_of_us + settings.expiry_warning_days() * kMicrosPerDay) {
          return;
        }
        store_.MarkWarned(tx, item.store_id, item.id);
        store_.AppendEvent(tx, item.store_id, "points.expiring", item.customer_id, lot->order_id,
                           lot->available,
                           {{"lot_id", lot->lot_id},
                            {"expires_at", TimeUtil::ToString(
                                               TimeUtil::MicrosecondsToTimestamp(*lot->expires_at_us))}});
        ++warned;
      });
    }
    if (static_cast<int>(due.size()) < kBatch || warned == 0) break;
  }
  for (;;) {
    const auto due = db_.Read(deadline, [&](pqxx::transaction_base& tx) {
      return store_.LotsToExpire(tx, store_id, as_of_us, kBatch);
    });
    for (const auto& item : due) {
      db_.Write(deadline, [&](pqxx::transaction_base& tx) {
        CustomerLedger ledger(tx, store_, item.store_id, item.customer_id);
        auto lot = store_.LockLot(tx, item.store_id, item.id);
        if (!lot || lot->available == 0 || !lot->expires_at_us || *lot->expires_at_us > as_of_us) {
          return;
        }
        TransferRow meta;
        meta.amount = lot->available;
        meta.kind = "expire";
        meta.order_id = lot->order_id;
        meta.line_id = lot->line_id;
        meta.lot_id = lot->lot_id;
        meta.rule_version = lot->rule_version;
        ledger.Move("available", "expired", meta);
        const int64_t points = lot->available;
        lot->available = 0;
        store_.SaveLot(tx, item.store_id, *lot);
        ledger.Save();
        store_.AppendEvent(tx, item.store_id, "points.expired", item.customer_id, lot->order_id,
                           points, {{"lot_id", lot->lot_id}});
      });
      ++done;
    }
    if (static_cast<int>(due.size()) < kBatch) return done;
  }
}

int64_t PointsService::ExpireHolds(const CallContext& call, const std::string& store_id,
                                   int64_t as_of_us) {
  int64_t done = 0;
  const auto due = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    return store_.HoldsToExpire(tx, store_id, as_of_us, kBatch);
  });
  for (const auto& item : due) {
    auto hold = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return store_.ReadHold(tx, item.store_id, item.id);
    });
    // Only once the orders service says the order can never be placed; if it exists, its event
    // will commit the hold.
    if (!hold || !AbandonOrder(call, item.store_id, hold->order_id)) continue;
    done += db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      return ReleaseHold(tx, item.store_id, *hold, "expired") ? 1 : 0;
    });
  }
  return done;
}

namespace {
int64_t AsOf(const v1::RunJobRequest& request) {
  return request.has_as_of() ? TimeUtil::TimestampToMicroseconds(request.as_of())
                             : common::NowMicros();
}
}  // namespace

grpc::ServerUnaryReactor* PointsService::RunReleaseJob(grpc::CallbackServerContext* context,
                                                       const v1::RunJobRequest* request,
                                                       v1::RunJobResponse* response) {
  return host_.Serve(context, "RunReleaseJob", request->store_id(), [=, this](CallContext&) {
    response->set_processed(ReleaseDue(request->store_id(), AsOf(*request)));
  });
}

grpc::ServerUnaryReactor* PointsService::RunExpiryJob(grpc::CallbackServerContext* context,
                                                      const v1::RunJobRequest* request,
                                                      v1::RunJobResponse* response) {
  return host_.Serve(context, "RunExpiryJob", request->store_id(), [=, this](CallContext&) {
    response->set_processed(ExpireDue(request->store_id(), AsOf(*request)));
  });
}

grpc::ServerUnaryReactor* PointsService::RunHoldExpiryJob(grpc::CallbackServerContext* context,
                                                          const v1::RunJobRequest* request,
                                                          v1::RunJobResponse* response) {
  return host_.Serve(context, "RunHoldExpiryJob", request->store_id(), [=, this](CallContext& call) {
    response->set_processed(ExpireHolds(call, request->store_id(), AsOf(*request)));
  });
}

}  // namespace loyalty::points
