#include "subscription_rules.hpp"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <set>

#include "loyalty/common/time.hpp"

namespace loyalty::checkout {

using common::ApiError;
using gateway::v1::SubscriptionAction;
using google::protobuf::util::TimeUtil;

namespace {

constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

int64_t IntervalUs(const SubscriptionTerms& terms) { return terms.interval_days * kMicrosPerDay; }

ApiError Refused(const std::string& reason, const std::string& message, const std::string& field) {
  return ApiError(grpc::StatusCode::FAILED_PRECONDITION, reason, field + ": " + message,
                  {{field, message}});
}

}  // namespace

int32_t NoticeHoursOf(const gateway::v1::CreateSubscriptionRequest& create) {
  if (create.notice_hours() != 0) return create.notice_hours();
  return std::min(kDefaultNoticeHours, create.interval_days() * 12);
}

void CheckCreate(common::Validator& v, const gateway::v1::CreateSubscriptionRequest& create) {
  v.RequireId(create.request_id(), "request_id");
  v.RequireId(create.customer_id(), "customer_id");
  v.RequireId(create.subscription_id(), "subscription_id");
  v.Check(create.lines_size() >= 1 && create.lines_size() <= kMaxSubscriptionLines, "lines",
          "must have 1 to " + std::to_string(kMaxSubscriptionLines) + " lines");
  std::set<std::string> skus;
  for (int i = 0; i < create.lines_size() && i < kMaxSubscriptionLines; ++i) {
    const auto& line = create.lines(i);
    const std::string at = "lines[" + std::to_string(i) + "].";
    if (v.RequireId(line.sku(), at + "sku")) {
      v.Check(skus.insert(line.sku()).second, at + "sku", "appears twice");
    }
    v.Check(line.quantity() >= 1 && line.quantity() <= 10'000, at + "quantity",
            "must be 1 to 10,000");
  }
  const bool interval_ok =
      v.Check(create.interval_days() >= 1 && create.interval_days() <= kMaxIntervalDays,
              "interval_days", "must be 1 to " + std::to_string(kMaxIntervalDays));
  if (v.Check(create.notice_hours() >= 0 && create.notice_hours() <= kMaxNoticeHours,
              "notice_hours", "must be 0 (72) to " + std::to_string(kMaxNoticeHours)) &&
      interval_ok) {
    v.Check(NoticeHoursOf(create) < create.interval_days() * 24, "notice_hours",
            "must be shorter than the interval");
  }
  if (create.has_first_renewal_at()) {
    common::CheckTime(v, create.first_renewal_at(), "first_renewal_at");
  }
}

void CheckFirstRenewal(common::Validator& v,
                       const gateway::v1::CreateSubscriptionRequest& create, int64_t now_us) {
  if (!create.has_first_renewal_at()) return;
  const int64_t first = TimeUtil::TimestampToMicroseconds(create.first_renewal_at());
  v.Check(first > now_us && first <= now_us + create.interval_days() * kMicrosPerDay,
          "first_renewal_at", "must be in the future, at most one interval from now");
}

SubscriptionTerms StartTerms(const gateway::v1::CreateSubscriptionRequest& create,
                             int64_t now_us) {
  SubscriptionTerms terms;
  terms.customer_id = create.customer_id();
  terms.interval_days = create.interval_days();
  terms.notice_hours = NoticeHoursOf(create);
  terms.next_renewal_us = create.has_first_renewal_at()
                              ? TimeUtil::TimestampToMicroseconds(create.first_renewal_at())
                              : now_us + IntervalUs(terms);
  return terms;
}

int64_t NoticeStart(const SubscriptionTerms& terms) {
  return terms.next_renewal_us - terms.notice_hours * kMicrosPerHour;
}

int64_t NextAfterRenewal(const SubscriptionTerms& terms, int64_t now_us) {
  const int64_t notice = terms.notice_hours * kMicrosPerHour;
  int64_t next = terms.next_renewal_us + IntervalUs(terms);
  if (next - notice <= now_us) {
    next += ((now_us - (next - notice)) / IntervalUs(terms) + 1) * IntervalUs(terms);
  }
  return next;
}

void ApplyChange(SubscriptionTerms& terms, SubscriptionAction action, int64_t now_us) {
  using gateway::v1::SUBSCRIPTION_STATUS_ACTIVE;
  using gateway::v1::SUBSCRIPTION_STATUS_CANCELLED;
  using gateway::v1::SUBSCRIPTION_STATUS_PAUSED;
  if (action == gateway::v1::SUBSCRIPTION_ACTION_UNSPECIFIED ||
      !gateway::v1::SubscriptionAction_IsValid(action)) {
    throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT",
                   "action: is required: PAUSE, RESUME, SKIP or CANCEL",
                   {{"action", "is required: PAUSE, RESUME, SKIP or CANCEL"}});
  }
  if (terms.status == SUBSCRIPTION_STATUS_CANCELLED) {
    throw Refused("SUBSCRIPTION_CANCELLED", "the subscription is cancelled", "action");
  }
  switch (action) {
    case gateway::v1::SUBSCRIPTION_ACTION_PAUSE:
      if (terms.status != SUBSCRIPTION_STATUS_ACTIVE) {
        throw Refused("SUBSCRIPTION_NOT_ACTIVE", "only an active subscription pauses", "action");
      }
      terms.status = SUBSCRIPTION_STATUS_PAUSED;
      return;
    case gateway::v1::SUBSCRIPTION_ACTION_RESUME: {
      if (terms.status != SUBSCRIPTION_STATUS_PAUSED) {
        throw Refused("SUBSCRIPTION_NOT_PAUSED", "only a paused subscription resumes", "action");
      }
      terms.status = SUBSCRIPTION_STATUS_ACTIVE;
      // Renewals missed while paused are not owed: the next one is the first still ahead.
      if (terms.next_renewal_us <= now_us) {
        const int64_t behind = (now_us - terms.next_renewal_us) / IntervalUs(terms) + 1;
        terms.next_renewal_us += behind * IntervalUs(terms);
      }
      return;
    }
    case gateway::v1::SUBSCRIPTION_ACTION_SKIP:
      if (terms.status != SUBSCRIPTION_STATUS_ACTIVE) {
        throw Refused("SUBSCRIPTION_NOT_ACTIVE", "only an active subscription skips", "action");
      }
      terms.next_renewal_us += IntervalUs(terms);
      return;
    case gateway::v1::SUBSCRIPTION_ACTION_CANCEL:
      terms.status = SUBSCRIPTION_STATUS_CANCELLED;
      return;
    default:
      return;
  }
}

ApiError SubscriptionNotFound(const std::string& field) {
  return ApiError(grpc::StatusCode::NOT_FOUND, "SUBSCRIPTION_NOT_FOUND",
                  field + ": no such subscription for this customer",
                  {{field, "no such subscription for this customer"}});
}

void CheckRenewal(const SubscriptionTerms& terms, const std::string& customer_id, int64_t now_us) {
  const std::string field = "cart.subscription_id";
  if (terms.customer_id != customer_id) throw SubscriptionNotFound(field);
  if (terms.status != gateway::v1::SUBSCRIPTION_STATUS_ACTIVE) {
    throw Refused("SUBSCRIPTION_NOT_ACTIVE", "the subscription is paused or cancelled", field);
  }
  if (now_us < NoticeStart(terms)) {
    throw Refused("RENEWAL_NOT_DUE",
                  "the next renewal is due from " +
                      TimeUtil::ToString(TimeUtil::MicrosecondsToTimestamp(NoticeStart(terms))),
                  field);
  }
}

}  // namespace loyalty::checkout
