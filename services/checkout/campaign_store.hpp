// Every SQL statement of campaigns (docs/campaigns.md): definitions, saved segments and sends.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "loyalty/common/db.hpp"
#include "loyalty/gateway/v1/gateway_service.pb.h"

namespace loyalty::checkout {

// A customer a campaign run targets, and the period (a lapse, a month, a year) for which it
// reaches them at most once.
struct CampaignTarget {
  std::string customer_id;
  std::string period;
};

class CampaignStore {
 public:
  explicit CampaignStore(common::Database& db);

  // Writes the campaign's next version (its definition, author, reason and effective_from, unset:
  // the database's now) and fills in its version number, effective_from and created_at.
  void Put(pqxx::transaction_base& tx, const std::string& store_id,
           gateway::v1::Campaign& campaign) const;
  // The campaign's version in force now (the database's clock): the one with the latest
  // effective_from not after now (the later version of two alike).
  std::optional<gateway::v1::Campaign> InForce(pqxx::transaction_base& tx,
                                               const std::string& store_id,
                                               const std::string& campaign_id) const;
  // One version of the campaign; nullopt for no such version.
  std::optional<gateway::v1::Campaign> Version(pqxx::transaction_base& tx,
                                               const std::string& store_id,
                                               const std::string& campaign_id,
                                               int32_t version) const;
  // When the campaign's first version takes effect; nullopt for no such campaign.
  std::optional<int64_t> FirstEffective(pqxx::transaction_base& tx, const std::string& store_id,
                                        const std::string& campaign_id) const;
  // The store's campaigns by id (each as its version in force now, or its first version when
  // none is in force yet) and segments by id, at most `limit` of each.
  std::vector<gateway::v1::Campaign> ListCampaigns(pqxx::transaction_base& tx,
                                                   const std::string& store_id, int limit) const;
  // A campaign's versions in common/versions.hpp's columns: newest below `before`, at most
  // `limit`; and the versions `a` and `b`.
  pqxx::result ListVersions(pqxx::transaction_base& tx, const std::string& store_id,
                            const std::string& campaign_id, int32_t before, int32_t limit) const;
  pqxx::result Versions(pqxx::transaction_base& tx, const std::string& store_id,
                        const std::string& campaign_id, int32_t a, int32_t b) const;
  std::vector<gateway::v1::Segment> ListSegments(pqxx::transaction_base& tx,
                                                 const std::string& store_id, int limit) const;
  void PutSegment(pqxx::transaction_base& tx, const std::string& store_id,
                  const gateway::v1::Segment& segment) const;
  std::optional<gateway::v1::Segment> GetSegment(pqxx::transaction_base& tx,
                                                 const std::string& store_id,
                                                 const std::string& segment_id) const;
  // The (customer, period) pairs among `customer_ids`' sends of the campaign.
  std::set<std::pair<std::string, std::string>> Sent(
      pqxx::transaction_base& tx, const std::string& store_id, const std::string& campaign_id,
      const std::vector<std::string>& customer_ids) const;
  // Records, in one statement, that the campaign reached each target for its period, with its
  // code (codes[i] for targets[i]; empty: no codes); returns the targets it had not reached
  // before (a concurrent run's inserts are waited for, and its targets are not returned here),
  // with their codes.
  std::vector<std::pair<CampaignTarget, std::string>> SendMany(
      pqxx::transaction_base& tx, const std::string& store_id, const std::string& campaign_id,
      const std::vector<CampaignTarget>& targets, const std::vector<std::string>& codes) const;
  // The codes the sends issued, codes[i] to targets[i], in one statement.
  void SetCodes(pqxx::transaction_base& tx, const std::string& store_id,
                const std::string& campaign_id, const std::vector<CampaignTarget>& targets,
                const std::vector<std::string>& codes) const;
};

}  // namespace loyalty::checkout
