// loyalty.recommendations.v1.RecommendationsService and the order-event handlers that teach the
// model: request validation, calls into the rules and the store, idempotency. Thin on purpose:
// the rules are in recommendation_rules, the SQL in recommendation_store.
#pragma once

#include <chrono>

#include "loyalty/common/events.hpp"
#include "loyalty/common/idempotency.hpp"
#include "loyalty/common/server.hpp"
#include "loyalty/recommendations/v1/recommendations_service.grpc.pb.h"
#include "recommendation_store.hpp"

namespace loyalty::recommendations {

struct Settings {
  // LOYALTY_RECOMMENDATIONS_CANDIDATES: partners ranked per product.
  int candidates = kDefaultCandidates;
  // LOYALTY_RECOMMENDATIONS_REBUILD_TIMEOUT_SECONDS: RebuildModel's own time budget.
  std::chrono::seconds rebuild_timeout{300};
};

class RecommendationsService final : public v1::RecommendationsService::CallbackService {
 public:
  RecommendationsService(common::ServiceHost& host, Settings settings);

  // Registers the handlers of the orders service's events on `sink`.
  void Subscribe(common::InboxEventSink& sink);

  grpc::ServerUnaryReactor* UpsertProducts(grpc::CallbackServerContext* context,
                                           const v1::UpsertProductsRequest* request,
                                           v1::UpsertProductsResponse* response) override;
  grpc::ServerUnaryReactor* GetProduct(grpc::CallbackServerContext* context,
                                       const v1::GetProductRequest* request,
                                       v1::GetProductResponse* response) override;
  grpc::ServerUnaryReactor* RecommendForProduct(grpc::CallbackServerContext* context,
                                                const v1::RecommendForProductRequest* request,
                                                v1::RecommendForProductResponse* response) override;
  grpc::ServerUnaryReactor* RecommendForCart(grpc::CallbackServerContext* context,
                                             const v1::RecommendForCartRequest* request,
                                             v1::RecommendForCartResponse* response) override;
  grpc::ServerUnaryReactor* RebuildModel(grpc::CallbackServerContext* context,
                                         const v1::RebuildModelRequest* request,
                                         v1::RebuildModelResponse* response) override;

 private:
  void OnOrderPlaced(pqxx::transaction_base& tx, const loyalty::events::v1::Event& event) const;
  void OnOrderRefunded(pqxx::transaction_base& tx, const loyalty::events::v1::Event& event) const;
  void OnOrderCancelled(pqxx::transaction_base& tx, const loyalty::events::v1::Event& event) const;
  // Upsell: the explicit premium version first, else the category's band (reading the bands the
  // cart's statement did not, when the answer gets to them).
  void FillUpsell(common::Deadline deadline, const std::string& store_id, CartView& view,
                  const std::vector<std::string>& cart, int limit,
                  v1::RecommendForCartResponse* response) const;

  common::ServiceHost& host_;
  common::Database& db_;
  Settings settings_;
  RecommendationStore store_;
  common::Idempotency idempotency_;
};

}  // namespace loyalty::recommendations
