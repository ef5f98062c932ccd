// CheckoutService's discount codes (docs/codes.md): the admin's create and list, the quote's
// read and the checkout's claim. The rules are code_rules.hpp's, the SQL code_store.hpp's.
#include <google/protobuf/util/time_util.h>

#include "checkout_service.hpp"
#include "loyalty/common/hex.hpp"
#include "loyalty/common/idempotency.hpp"
#include "loyalty/common/page_token.hpp"
#include "loyalty/common/time.hpp"

namespace loyalty::checkout {

using common::ApiError;
using common::CallContext;
using common::Validator;

namespace {

constexpr int kDefaultPageSize = 1000;
constexpr int kMaxPageSize = 10'000;


}  // namespace

grpc::ServerUnaryReactor* CheckoutService::CreateCodes(
    grpc::CallbackServerContext* context, const v1::CreateCodesRequest* request,
    gateway::v1::CreateDiscountCodesResponse* response) {
  return host_.Serve(context, "CreateCodes", request->store().store_id(),
                     [=, this](const CallContext& call) { CreateCodesOf(call, *request, response); });
}

void CheckoutService::CreateCodesOf(const CallContext& call, const v1::CreateCodesRequest& request,
                                    gateway::v1::CreateDiscountCodesResponse* response) {
  const std::string& store_id = request.store().store_id();
  const auto& create = request.create();
  Validator v;
  v.RequireId(store_id, "store_id");
  v.RequireId(create.request_id(), "request_id");
  CheckCodeDefinition(v, create.definition(), "definition.");
  v.Check(!create.reason().empty() && create.reason().size() <= 500, "reason",
          "is required, 1-500 bytes");
  if (create.code().empty()) {
    v.Check(create.count() >= 1 && create.count() <= kMaxCodesPerBatch, "count",
            "must be 1 to 100,000 (or choose one code)");
  } else {
    v.Check(ValidCodeText(create.code()), "code", "must be 3-32 letters, digits or '-'");
    v.Check(create.count() == 0, "count", "must be 0 with a chosen code");
  }
  v.ThrowIfInvalid();

  const std::string chosen = CanonicalCode(create.code());
  const int count = chosen.empty() ? create.count() : 1;
  // Generated before the transaction: a retry of it (serialization) inserts the same codes.
  auto codes = chosen.empty() ? GenerateCodes(count) : std::vector<std::string>{chosen};
  db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    response->Clear();
    if (idempotency_.Begin(tx, store_id, "CreateCodes", create.request_id(), create, response)) {
      return;
    }
    codes_.InsertBatch(tx, store_id, create.request_id(), create.definition(), count,
                       request.author(), create.reason());
    const int64_t max_uses = create.definition().max_uses();
    if (!codes_.InsertCodes(tx, store_id, create.request_id(), max_uses, codes)) {
      if (!chosen.empty()) {
        throw ApiError(grpc::StatusCode::ALREADY_EXISTS, "CODE_EXISTS",
                       "the store already has the code " + chosen, {{"code", "already exists"}});
      }
      // A generated code the store already has, or two alike (about 1 in 10^13 per code): the
      // batch is drawn again.
      do {
        codes = GenerateCodes(count);
      } while (!codes_.InsertCodes(tx, store_id, create.request_id(), max_uses, codes));
    }
    response->set_batch_id(create.request_id());
    response->set_count(count);
    if (!chosen.empty()) *response->mutable_code() = *codes_.Get(tx, store_id, chosen);
    idempotency_.Finish(tx, store_id, "CreateCodes", create.request_id(), *response);
  });
}

std::string CheckoutService::IssueCode(pqxx::transaction_base& tx, const std::string& store_id,
                                       const std::string& template_batch,
                                       const std::string& customer_id,
                                       const std::string& batch_id, const std::string& reason,
                                       const std::string& preset) {
  // Issued before (a retried checkout): the same code.
  const auto issued = codes_.ListBatch(tx, store_id, batch_id, "", 1);
  if (!issued.empty()) return issued[0].code();
  const auto terms = codes_.BatchDefinition(tx, store_id, template_batch);
  if (!terms) return "";
  codes_.InsertBatch(tx, store_id, batch_id, PersonalTerms(*terms, customer_id), 1, "checkout",
                     reason);
  std::vector<std::string> code{preset.empty() ? GenerateCodes(1)[0] : preset};
  // A code the store already has (about 1 in 10^13) is drawn again.
  while (!codes_.InsertCodes(tx, store_id, batch_id, 1, code)) code = GenerateCodes(1);
  return code[0];
}

grpc::ServerUnaryReactor* CheckoutService::ListCodes(
    grpc::CallbackServerContext* context, const v1::ListCodesRequest* request,
    gateway::v1::ListDiscountCodesResponse* response) {
  return host_.Serve(context, "ListCodes", request->store().store_id(), [=, this](
                                                                            const CallContext& call) {
    const std::string& store_id = request->store().store_id();
    const auto& list = request->list();
    Validator v;
    v.RequireId(store_id, "store_id");
    v.Check(list.batch_id().empty() != list.code().empty(), "batch_id",
            "name a batch or a code (not both)");
    v.Check(list.page_size() >= 0 && list.page_size() <= kMaxPageSize, "page_size",
            "must be 0 to 10,000");
    const auto after = common::page_token::Decode("codes", list.page_token());
    v.Check(after.has_value(), "page_token", "is not a token of this list");
    v.ThrowIfInvalid();
    if (!list.code().empty()) {
      const std::string code = CanonicalCode(list.code());
      const auto found = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
        return codes_.Get(tx, store_id, code);
      });
      if (!found) {
        throw ApiError(grpc::StatusCode::NOT_FOUND, "CODE_NOT_FOUND",
                       "the store has no code " + code, {{"code", "is not a code of the store"}});
      }
      *response->add_codes() = *found;
      return;
    }
    const int limit = list.page_size() == 0 ? kDefaultPageSize : list.page_size();
    auto page = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return codes_.ListBatch(tx, store_id, list.batch_id(), *after, limit);
    });
    if (static_cast<int>(page.size()) == limit) {
      response->set_next_page_token(common::page_token::Encode("codes", page.back().code()));
    }
    for (auto& code : page) *response->add_codes() = std::move(code);
  });
}

std::optional<CodeState> CheckoutService::FindCode(const CallContext& call,
                                                   const std::string& store_id,
                                                   const gateway::v1::Cart& cart) {
  if (cart.discount_code().empty()) return std::nullopt;
  return db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    return codes_.Find(tx, store_id, CanonicalCode(cart.discount_code()), cart.customer_id());
  });
}

CodeState CheckoutService::ClaimCode(const CallContext& call, const std::string& store_id,
                                     const std::string& order_id, const gateway::v1::Cart& cart) {
  const std::string code = CanonicalCode(cart.discount_code());
  const int64_t merchandise = CodeMerchandise(cart);
  return db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    auto state = codes_.Lock(tx, store_id, code, cart.customer_id());
    if (!state) throw CodeNotFound(code);
    // An earlier attempt of this checkout (same order id, same cart) holds it already.
    if (codes_.ClaimOf(tx, store_id, order_id)) return *state;
    const auto refusal =
        CheckCodeUsable(*state, cart.customer_id(), merchandise, common::NowMicros());
    if (refusal != CodeRefusal::kNone) throw CodeRefusalError(refusal, *state);
    codes_.Claim(tx, store_id, order_id, code, cart.customer_id());
    ++state->uses;
    return *state;
  });
}

grpc::ServerUnaryReactor* CheckoutService::ExpireCodeClaims(
    grpc::CallbackServerContext* context, const v1::ExpireCodeClaimsRequest* request,
    v1::ExpireCodeClaimsResponse* response) {
  return host_.Serve(context, "ExpireCodeClaims", request->store_id(),
                     [=, this](const CallContext& call) {
                       const int64_t as_of =
                           request->has_as_of()
                               ? google::protobuf::util::TimeUtil::TimestampToMicroseconds(
                                     request->as_of())
                               : common::NowMicros();
                       *response = ExpireCodeClaimsDue(call, request->store_id(), as_of);
                     });
}

v1::ExpireCodeClaimsResponse CheckoutService::ExpireCodeClaimsDue(const CallContext& call,
                                                                  const std::string& store_id,
                                                                  int64_t as_of_us) {
  constexpr int kBatch = 100;
  const int64_t before = as_of_us - int64_t{config_.code_claim_ttl_seconds} * 1'000'000;
  v1::ExpireCodeClaimsResponse done;
  for (;;) {
    // Each claim handled leaves the held ones, so every page starts from the oldest again.
    const auto due = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return codes_.StaleClaims(tx, store_id, before, kBatch);
    });
    for (const auto& claim : due) {
      // Only once the orders service says the order can never be placed (as for points holds).
      orders::v1::AbandonOrderRequest abandon;
      abandon.set_store_id(claim.store_id);
      abandon.set_order_id(claim.order_id);
      orders::v1::AbandonOrderResponse abandoned;
      const auto status =
          orders_->AbandonOrder(common::DownstreamContext(call).get(), abandon, &abandoned);
      if (!status.ok()) common::ThrowDownstream(status, "orders");  // the next round retries
      db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
        if (abandoned.abandoned()) {
          store_.SetRefused(tx, claim.store_id, claim.order_id,
                            static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION),
                            "ORDER_ABANDONED",
                            "order_id " + claim.order_id +
                                " was abandoned after its outcome stayed unknown");
        } else {
          codes_.KeepClaim(tx, claim.store_id, claim.order_id);
        }
      });
      if (abandoned.abandoned()) {
        done.set_released(done.released() + 1);
      } else {
        done.set_kept(done.kept() + 1);
      }
    }
    if (static_cast<int>(due.size()) < kBatch) return done;
  }
}

}  // namespace loyalty::checkout
