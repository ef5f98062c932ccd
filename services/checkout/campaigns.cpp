// CheckoutService's campaigns (docs/campaigns.md): PutCampaign (a new version each time; the
// versions are listed and compared like the points service's, through common/versions.hpp) and
// RunCampaign. A run uses the campaign's version in force when it runs, and pages
// through the campaign's audience as of the run's time (each kind asks the service that knows:
// orders for lapsed and top customers, customers for birthdays and sign-ups), keeps those the
// customers service says consented, and for each not yet reached for the period, in one
// transaction per page: records the send (its primary key makes a second run, or a second
// replica, reach nobody twice), issues the code and writes a campaign.reached event.
#include <google/protobuf/util/time_util.h>


#include "audience.hpp"
#include "checkout_service.hpp"
#include "loyalty/common/calendar.hpp"
#include "loyalty/common/time.hpp"
#include "loyalty/common/versions.hpp"

namespace loyalty::checkout {

using common::ApiError;
using common::CallContext;
using common::Validator;
using gateway::v1::CampaignDefinition;
using google::protobuf::util::TimeUtil;

namespace {

constexpr int kPage = 1000;
constexpr int kCustomersPage = 500;  // the customers service's largest page
constexpr int kListed = 1000;        // campaigns and segments ListCampaigns answers, each
constexpr int64_t kMicrosPerDay = 86'400'000'000;

void CheckDefinition(Validator& v, const CampaignDefinition& d) {
  v.Check(d.kind() != gateway::v1::CAMPAIGN_KIND_UNSPECIFIED &&
              gateway::v1::CampaignKind_IsValid(d.kind()),
          "definition.kind", "is required: WIN_BACK, TOP_SPENDERS, BIRTHDAY or FIRST_PURCHASE");
  const bool win_back = d.kind() == gateway::v1::CAMPAIGN_KIND_WIN_BACK;
  const bool top = d.kind() == gateway::v1::CAMPAIGN_KIND_TOP_SPENDERS;
  const bool first = d.kind() == gateway::v1::CAMPAIGN_KIND_FIRST_PURCHASE;
  v.Check(win_back ? d.lapsed_days() >= 1 && d.lapsed_days() <= 3660 : d.lapsed_days() == 0,
          "definition.lapsed_days", win_back ? "must be 1 to 3,660" : "is for WIN_BACK only");
  v.Check(top ? d.top_percent() >= 0 && d.top_percent() <= 100 : d.top_percent() == 0,
          "definition.top_percent", top ? "must be 1 to 100 (0: 10)" : "is for TOP_SPENDERS only");
  v.Check(first ? d.signup_days() >= 0 && d.signup_days() <= 90 : d.signup_days() == 0,
          "definition.signup_days",
          first ? "must be 1 to 90 (0: 7)" : "is for FIRST_PURCHASE only");
  if (!d.code_batch_id().empty()) v.RequireId(d.code_batch_id(), "definition.code_batch_id");
  CheckAudience(v, d.audience(), "definition.audience.");
  v.Check(d.segment_id().empty() || !HasFilter(d.audience()), "definition.segment_id",
          "names a saved segment: leave audience empty");
  if (!d.segment_id().empty()) v.RequireId(d.segment_id(), "definition.segment_id");
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
      if (put.has_effective_from()) common::RequireNotPast(put.effective_from());
      const std::string& segment_id = put.definition().segment_id();
      if (!segment_id.empty() && !campaigns_.GetSegment(tx, store_id, segment_id)) {
        throw SegmentNotFound(segment_id, "definition.segment_id");
      }
      auto* campaign = response->mutable_campaign();
      campaign->set_campaign_id(put.campaign_id());
      *campaign->mutable_definition() = put.definition();
      campaign->set_author(request->author());
      campaign->set_reason(put.reason());
      if (put.has_effective_from()) *campaign->mutable_effective_from() = put.effective_from();
      campaigns_.Put(tx, store_id, *campaign);
      idempotency_.Finish(tx, store_id, "PutCampaign", put.request_id(), *response);
    });
  });
}

grpc::ServerUnaryReactor* CheckoutService::ListCampaigns(
    grpc::CallbackServerContext* context, const v1::ListCampaignsRequest* request,
    gateway::v1::ListCampaignsResponse* response) {
  return host_.Serve(context, "ListCampaigns", request->store().store_id(),
                     [=, this](const CallContext& call) {
    const std::string& store_id = request->store().store_id();
    Validator v;
    v.RequireId(store_id, "store_id");
    v.ThrowIfInvalid();
    db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      response->Clear();
      for (auto& c : campaigns_.ListCampaigns(tx, store_id, kListed)) {
        *response->add_campaigns() = std::move(c);
      }
      for (auto& s : campaigns_.ListSegments(tx, store_id, kListed)) {
        *response->add_segments() = std::move(s);
      }
      return 0;
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
  if (run.has_as_of()) {
    common::CheckTime(v, run.as_of(), "as_of");
  }
  v.Check(run.version() == 0 || (run.preview() && run.version() > 0), "version",
          "previews a version: positive, with preview");
  v.ThrowIfInvalid();
  if (run.version() != 0) {
    const auto version = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return campaigns_.Version(tx, store_id, run.campaign_id(), run.version());
    });
    if (!version) {
      throw ApiError(grpc::StatusCode::NOT_FOUND, "VERSION_NOT_FOUND",
                     "campaign " + run.campaign_id() + " has no version " +
                         std::to_string(run.version()),
                     {{"version", "no such version"}});
    }
    return RunVersion(call, request, version->definition(), response);
  }
  // The version in force now, whatever the run's as_of: a version published for later reaches
  // nobody before then (a run as of a past time backfills with today's definition).
  const auto [campaign, first_effective] =
      db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
        auto in_force = campaigns_.InForce(tx, store_id, run.campaign_id());
        return std::pair{in_force, in_force ? std::optional<int64_t>()
                                            : campaigns_.FirstEffective(tx, store_id,
                                                                        run.campaign_id())};
      });
  if (!campaign && !first_effective) {
    throw ApiError(grpc::StatusCode::NOT_FOUND, "CAMPAIGN_NOT_FOUND",
                   "the store has no campaign " + run.campaign_id(),
                   {{"campaign_id", "is not a campaign of the store"}});
  }
  if (!campaign) {
    const std::string at = TimeUtil::ToString(TimeUtil::MicrosecondsToTimestamp(*first_effective));
    throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "CAMPAIGN_NOT_IN_FORCE",
                   "campaign " + run.campaign_id() + " takes effect at " + at,
                   {{"campaign_id", "takes effect at " + at}});
  }
  RunVersion(call, request, campaign->definition(), response);
}

void CheckoutService::RunVersion(const CallContext& call, const v1::RunCampaignRequest& request,
                                 const CampaignDefinition& definition,
                                 gateway::v1::RunCampaignResponse* response) {
  const std::string& store_id = request.store().store_id();
  const auto& run = request.run();
  const int64_t as_of_us = run.has_as_of() ? TimeUtil::TimestampToMicroseconds(run.as_of())
                                           : common::NowMicros();
  // A saved segment's current definition, or the campaign's own.
  gateway::v1::CampaignAudience audience = definition.audience();
  if (!definition.segment_id().empty()) {
    const auto segment = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return campaigns_.GetSegment(tx, store_id, definition.segment_id());
    });
    if (!segment) throw SegmentNotFound(definition.segment_id(), "campaign_id");
    audience = segment->definition();
  }
  const auto members = AudienceMembers(call, store_id, audience, as_of_us);
  ForEachAudiencePage(call, store_id, definition, as_of_us,
                      [&](const std::vector<CampaignTarget>& page) {
                        if (!members) return ReachPage(call, request, definition, page, response);
                        std::vector<CampaignTarget> targets;
                        for (const auto& t : page) {
                          if (members->count(t.customer_id)) targets.push_back(t);
                        }
                        if (!targets.empty()) ReachPage(call, request, definition, targets, response);
                      });
}

CheckoutService::StoreDay CheckoutService::StoreDayAt(const CallContext& call,
                                                      const std::string& store_id,
                                                      int64_t at_us) {
  StoreDay day;
  day.time_zone = QuoteSettings(call, store_id)->settings().time_zone();
  if (day.time_zone.empty()) day.time_zone = "UTC";
  day.date = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    return common::LocalDateAt(tx, at_us, day.time_zone);
  });
  return day;
}

void CheckoutService::ForEachAudiencePage(
    const CallContext& call, const std::string& store_id, const CampaignDefinition& definition,
    int64_t as_of_us, const std::function<void(const std::vector<CampaignTarget>&)>& reach) {
  const auto as_of = TimeUtil::MicrosecondsToTimestamp(as_of_us);
  // Pages of the customers service's list, erased customers left out.
  const auto list_customers = [&](customers::v1::ListCustomersRequest list,
                                  const std::string& period) {
    list.set_store_id(store_id);
    list.set_page_size(kCustomersPage);
    do {
      customers::v1::ListCustomersResponse page;
      const auto status =
          customers_->ListCustomers(common::DownstreamContext(call).get(), list, &page);
      if (!status.ok()) common::ThrowDownstream(status, "customers");
      std::vector<CampaignTarget> targets;
      for (const auto& c : page.customers()) {
        if (!c.erased()) targets.push_back({c.customer_id(), period});
      }
      if (!targets.empty()) reach(targets);
      list.set_page_token(page.next_page_token());
    } while (!list.page_token().empty());
  };

  switch (definition.kind()) {
    case gateway::v1::CAMPAIGN_KIND_WIN_BACK: {
      orders::v1::LapsedCustomersRequest lapsed;
      lapsed.set_store_id(store_id);
      *lapsed.mutable_as_of() = as_of;
      lapsed.set_days(definition.lapsed_days());
      lapsed.set_page_size(kPage);
      do {
        orders::v1::LapsedCustomersResponse page;
        const auto status =
            orders_->LapsedCustomers(common::DownstreamContext(call).get(), lapsed, &page);
        if (!status.ok()) common::ThrowDownstream(status, "orders");
        // The period of a win-back is the lapse: a later order and a new lapse make a new one.
        std::vector<CampaignTarget> targets;
        for (const auto& c : page.customers()) {
          targets.push_back({c.customer_id(), std::to_string(TimeUtil::TimestampToMicroseconds(
                                                  c.last_order_at()))});
        }
        if (!targets.empty()) reach(targets);
        lapsed.set_page_token(page.next_page_token());
      } while (!lapsed.page_token().empty());
      return;
    }
    case gateway::v1::CAMPAIGN_KIND_TOP_SPENDERS: {
      const auto day = StoreDayAt(call, store_id, as_of_us);
      const auto month = common::MonthBefore(day.date);
      const std::string period = common::FormatLocalDate(month.start).substr(0, 7);
      orders::v1::TopCustomersRequest top;
      top.set_store_id(store_id);
      top.set_time_zone(day.time_zone);
      top.mutable_period()->set_start_date(common::FormatLocalDate(month.start));
      top.mutable_period()->set_end_date(common::FormatLocalDate(month.end));
      top.set_top_percent(definition.top_percent() == 0 ? 10 : definition.top_percent());
      top.set_page_size(kPage);
      do {
        orders::v1::TopCustomersResponse page;
        const auto status =
            orders_->TopCustomers(common::DownstreamContext(call).get(), top, &page);
        if (!status.ok()) common::ThrowDownstream(status, "orders");
        std::vector<CampaignTarget> targets;
        for (const auto& c : page.customers()) targets.push_back({c.customer_id(), period});
        if (!targets.empty()) reach(targets);
        top.set_page_token(page.next_page_token());
      } while (!top.page_token().empty());
      return;
    }
    case gateway::v1::CAMPAIGN_KIND_BIRTHDAY: {
      const auto day = StoreDayAt(call, store_id, as_of_us).date;
      for (const auto& born : common::BirthdaysOn(day)) {
        customers::v1::ListCustomersRequest list;
        list.set_birthday_month(born.month);
        list.set_birthday_day(born.day);
        list_customers(list, std::to_string(day.year));
      }
      return;
    }
    case gateway::v1::CAMPAIGN_KIND_FIRST_PURCHASE: {
      const int days = definition.signup_days() == 0 ? 7 : definition.signup_days();
      customers::v1::ListCustomersRequest list;
      *list.mutable_signed_up_from() =
          TimeUtil::MicrosecondsToTimestamp(as_of_us - days * kMicrosPerDay);
      *list.mutable_signed_up_before() = TimeUtil::MicrosecondsToTimestamp(as_of_us + 1);
      list_customers(list, "signup");
      return;
    }
    default:
      throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "CAMPAIGN_KIND_UNKNOWN",
                     "the campaign's kind is not one this version runs",
                     {{"campaign_id", "has a kind this version does not know"}});
  }
}

void CheckoutService::IssueCampaignCodes(pqxx::transaction_base& tx, const std::string& store_id,
                                         const std::string& campaign_id,
                                         const gateway::v1::CodeDefinition& terms,
                                         std::vector<std::pair<CampaignTarget, std::string>>& sent) {
  // Each customer's code in a batch of its own named after the send (as IssueCode makes one for
  // a single order).
  std::vector<CodeStore::PersonalCode> personal;
  for (const auto& [t, code] : sent) {
    personal.push_back({"campaign:" + campaign_id + ":" + t.customer_id + ":" + t.period,
                        PersonalTerms(terms, t.customer_id), code});
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (codes_.InsertPersonalCodes(tx, store_id, personal, "checkout", "campaign " + campaign_id)) {
      return;
    }
    // A code the store already has (about 1 in 10^13 each): the page's codes drawn again.
    const auto drawn = GenerateCodes(static_cast<int>(sent.size()));
    std::vector<CampaignTarget> targets;
    for (size_t i = 0; i < sent.size(); ++i) {
      sent[i].second = personal[i].code = drawn[i];
      targets.push_back(sent[i].first);
    }
    campaigns_.SetCodes(tx, store_id, campaign_id, targets, drawn);
  }
  throw std::runtime_error("campaign " + campaign_id + ": its codes collided three times");
}

void CheckoutService::ReachPage(const CallContext& call, const v1::RunCampaignRequest& request,
                                const CampaignDefinition& definition,
                                const std::vector<CampaignTarget>& targets,
                                gateway::v1::RunCampaignResponse* response) {
  const std::string& store_id = request.store().store_id();
  const auto& run = request.run();
  customers::v1::FilterConsentingRequest filter;
  filter.set_store_id(store_id);
  for (const auto& t : targets) filter.add_customer_ids(t.customer_id);
  customers::v1::FilterConsentingResponse consenting;
  const auto status =
      customers_->FilterConsenting(common::DownstreamContext(call).get(), filter, &consenting);
  if (!status.ok()) common::ThrowDownstream(status, "customers");
  const std::set<std::string> may(consenting.customer_ids().begin(),
                                  consenting.customer_ids().end());
  response->set_without_consent(response->without_consent() +
                                static_cast<int64_t>(targets.size()) -
                                consenting.customer_ids_size());
  if (may.empty()) return;

  if (run.preview()) {
    const std::vector<std::string> ids(may.begin(), may.end());
    const auto sent = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return campaigns_.Sent(tx, store_id, run.campaign_id(), ids);
    });
    for (const auto& t : targets) {
      if (!may.count(t.customer_id)) continue;
      if (sent.count({t.customer_id, t.period})) {
        response->set_already_reached(response->already_reached() + 1);
      } else {
        response->set_reached(response->reached() + 1);
      }
    }
    return;
  }
  std::vector<CampaignTarget> consenting_targets;
  for (const auto& t : targets) {
    if (may.count(t.customer_id)) consenting_targets.push_back(t);
  }
  // A page in a few statements whatever its size: the sends with their codes in one (which
  // tells the targets not reached before), their codes' batches and codes in two, and their
  // events in two.
  const auto counted = db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
    gateway::v1::RunCampaignResponse n;
    // Codes are drawn for every target and recorded with the sends; a customer reached before
    // keeps the code of that send, and the one drawn now is dropped.
    const auto terms = definition.code_batch_id().empty()
                           ? std::nullopt
                           : codes_.BatchDefinition(tx, store_id, definition.code_batch_id());
    const auto drawn = terms ? GenerateCodes(static_cast<int>(consenting_targets.size()))
                             : std::vector<std::string>{};
    auto fresh = campaigns_.SendMany(tx, store_id, run.campaign_id(), consenting_targets, drawn);
    n.set_already_reached(static_cast<int64_t>(consenting_targets.size() - fresh.size()));
    n.set_reached(static_cast<int64_t>(fresh.size()));
    if (terms && !fresh.empty()) {
      IssueCampaignCodes(tx, store_id, run.campaign_id(), *terms, fresh);
      n.set_codes(static_cast<int64_t>(fresh.size()));
    }
    std::vector<v1::CampaignReached> reached(fresh.size());
    std::vector<common::OutboxWriter::Pending> events;
    for (size_t i = 0; i < fresh.size(); ++i) {
      const auto& [t, code] = fresh[i];
      reached[i].set_campaign_id(run.campaign_id());
      reached[i].set_kind(definition.kind());
      reached[i].set_customer_id(t.customer_id);
      reached[i].set_period(t.period);
      reached[i].set_code(code);
      events.push_back(
          {"campaign/" + run.campaign_id() + "/" + t.customer_id + "/" + t.period, 1, &reached[i]});
    }
    outbox_.AppendMany(tx, store_id, "campaign.reached", events);
    return n;
  });
  response->set_reached(response->reached() + counted.reached());
  response->set_already_reached(response->already_reached() + counted.already_reached());
  response->set_codes(response->codes() + counted.codes());
}

}  // namespace loyalty::checkout
