// What every room of the points service shares: the host, the database, the one PointsStore
// (every statement, prepared once; the tier tables' in TierStore), idempotency and the orders
// service's stub.
#pragma once

#include <memory>

#include "loyalty/common/idempotency.hpp"
#include "loyalty/common/server.hpp"
#include "loyalty/orders/v1/orders_service.grpc.pb.h"
#include "points_store.hpp"
#include "program/tier_store.hpp"

namespace loyalty::points {

struct PointsContext {
  PointsContext(common::ServiceHost& h, std::shared_ptr<grpc::Channel> orders_channel)
      : host(h),
        db(h.db()),
        store(h.db()),
        tier_store(h.db()),
        idempotency(h.db(), "points"),
        orders(orders::v1::OrdersService::NewStub(std::move(orders_channel))) {}

  common::ServiceHost& host;
  common::Database& db;
  PointsStore store;
  TierStore tier_store;  // the tier tables' statements (program/tier_store.*)
  common::Idempotency idempotency;
  std::unique_ptr<orders::v1::OrdersService::Stub> orders;
};

}  // namespace loyalty::points
