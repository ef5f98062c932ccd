// Subscriptions' rules, with no I/O (docs/subscriptions.md): what a create must hold, what each
// change does to a subscription, and when an order may renew it. Times are microseconds since
// the epoch; unit-tested in tests/subscription_rules_test.cpp.
#pragma once

#include <cstdint>
#include <string>

#include "loyalty/common/errors.hpp"
#include "loyalty/gateway/v1/gateway_service.pb.h"

namespace loyalty::checkout {

inline constexpr int kMaxSubscriptionLines = 50;
inline constexpr int kMaxIntervalDays = 365;
inline constexpr int kMaxNoticeHours = 720;
inline constexpr int kDefaultNoticeHours = 72;
inline constexpr int64_t kMicrosPerHour = 3'600'000'000;

// What the rules read and change of a subscription.
struct SubscriptionTerms {
  std::string customer_id;
  gateway::v1::SubscriptionStatus status = gateway::v1::SUBSCRIPTION_STATUS_ACTIVE;
  int32_t interval_days = 0;
  int32_t notice_hours = 0;
  int64_t next_renewal_us = 0;
};

// The checks of a create, naming each bad field of the public request. The notice must be
// shorter than the interval, so a renewal's notice never begins before the previous renewal.
void CheckCreate(common::Validator& v, const gateway::v1::CreateSubscriptionRequest& create);
// The check of its first renewal against the time of the create (`now_us`): in the future, at
// most one interval ahead. Apart, so that a retry answered from the first create's record is
// not refused once that time has passed.
void CheckFirstRenewal(common::Validator& v,
                       const gateway::v1::CreateSubscriptionRequest& create, int64_t now_us);

// The notice a create asks for: notice_hours, or when 0 the default (72 hours, at most half
// the interval).
int32_t NoticeHoursOf(const gateway::v1::CreateSubscriptionRequest& create);

// The terms a valid create starts with at `now_us` (no first renewal: one interval from now).
SubscriptionTerms StartTerms(const gateway::v1::CreateSubscriptionRequest& create, int64_t now_us);

// When a renewal's notice begins: its subscription.renewal_due event goes then, and a renewal
// order is accepted from then on.
int64_t NoticeStart(const SubscriptionTerms& terms);

// Applies a change at `now_us`. FAILED_PRECONDITION naming `action` when the subscription's state
// does not allow it (SUBSCRIPTION_CANCELLED, SUBSCRIPTION_NOT_PAUSED, SUBSCRIPTION_NOT_ACTIVE);
// INVALID_ARGUMENT for an unknown action.
void ApplyChange(SubscriptionTerms& terms, gateway::v1::SubscriptionAction action, int64_t now_us);

// The next renewal once an order renewed the one at `terms.next_renewal_us` at `now_us`: the
// first on the subscription's rhythm whose notice begins after now, so that a late renewal
// catches up without owing the renewals it missed, and no second renewal is due at once.
int64_t NextAfterRenewal(const SubscriptionTerms& terms, int64_t now_us);

// May an order of `customer_id` at `now_us` renew this subscription? NOT_FOUND
// SUBSCRIPTION_NOT_FOUND when it is another customer's (as if it did not exist), else
// FAILED_PRECONDITION SUBSCRIPTION_NOT_ACTIVE or RENEWAL_NOT_DUE, each naming
// cart.subscription_id. QuoteCart and PlaceOrder both ask here.
void CheckRenewal(const SubscriptionTerms& terms, const std::string& customer_id, int64_t now_us);

// NOT_FOUND SUBSCRIPTION_NOT_FOUND naming `field`.
common::ApiError SubscriptionNotFound(const std::string& field);

}  // namespace loyalty::checkout
