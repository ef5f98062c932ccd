#include "program/rewards.hpp"

#include "program/settings.hpp"

namespace loyalty::points {

using common::ApiError;
using common::CallContext;
using common::Validator;

template <class Request, class Response>
void Rewards::Write(const CallContext& call, const Request& request, const char* method,
                    bool create, Response* response) {
  Validator v;
  v.RequireId(request.store_id(), "store_id");
  v.RequireId(request.request_id(), "request_id");
  v.RequireId(request.reward_id(), "reward_id");
  v.RequireId(request.author(), "author");
  v.Check(!request.reason().empty() && request.reason().size() <= 500, "reason",
          "is required, 1-500 bytes");
  CheckRewardDefinition(v, request.definition(), "definition.");
  v.ThrowIfInvalid();
  db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    const std::string& store_id = request.store_id();
    if (idempotency_.Begin(tx, store_id, method, request.request_id(), request, response)) {
      return;
    }
    const auto settings = RequireSettings(store_, tx, store_id);
    const auto stock = rewards_.Lock(tx, store_id, request.reward_id());
    if (create && stock) {
      throw ApiError(grpc::StatusCode::ALREADY_EXISTS, "REWARD_EXISTS",
                     "the store already has this reward_id; UpdateReward changes it");
    }
    if (!create && !stock) {
      throw ApiError(grpc::StatusCode::NOT_FOUND, "REWARD_NOT_FOUND",
                     "the store has no reward with this reward_id");
    }
    const int64_t limit = request.definition().stock_limit();
    if (stock && limit > 0 && limit < stock->redeemed) {
      throw common::InvalidField("definition.stock_limit",
                                 "is below the units already redeemed (" +
                                     std::to_string(stock->redeemed) + ")");
    }
    auto definition = request.definition();
    definition.set_currency_code(settings.currency_code());
    *response->mutable_reward() = rewards_.InsertVersion(
        tx, store_id, request.reward_id(), definition, request.author(), request.reason(), create);
    // Checkout keeps the catalogue with the settings: drop it everywhere at commit.
    store_.AnnounceProgramChange(tx, store_id);
    idempotency_.Finish(tx, store_id, method, request.request_id(), *response);
  });
}

void Rewards::CreateReward(const CallContext& call, const v1::CreateRewardRequest* request,
                           v1::CreateRewardResponse* response) {
  Write(call, *request, "CreateReward", true, response);
}

void Rewards::UpdateReward(const CallContext& call, const v1::UpdateRewardRequest* request,
                           v1::UpdateRewardResponse* response) {
  Write(call, *request, "UpdateReward", false, response);
}

void Rewards::ListRewards(const CallContext& call, const v1::ListRewardsRequest* request,
                          v1::ListRewardsResponse* response) {
  Validator v;
  v.RequireId(request->store_id(), "store_id");
  if (!request->reward_id().empty()) v.RequireId(request->reward_id(), "reward_id");
  v.ThrowIfInvalid();
  db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    for (auto& r : rewards_.Current(tx, request->store_id(), request->reward_id())) {
      *response->add_rewards() = std::move(r);
    }
    if (request->reward_id().empty()) return;
    for (auto& r : rewards_.Versions(tx, request->store_id(), request->reward_id())) {
      *response->add_versions() = std::move(r);
    }
  });
}

}  // namespace loyalty::points
