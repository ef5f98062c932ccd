// Every SQL statement of subscriptions (docs/subscriptions.md): the subscriptions, their renewal
// orders, the announcement job's claim and the report.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "loyalty/common/db.hpp"
#include "loyalty/gateway/v1/gateway_service.pb.h"
#include "subscription_rules.hpp"

namespace loyalty::checkout {

struct SubscriptionRow {
  std::string store_id;
  std::string subscription_id;
  SubscriptionTerms terms;
  gateway::v1::Subscription lines;  // only its lines
  int64_t renewals = 0;
  std::string last_order_id;
  int64_t started_us = 0;
  int64_t cancelled_us = 0;  // 0: not cancelled
  int64_t event_sequence = 0;
};

// The row as the API shows it.
gateway::v1::Subscription ToApi(const SubscriptionRow& row);

class SubscriptionStore {
 public:
  explicit SubscriptionStore(common::Database& db);

  // False when the store already has this subscription id.
  bool Insert(pqxx::transaction_base& tx, const SubscriptionRow& row) const;
  std::optional<SubscriptionRow> Find(pqxx::transaction_base& tx, const std::string& store_id,
                                      const std::string& subscription_id, bool lock) const;
  // Writes the terms (status, next renewal, its announcement) and, the first time it is
  // cancelled, row.cancelled_us.
  void SaveTerms(pqxx::transaction_base& tx, const SubscriptionRow& row) const;
  // A started checkout is placing the renewal at `renewal_us` (checkout_store.hpp, SetRenewal).
  bool RenewalInProgress(pqxx::transaction_base& tx, const std::string& store_id,
                         const std::string& subscription_id, int64_t renewal_us) const;
  std::vector<SubscriptionRow> OfCustomer(pqxx::transaction_base& tx, const std::string& store_id,
                                          const std::string& customer_id, int limit) const;
  // Records the renewal order `order_id` of the renewal at `renewal_us`; false when the order,
  // or another order of that renewal, was recorded before.
  bool InsertRenewal(pqxx::transaction_base& tx, const std::string& store_id,
                     const std::string& subscription_id, const std::string& order_id,
                     int64_t renewal_us, int64_t bonus_points) const;
  // The subscription was renewed by `order_id`: its next renewal is row.terms.next_renewal_us
  // (announced again when its notice begins).
  void SaveRenewed(pqxx::transaction_base& tx, const SubscriptionRow& row,
                   const std::string& order_id) const;
  // Marks up to `limit` announcements due at `as_of_us` (one store, or every store: "") as made
  // and answers their subscriptions with the event sequence to write, in one statement; rows
  // another runner holds are skipped.
  std::vector<SubscriptionRow> ClaimDueAnnouncements(pqxx::transaction_base& tx,
                                                     const std::string& store_id, int64_t as_of_us,
                                                     int limit) const;
  gateway::v1::SubscriptionReportResponse Report(pqxx::transaction_base& tx,
                                                 const std::string& store_id, int64_t from_us,
                                                 int64_t to_us) const;
};

}  // namespace loyalty::checkout
