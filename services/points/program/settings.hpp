// The program settings in force, as every room reads them.
#pragma once

#include <absl/time/time.h>

#include <string>

#include "points_store.hpp"

namespace loyalty::points {

// The settings in force, or FAILED_PRECONDITION PROGRAM_NOT_CONFIGURED.
v1::Settings RequireSettings(const PointsStore& store, pqxx::transaction_base& tx,
                             const std::string& store_id);
// The settings in force; a store that never configured its program gets the defaults, written
// as version 1 (currency from `fallback_currency`, time zone UTC).
v1::Settings SettingsOrDefault(const PointsStore& store, pqxx::transaction_base& tx,
                               const std::string& store_id, const std::string& fallback_currency);

// The settings' time zone, or FAILED_PRECONDITION TIME_ZONE_UNKNOWN.
absl::TimeZone StoreZone(const v1::Settings& settings);

}  // namespace loyalty::points
