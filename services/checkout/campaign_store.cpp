#include "campaign_store.hpp"

#include "loyalty/common/calendar.hpp"

namespace loyalty::checkout {
namespace {

// The columns (definition, author, reason) from `first` on into a Campaign or a Segment.
template <typename Named>
void Fill(const pqxx::row& row, int first, Named& named) {
  named.mutable_definition()->ParseFromString(pqxx::binarystring(row[first]).str());
  named.set_author(row[first + 1].template as<std::string>());
  named.set_reason(row[first + 2].template as<std::string>());
}

}  // namespace

CampaignStore::CampaignStore(common::Database& db) {
  common::PrepareCalendar(db);  // a run reads the store's date
  db.Prepare("campaign_put",
             "INSERT INTO checkout.campaigns (store_id, campaign_id, definition, author, reason) "
             "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (store_id, campaign_id) DO UPDATE SET "
             "definition = EXCLUDED.definition, author = EXCLUDED.author, "
             "reason = EXCLUDED.reason, updated_at = now()");
  db.Prepare("campaign_get",
             "SELECT definition, author, reason FROM checkout.campaigns "
             "WHERE store_id = $1 AND campaign_id = $2");
  // The ids travel as one space-separated parameter (an id has no space).
  db.Prepare("campaign_list",
             "SELECT campaign_id, definition, author, reason FROM checkout.campaigns "
             "WHERE store_id = $1 ORDER BY campaign_id LIMIT $2");
  db.Prepare("segment_list",
             "SELECT segment_id, definition, author, reason FROM checkout.segments "
             "WHERE store_id = $1 ORDER BY segment_id LIMIT $2");
  db.Prepare("segment_put",
             "INSERT INTO checkout.segments (store_id, segment_id, definition, author, reason) "
             "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (store_id, segment_id) DO UPDATE SET "
             "definition = EXCLUDED.definition, author = EXCLUDED.author, "
             "reason = EXCLUDED.reason, updated_at = now()");
  db.Prepare("segment_get",
             "SELECT definition, author, reason FROM checkout.segments "
             "WHERE store_id = $1 AND segment_id = $2");
  db.Prepare("campaign_sent",
             "SELECT customer_id, period FROM checkout.campaign_sends "
             "WHERE store_id = $1 AND campaign_id = $2 "
             "AND customer_id = ANY(string_to_array($3, ' '))");
  db.Prepare("campaign_send_many",
             "INSERT INTO checkout.campaign_sends (store_id, campaign_id, customer_id, period, code) "
             "SELECT $1, $2, c, p, coalesce(k, '') FROM unnest(string_to_array($3, ' '), "
             "string_to_array($4, ' '), string_to_array($5, ' ')) AS t(c, p, k) "
             "ON CONFLICT DO NOTHING RETURNING customer_id, period, code");
  db.Prepare("campaign_set_codes",
             "UPDATE checkout.campaign_sends s SET code = t.code "
             "FROM unnest(string_to_array($3, ' '), string_to_array($4, ' '), "
             "            string_to_array($5, ' ')) AS t(customer_id, period, code) "
             "WHERE s.store_id = $1 AND s.campaign_id = $2 AND s.customer_id = t.customer_id "
             "AND s.period = t.period");
}

void CampaignStore::Put(pqxx::transaction_base& tx, const std::string& store_id,
                        const gateway::v1::Campaign& campaign) const {
  const std::string bytes = campaign.definition().SerializeAsString();
  tx.exec_prepared("campaign_put", store_id, campaign.campaign_id(), pqxx::binarystring(bytes),
                   campaign.author(), campaign.reason());
}

std::optional<gateway::v1::Campaign> CampaignStore::Get(pqxx::transaction_base& tx,
                                                        const std::string& store_id,
                                                        const std::string& campaign_id) const {
  const auto r = tx.exec_prepared("campaign_get", store_id, campaign_id);
  if (r.empty()) return std::nullopt;
  gateway::v1::Campaign campaign;
  campaign.set_campaign_id(campaign_id);
  Fill(r[0], 0, campaign);
  return campaign;
}


std::vector<gateway::v1::Campaign> CampaignStore::ListCampaigns(pqxx::transaction_base& tx,
                                                                const std::string& store_id,
                                                                int limit) const {
  std::vector<gateway::v1::Campaign> out;
  for (const auto& row : tx.exec_prepared("campaign_list", store_id, limit)) {
    out.emplace_back().set_campaign_id(row[0].as<std::string>());
    Fill(row, 1, out.back());
  }
  return out;
}

std::vector<gateway::v1::Segment> CampaignStore::ListSegments(pqxx::transaction_base& tx,
                                                              const std::string& store_id,
                                                              int limit) const {
  std::vector<gateway::v1::Segment> out;
  for (const auto& row : tx.exec_prepared("segment_list", store_id, limit)) {
    out.emplace_back().set_segment_id(row[0].as<std::string>());
    Fill(row, 1, out.back());
  }
  return out;
}

void CampaignStore::PutSegment(pqxx::transaction_base& tx, const std::string& store_id,
                               const gateway::v1::Segment& segment) const {
  const std::string bytes = segment.definition().SerializeAsString();
  tx.exec_prepared("segment_put", store_id, segment.segment_id(), pqxx::binarystring(bytes),
                   segment.author(), segment.reason());
}

std::optional<gateway::v1::Segment> CampaignStore::GetSegment(
    pqxx::transaction_base& tx, const std::string& store_id, const std::string& segment_id) const {
  const auto r = tx.exec_prepared("segment_get", store_id, segment_id);
  if (r.empty()) return std::nullopt;
  gateway::v1::Segment segment;
  segment.set_segment_id(segment_id);
  Fill(r[0], 0, segment);
  return segment;
}

std::set<std::pair<std::string, std::string>> CampaignStore::Sent(
    pqxx::transaction_base& tx, const std::string& store_id, const std::string& campaign_id,
    const std::vector<std::string>& customer_ids) const {
  const std::string joined = common::SpaceSeparated(customer_ids);
  std::set<std::pair<std::string, std::string>> sent;
  for (const auto& row : tx.exec_prepared("campaign_sent", store_id, campaign_id, joined)) {
    sent.emplace(row[0].as<std::string>(), row[1].as<std::string>());
  }
  return sent;
}

namespace {
std::pair<std::string, std::string> Columns(const std::vector<CampaignTarget>& targets) {
  std::vector<std::string> customers, periods;
  for (const auto& t : targets) {
    customers.push_back(t.customer_id);
    periods.push_back(t.period);
  }
  return {common::SpaceSeparated(customers), common::SpaceSeparated(periods)};
}
}  // namespace

std::vector<std::pair<CampaignTarget, std::string>> CampaignStore::SendMany(
    pqxx::transaction_base& tx, const std::string& store_id, const std::string& campaign_id,
    const std::vector<CampaignTarget>& targets, const std::vector<std::string>& codes) const {
  const auto [customers, periods] = Columns(targets);
  std::vector<std::pair<CampaignTarget, std::string>> fresh;
  for (const auto& row : tx.exec_prepared("campaign_send_many", store_id, campaign_id, customers,
                                          periods, common::SpaceSeparated(codes))) {
    fresh.push_back({{row[0].as<std::string>(), row[1].as<std::string>()},
                     row[2].as<std::string>()});
  }
  return fresh;
}

void CampaignStore::SetCodes(pqxx::transaction_base& tx, const std::string& store_id,
                             const std::string& campaign_id,
                             const std::vector<CampaignTarget>& targets,
                             const std::vector<std::string>& codes) const {
  const auto [customers, periods] = Columns(targets);
  tx.exec_prepared("campaign_set_codes", store_id, campaign_id, customers, periods,
                   common::SpaceSeparated(codes));
}

}  // namespace loyalty::checkout
