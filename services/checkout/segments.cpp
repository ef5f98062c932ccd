// Saved segments and audiences (docs/campaigns.md): PutSegment, PreviewSegment, and the members
// an audience allows, read from the orders service's reports as of a time (RfmReport for an RFM
// segment, SegmentCustomers for products bought and discount use), intersected when both apply.
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <iterator>

#include "audience.hpp"
#include "checkout_service.hpp"
#include "loyalty/common/time.hpp"

namespace loyalty::checkout {

using common::ApiError;
using common::CallContext;
using common::Validator;
using gateway::v1::CampaignAudience;
using google::protobuf::util::TimeUtil;

namespace {
constexpr int kPage = 1000;      // the orders service's largest page
constexpr int kMaxPreview = 1000;

// The customer ids of every page of a list call to another service (`list`, a stub method whose
// answer has customer_ids and next_page_token), from `request` on.
template <class Stub, class Request, class Response>
std::set<std::string> EveryPageOfIds(
    const CallContext& call, Stub& stub,
    grpc::Status (Stub::*list)(grpc::ClientContext*, const Request&, Response*), Request request,
    const char* service) {
  std::set<std::string> found;
  do {
    Response page;
    const auto status = (stub.*list)(common::DownstreamContext(call).get(), request, &page);
    if (!status.ok()) common::ThrowDownstream(status, service);
    found.insert(page.customer_ids().begin(), page.customer_ids().end());
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  return found;
}
}  // namespace

// The limits are the orders service's for SegmentCustomers, checked when the audience is written
// so that a run cannot fail on them.
void CheckAudience(Validator& v, const CampaignAudience& a, const std::string& p) {
  v.Check(orders::v1::RfmSegment_IsValid(a.rfm_segment()), p + "rfm_segment",
          "is not an RfmSegment");
  v.CheckFilterValues(a.skus(), p + "skus");
  v.CheckFilterValues(a.categories(), p + "categories");
  v.Check(orders::v1::DiscountUse_IsValid(a.discount_use()), p + "discount_use",
          "is not a DiscountUse");
  v.CheckSpendBand(a.min_spend_minor(), a.max_spend_minor(), p);
  if (!a.tier_id().empty()) v.RequireId(a.tier_id(), p + "tier_id");
  const bool bought = a.skus_size() + a.categories_size() > 0 ||
                      a.discount_use() != orders::v1::DISCOUNT_USE_UNSPECIFIED ||
                      a.min_spend_minor() > 0 || a.max_spend_minor() > 0;
  v.Check(bought ? a.within_days() >= 1 && a.within_days() <= 3660 : a.within_days() == 0,
          p + "within_days",
          bought ? "must be 1 to 3,660 with skus, categories, discount_use or a spend band"
                 : "is only for skus, categories, discount_use or a spend band");
}

bool HasFilter(const CampaignAudience& a) {
  return a.rfm_segment() != orders::v1::RFM_SEGMENT_UNSPECIFIED || a.within_days() != 0 ||
         a.skus_size() + a.categories_size() > 0 ||
         a.discount_use() != orders::v1::DISCOUNT_USE_UNSPECIFIED || a.min_spend_minor() > 0 ||
         a.max_spend_minor() > 0 || !a.tier_id().empty();
}

ApiError SegmentNotFound(const std::string& segment_id, const std::string& field) {
  return ApiError(grpc::StatusCode::NOT_FOUND, "SEGMENT_NOT_FOUND",
                  "the store has no segment " + segment_id,
                  {{field, "is not a saved segment of the store"}});
}

std::optional<std::set<std::string>> CheckoutService::AudienceMembers(
    const CallContext& call, const std::string& store_id, const CampaignAudience& audience,
    int64_t as_of_us) {
  std::optional<std::set<std::string>> members;
  // Keeps the customers both filters allow.
  const auto narrow = [&](std::set<std::string> found) {
    if (!members) {
      members = std::move(found);
      return;
    }
    std::set<std::string> both;
    std::set_intersection(members->begin(), members->end(), found.begin(), found.end(),
                          std::inserter(both, both.end()));
    members = std::move(both);
  };
  if (audience.rfm_segment() != orders::v1::RFM_SEGMENT_UNSPECIFIED) {
    orders::v1::RfmReportRequest rfm;
    rfm.set_store_id(store_id);
    *rfm.mutable_as_of() = TimeUtil::MicrosecondsToTimestamp(as_of_us);
    rfm.set_segment(audience.rfm_segment());
    rfm.set_page_size(kPage);
    std::set<std::string> found;
    do {
      orders::v1::RfmReportResponse page;
      const auto status = orders_->RfmReport(common::DownstreamContext(call).get(), rfm, &page);
      if (!status.ok()) common::ThrowDownstream(status, "orders");
      for (const auto& row : page.rows()) found.insert(row.customer_id());
      rfm.set_page_token(page.next_page_token());
    } while (!rfm.page_token().empty());
    narrow(std::move(found));
  }
  if (audience.within_days() > 0) {
    const auto day = StoreDayAt(call, store_id, as_of_us);
    orders::v1::SegmentCustomersRequest segment;
    segment.set_store_id(store_id);
    segment.set_time_zone(day.time_zone);
    segment.mutable_period()->set_start_date(
        common::FormatLocalDate(common::AddDays(day.date, 1 - audience.within_days())));
    segment.mutable_period()->set_end_date(common::FormatLocalDate(common::AddDays(day.date, 1)));
    *segment.mutable_skus() = audience.skus();
    *segment.mutable_categories() = audience.categories();
    segment.set_discount_use(audience.discount_use());
    segment.set_min_spend_minor(audience.min_spend_minor());
    segment.set_max_spend_minor(audience.max_spend_minor());
    segment.set_page_size(kPage);
    narrow(EveryPageOfIds(call, *orders_, &orders::v1::OrdersService::Stub::SegmentCustomers,
                          segment, "orders"));
  }
  if (!audience.tier_id().empty()) {
    points::v1::ListTierMembersRequest tier;
    tier.set_store_id(store_id);
    tier.set_tier_id(audience.tier_id());
    *tier.mutable_as_of() = TimeUtil::MicrosecondsToTimestamp(as_of_us);
    tier.set_page_size(kPage);
    narrow(EveryPageOfIds(call, *points_, &points::v1::PointsService::Stub::ListTierMembers, tier,
                          "points"));
  }
  return members;
}

grpc::ServerUnaryReactor* CheckoutService::PutSegment(grpc::CallbackServerContext* context,
                                                      const v1::PutSegmentRequest* request,
                                                      gateway::v1::PutSegmentResponse* response) {
  return host_.Serve(context, "PutSegment", request->store().store_id(),
                     [=, this](const CallContext& call) {
    const std::string& store_id = request->store().store_id();
    const auto& put = request->put();
    Validator v;
    v.RequireId(store_id, "store_id");
    v.RequireId(put.request_id(), "request_id");
    v.RequireId(put.segment_id(), "segment_id");
    CheckAudience(v, put.definition(), "definition.");
    v.Check(HasFilter(put.definition()), "definition", "needs at least one filter");
    v.Check(!put.reason().empty() && put.reason().size() <= 500, "reason",
            "is required, 1-500 bytes");
    v.ThrowIfInvalid();
    db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      response->Clear();
      if (idempotency_.Begin(tx, store_id, "PutSegment", put.request_id(), put, response)) return;
      auto* segment = response->mutable_segment();
      segment->set_segment_id(put.segment_id());
      *segment->mutable_definition() = put.definition();
      segment->set_author(request->author());
      segment->set_reason(put.reason());
      campaigns_.PutSegment(tx, store_id, *segment);
      idempotency_.Finish(tx, store_id, "PutSegment", put.request_id(), *response);
    });
  });
}

grpc::ServerUnaryReactor* CheckoutService::PreviewSegment(
    grpc::CallbackServerContext* context, const v1::PreviewSegmentRequest* request,
    gateway::v1::PreviewSegmentResponse* response) {
  return host_.Serve(context, "PreviewSegment", request->store().store_id(),
                     [=, this](const CallContext& call) {
    const std::string& store_id = request->store().store_id();
    const auto& preview = request->preview();
    Validator v;
    v.RequireId(store_id, "store_id");
    v.RequireId(preview.segment_id(), "segment_id");
    if (preview.has_as_of()) {
      common::CheckTime(v, preview.as_of(), "as_of");
    }
    v.Check(preview.page_size() >= 0 && preview.page_size() <= kMaxPreview, "page_size",
            "must be 0 to 1,000");
    v.ThrowIfInvalid();
    const auto segment = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return campaigns_.GetSegment(tx, store_id, preview.segment_id());
    });
    if (!segment) throw SegmentNotFound(preview.segment_id(), "segment_id");
    const int64_t as_of_us = preview.has_as_of()
                                 ? TimeUtil::TimestampToMicroseconds(preview.as_of())
                                 : common::NowMicros();
    // A saved segment has a filter, so the set is always there.
    const auto members =
        AudienceMembers(call, store_id, segment->definition(), as_of_us).value_or(
            std::set<std::string>{});
    *response->mutable_segment() = *segment;
    response->set_members(static_cast<int64_t>(members.size()));
    // Consent, a thousand ids per statement.
    customers::v1::FilterConsentingRequest filter;
    filter.set_store_id(store_id);
    const auto count_consenting = [&] {
      if (filter.customer_ids_size() == 0) return;
      customers::v1::FilterConsentingResponse consenting;
      const auto status =
          customers_->FilterConsenting(common::DownstreamContext(call).get(), filter, &consenting);
      if (!status.ok()) common::ThrowDownstream(status, "customers");
      response->set_with_consent(response->with_consent() + consenting.customer_ids_size());
      filter.clear_customer_ids();
    };
    for (const auto& id : members) {
      filter.add_customer_ids(id);
      if (filter.customer_ids_size() == kPage) count_consenting();
    }
    count_consenting();
    const int page_size = preview.page_size() == 0 ? 100 : preview.page_size();
    for (auto it = members.upper_bound(preview.page_token()); it != members.end(); ++it) {
      if (response->customer_ids_size() == page_size) {
        response->set_next_page_token(response->customer_ids(page_size - 1));
        break;
      }
      response->add_customer_ids(*it);
    }
  });
}

}  // namespace loyalty::checkout
