#include "program/settings.hpp"

#include "earn_rules.hpp"
#include "loyalty/common/errors.hpp"

namespace loyalty::points {

v1::Settings RequireSettings(const PointsStore& store, pqxx::transaction_base& tx,
                             const std::string& store_id) {
  auto settings = store.Settings(tx, store_id);
  if (!settings) {
    throw common::ApiError(grpc::StatusCode::FAILED_PRECONDITION, "PROGRAM_NOT_CONFIGURED",
                           "the store has no points settings yet; UpdateSettings first");
  }
  return *settings;
}

v1::Settings SettingsOrDefault(const PointsStore& store, pqxx::transaction_base& tx,
                               const std::string& store_id, const std::string& fallback_currency) {
  if (auto settings = store.Settings(tx, store_id)) return *settings;
  return store.InsertSettings(tx, store_id, DefaultSettings(fallback_currency, "UTC"), {});
}

absl::TimeZone StoreZone(const v1::Settings& settings) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(settings.time_zone(), &zone)) {
    throw common::ApiError(grpc::StatusCode::FAILED_PRECONDITION, "TIME_ZONE_UNKNOWN",
                           "the store's time zone is not known to the points service");
  }
  return zone;
}

}  // namespace loyalty::points
