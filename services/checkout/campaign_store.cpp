#include "campaign_store.hpp"

#include <google/protobuf/util/time_util.h>

#include "loyalty/common/calendar.hpp"
#include "loyalty/common/sql_time.hpp"

namespace loyalty::checkout {

using google::protobuf::util::TimeUtil;

namespace {

// A campaign version's columns, in common/versions.hpp's order.
#define CAMPAIGN_VERSION_COLUMNS                                                           \
  "version, definition, " MICROS("effective_from") ", author, reason, " MICROS("created_at")

// A version row (CAMPAIGN_VERSION_COLUMNS from `first` on) into a Campaign.
void FillVersion(const pqxx::row& row, int first, gateway::v1::Campaign& campaign) {
  campaign.set_version(row[first].as<int32_t>());
  campaign.mutable_definition()->ParseFromString(pqxx::binarystring(row[first + 1]).str());
  *campaign.mutable_effective_from() =
      TimeUtil::MicrosecondsToTimestamp(row[first + 2].as<int64_t>());
  campaign.set_author(row[first + 3].as<std::string>());
  campaign.set_reason(row[first + 4].as<std::string>());
  *campaign.mutable_created_at() = TimeUtil::MicrosecondsToTimestamp(row[first + 5].as<int64_t>());
}

// The columns (definition, author, reason) from `first` on into a Segment.
void Fill(const pqxx::row& row, int first, gateway::v1::Segment& segment) {
  segment.mutable_definition()->ParseFromString(pqxx::binarystring(row[first]).str());
  segment.set_author(row[first + 1].as<std::string>());
  segment.set_reason(row[first + 2].as<std::string>());
}

}  // namespace

CampaignStore::CampaignStore(common::Database& db) {
  common::PrepareCalendar(db);  // a run reads the store's date
  // The head's row lock orders two puts of one campaign; the version is the head's count. The
  // head keeps the latest definition for the previous release's pods (V009). No effective_from
  // ($7 false): the database's now, the clock runs are compared with.
  db.Prepare("campaign_put",
             "WITH head AS (INSERT INTO checkout.campaigns AS c (store_id, campaign_id, "
             "  definition, author, reason) VALUES ($1, $2, $3, $4, $5) "
             "  ON CONFLICT (store_id, campaign_id) DO UPDATE SET version = c.version + 1, "
             "  definition = EXCLUDED.definition, author = EXCLUDED.author, "
             "  reason = EXCLUDED.reason, updated_at = now() RETURNING version) "
             "INSERT INTO checkout.campaign_versions (store_id, campaign_id, version, definition, "
             "author, reason, effective_from) "
             "SELECT $1, $2, version, $3, $4, $5, "
             "CASE WHEN $7::bool THEN " FROM_MICROS("$6") " ELSE now() END FROM head "
             "RETURNING version, " MICROS("effective_from") ", " MICROS("created_at"));
  // In force now: the database's clock, which wrote the default effective_from.
  db.Prepare("campaign_in_force",
             "SELECT " CAMPAIGN_VERSION_COLUMNS " FROM checkout.campaign_versions "
             "WHERE store_id = $1 AND campaign_id = $2 AND effective_from <= now() "
             "ORDER BY effective_from DESC, version DESC LIMIT 1");
  db.Prepare("campaign_first_effective",
             "SELECT " MICROS("min(effective_from)") " FROM checkout.campaign_versions "
             "WHERE store_id = $1 AND campaign_id = $2 HAVING count(*) > 0");
  // Each campaign's version in force now, else its earliest to come.
  db.Prepare("campaign_list",
             "SELECT DISTINCT ON (campaign_id) campaign_id, " CAMPAIGN_VERSION_COLUMNS
             " FROM checkout.campaign_versions WHERE store_id = $1 "
             "ORDER BY campaign_id, effective_from <= now() DESC, "
             "CASE WHEN effective_from <= now() THEN effective_from END DESC, "
             "effective_from, version DESC LIMIT $2");
  db.Prepare("campaign_versions_list",
             "SELECT " CAMPAIGN_VERSION_COLUMNS " FROM checkout.campaign_versions "
             "WHERE store_id = $1 AND campaign_id = $2 AND version < $3 "
             "ORDER BY version DESC LIMIT $4");
  db.Prepare("campaign_versions_pair",
             "SELECT " CAMPAIGN_VERSION_COLUMNS " FROM checkout.campaign_versions "
             "WHERE store_id = $1 AND campaign_id = $2 AND version IN ($3::int, $4::int)");
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
                        gateway::v1::Campaign& campaign) const {
  const std::string bytes = campaign.definition().SerializeAsString();
  const bool given = campaign.has_effective_from();
  const int64_t effective = given ? TimeUtil::TimestampToMicroseconds(campaign.effective_from()) : 0;
  const auto row = tx.exec_prepared1("campaign_put", store_id, campaign.campaign_id(),
                                     pqxx::binarystring(bytes), campaign.author(),
                                     campaign.reason(), effective, given);
  campaign.set_version(row[0].as<int32_t>());
  *campaign.mutable_effective_from() = TimeUtil::MicrosecondsToTimestamp(row[1].as<int64_t>());
  *campaign.mutable_created_at() = TimeUtil::MicrosecondsToTimestamp(row[2].as<int64_t>());
}

std::optional<gateway::v1::Campaign> CampaignStore::InForce(pqxx::transaction_base& tx,
                                                            const std::string& store_id,
                                                            const std::string& campaign_id) const {
  const auto r = tx.exec_prepared("campaign_in_force", store_id, campaign_id);
  if (r.empty()) return std::nullopt;
  gateway::v1::Campaign campaign;
  campaign.set_campaign_id(campaign_id);
  FillVersion(r[0], 0, campaign);
  return campaign;
}

std::optional<gateway::v1::Campaign> CampaignStore::Version(pqxx::transaction_base& tx,
                                                            const std::string& store_id,
                                                            const std::string& campaign_id,
                                                            int32_t version) const {
  const auto r = Versions(tx, store_id, campaign_id, version, version);
  if (r.empty()) return std::nullopt;
  gateway::v1::Campaign campaign;
  campaign.set_campaign_id(campaign_id);
  FillVersion(r[0], 0, campaign);
  return campaign;
}

std::optional<int64_t> CampaignStore::FirstEffective(pqxx::transaction_base& tx,
                                                     const std::string& store_id,
                                                     const std::string& campaign_id) const {
  const auto r = tx.exec_prepared("campaign_first_effective", store_id, campaign_id);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<int64_t>();
}

pqxx::result CampaignStore::ListVersions(pqxx::transaction_base& tx, const std::string& store_id,
                                         const std::string& campaign_id, int32_t before,
                                         int32_t limit) const {
  return tx.exec_prepared("campaign_versions_list", store_id, campaign_id, before, limit);
}

pqxx::result CampaignStore::Versions(pqxx::transaction_base& tx, const std::string& store_id,
                                     const std::string& campaign_id, int32_t a,
                                     int32_t b) const {
  return tx.exec_prepared("campaign_versions_pair", store_id, campaign_id, a, b);
}


std::vector<gateway::v1::Campaign> CampaignStore::ListCampaigns(pqxx::transaction_base& tx,
                                                                const std::string& store_id,
                                                                int limit) const {
  std::vector<gateway::v1::Campaign> out;
  for (const auto& row : tx.exec_prepared("campaign_list", store_id, limit)) {
    out.emplace_back().set_campaign_id(row[0].as<std::string>());
    FillVersion(row, 1, out.back());
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
