// What every room of the points service shares: the host, the database, the one PointsStore
// (every statement, prepared once; the actions', tiers' and rewards' in ActionStore, TierStore
// and RewardStore),
// idempotency and the orders and customers services' stubs.
#pragma once

#include <memory>

#include "loyalty/common/idempotency.hpp"
#include "loyalty/common/server.hpp"
#include "loyalty/customers/v1/customers_service.grpc.pb.h"
#include "loyalty/orders/v1/orders_service.grpc.pb.h"
#include "points_store.hpp"
#include "program/reward_store.hpp"
#include "program/tier_store.hpp"

namespace loyalty::points {

struct PointsContext {
  PointsContext(common::ServiceHost& h, std::shared_ptr<grpc::Channel> orders_channel,
                std::shared_ptr<grpc::Channel> customers_channel)
      : host(h),
        db(h.db()),
        store(h.db()),
        tier_store(h.db()),
        reward_store(h.db()),
        idempotency(h.db(), "points"),
        orders(orders::v1::OrdersService::NewStub(std::move(orders_channel))),
        customers(customers::v1::CustomersService::NewStub(std::move(customers_channel))) {}

  common::ServiceHost& host;
  common::Database& db;
  PointsStore store;
  TierStore tier_store;  // the tier tables' statements (program/tier_store.*)
  RewardStore reward_store;  // the rewards catalogue's (program/reward_store.*)
  common::Idempotency idempotency;
  std::unique_ptr<orders::v1::OrdersService::Stub> orders;
  // Member actions: who a customer is (email, birthday, referral code).
  std::unique_ptr<customers::v1::CustomersService::Stub> customers;
};

}  // namespace loyalty::points
