// CheckoutService's campaigns (docs/campaigns.md): PutCampaign and RunCampaign. A win-back run
// pages through the customers the orders service reports lapsed as of the run's time, keeps
// those the customers service says consented, and for each not yet reached for this lapse, in
// one transaction per page: records the send (its primary key makes a second run, or a second
// replica, reach nobody twice), issues the code and writes a campaign.reached event.
#include <google/protobuf/util/time_util.h>

#include "checkout_service.hpp"
#include "loyalty/common/time.hpp"

namespace loyalty::checkout {

using common::ApiError;
using common::CallContext;
using common::Validator;
using google::protobuf::util::TimeUtil;

namespace {

constexpr int kPage = 1000;

void CheckDefinition(Validator& v, const gateway::v1::CampaignDefinition& d) {
  v.Check(d.kind() == gateway::v1::CAMPAIGN_KIND_WIN_BACK, "definition.kind",
          "is required: WIN_BACK");
  v.Check(d.lapsed_days() >= 1 && d.lapsed_days() <= 3660, "definition.lapsed_days",
          "must be 1 to 3,660");
  if (!d.code_batch_id().empty()) v.RequireId(d.code_batch_id(), "definition.code_batch_id");
}

}  // namespace

grpc::ServerUnaryReactor* CheckoutService::PutCampaign(grpc::CallbackServerContext* context,
                                                       const v1::PutCampaignRequest* request,
                                                       gateway::v1::PutCampaignResponse* response) {
  return host_.Serve(context, "PutCampaign", request->store().store_id(), [=, this](
                                                                             const CallContext& call) {
    const std::string& store_id = request->store().store_id();
    const auto& put = request->put();
    Validator v;
    v.RequireId(store_id, "store_id");
    v.RequireId(put.request_id(), "request_id");
    v.RequireId(put.campaign_id(), "campaign_id");
    CheckDefinition(v, put.definition());
    v.Check(!put.reason().empty() && put.reason().size() <= 500, "reason",
            "is required, 1-500 bytes");
    v.ThrowIfInvalid();
    db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      response->Clear();
      if (idempotency_.Begin(tx, store_id, "PutCampaign", put.request_id(), put, response)) return;
      auto* campaign = response->mutable_campaign();
      campaign->set_campaign_id(put.campaign_id());
      *campaign->mutable_definition() = put.definition();
      campaign->set_author(request->author());
      campaign->set_reason(put.reason());
      campaigns_.Put(tx, store_id, *campaign);
      idempotency_.Finish(tx, store_id, "PutCampaign", put.request_id(), *response);
    });
  });
}

grpc::ServerUnaryReactor* CheckoutService::RunCampaign(grpc::CallbackServerContext* context,
                                                       const v1::RunCampaignRequest* request,
                                                       gateway::v1::RunCampaignResponse* response) {
  return host_.Serve(context, "RunCampaign", request->store().store_id(),
                     [=, this](const CallContext& call) { RunCampaignOf(call, *request, response); });
}

void CheckoutService::RunCampaignOf(const CallContext& call, const v1::RunCampaignRequest& request,
                                    gateway::v1::RunCampaignResponse* response) {
  const std::string& store_id = request.store().store_id();
  const auto& run = request.run();
  Validator v;
  v.RequireId(store_id, "store_id");
  v.RequireId(run.request_id(), "request_id");
  v.RequireId(run.campaign_id(), "campaign_id");
  v.ThrowIfInvalid();
  const auto campaign = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    return campaigns_.Get(tx, store_id, run.campaign_id());
  });
  if (!campaign) {
    throw ApiError(grpc::StatusCode::NOT_FOUND, "CAMPAIGN_NOT_FOUND",
                   "the store has no campaign " + run.campaign_id(),
                   {{"campaign_id", "is not a campaign of the store"}});
  }
  const auto& definition = campaign->definition();

  orders::v1::LapsedCustomersRequest lapsed;
  lapsed.set_store_id(store_id);
  *lapsed.mutable_as_of() = run.has_as_of() ? run.as_of() : common::NowTimestamp();
  lapsed.set_days(definition.lapsed_days());
  lapsed.set_page_size(kPage);
  do {
    orders::v1::LapsedCustomersResponse page;
    const auto status =
        orders_->LapsedCustomers(common::DownstreamContext(call).get(), lapsed, &page);
    if (!status.ok()) common::ThrowDownstream(status, "orders");
    lapsed.set_page_token(page.next_page_token());
    if (page.customers_size() == 0) break;

    customers::v1::FilterConsentingRequest filter;
    filter.set_store_id(store_id);
    for (const auto& c : page.customers()) filter.add_customer_ids(c.customer_id());
    customers::v1::FilterConsentingResponse consenting;
    const auto cstatus =
        customers_->FilterConsenting(common::DownstreamContext(call).get(), filter, &consenting);
    if (!cstatus.ok()) common::ThrowDownstream(cstatus, "customers");
    const std::set<std::string> may(consenting.customer_ids().begin(),
                                    consenting.customer_ids().end());
    response->set_without_consent(response->without_consent() + page.customers_size() -
                                  consenting.customer_ids_size());
    std::vector<std::string> ids(may.begin(), may.end());
    if (ids.empty()) continue;

    // The period of a win-back is the lapse: a later order and a new lapse make a new one.
    auto period_of = [&](const orders::v1::LapsedCustomer& c) {
      return std::to_string(TimeUtil::TimestampToMicroseconds(c.last_order_at()));
    };
    if (run.preview()) {
      const auto sent = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
        return campaigns_.Sent(tx, store_id, run.campaign_id(), ids);
      });
      for (const auto& c : page.customers()) {
        if (!may.count(c.customer_id())) continue;
        if (sent.count({c.customer_id(), period_of(c)})) {
          response->set_already_reached(response->already_reached() + 1);
        } else {
          response->set_reached(response->reached() + 1);
        }
      }
      continue;
    }
    const auto counted = db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      gateway::v1::RunCampaignResponse n;
      for (const auto& c : page.customers()) {
        if (!may.count(c.customer_id())) continue;
        const std::string period = period_of(c);
        if (!campaigns_.Send(tx, store_id, run.campaign_id(), c.customer_id(), period)) {
          n.set_already_reached(n.already_reached() + 1);
          continue;
        }
        n.set_reached(n.reached() + 1);
        std::string code;
        if (!definition.code_batch_id().empty()) {
          code = IssueCode(tx, store_id, definition.code_batch_id(), c.customer_id(),
                           "campaign:" + run.campaign_id() + ":" + c.customer_id() + ":" + period,
                           "campaign " + run.campaign_id());
          if (!code.empty()) {
            campaigns_.SetCode(tx, store_id, run.campaign_id(), c.customer_id(), period, code);
            n.set_codes(n.codes() + 1);
          }
        }
        v1::CampaignReached reached;
        reached.set_campaign_id(run.campaign_id());
        reached.set_kind(definition.kind());
        reached.set_customer_id(c.customer_id());
        reached.set_period(period);
        reached.set_code(code);
        outbox_.Append(tx, store_id,
                       "campaign/" + run.campaign_id() + "/" + c.customer_id() + "/" + period, 1,
                       "campaign.reached", reached);
      }
      return n;
    });
    response->set_reached(response->reached() + counted.reached());
    response->set_already_reached(response->already_reached() + counted.already_reached());
    response->set_codes(response->codes() + counted.codes());
  } while (!lapsed.page_token().empty());
}

}  // namespace loyalty::checkout
