#include "loyalty/common/errors.hpp"

#include <pqxx/except>

#include <cctype>
#include <optional>
#include <regex>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "loyalty/common/channels.hpp"
#include "loyalty/common/log.hpp"

namespace loyalty::common {
namespace {

ApiError FromDatabase(grpc::StatusCode code, const char* reason, const char* message) {
  return ApiError(code, reason, message);
}

// SQLSTATE → API error, for sql_error subclasses that libpqxx does not type.
ApiError FromSqlState(const std::string& state) {
  if (state == "57014") {
    return FromDatabase(grpc::StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED",
                        "the operation ran out of time");
  }
  if (state.starts_with("08") || state.starts_with("57P") || state.starts_with("53")) {
    return FromDatabase(grpc::StatusCode::UNAVAILABLE, "DATABASE_UNAVAILABLE",
                        "the database is unavailable; retry");
  }
  if (state == "40001" || state == "40P01") {
    return FromDatabase(grpc::StatusCode::ABORTED, "CONCURRENT_UPDATE",
                        "a concurrent update conflicted; retry");
  }
  return FromDatabase(grpc::StatusCode::INTERNAL, "INTERNAL", "internal error");
}

ApiError Classify(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const ApiError& e) {
    return e;
  } catch (const pqxx::unique_violation&) {
    return FromDatabase(grpc::StatusCode::ALREADY_EXISTS, "ALREADY_EXISTS",
                        "the resource already exists");
  } catch (const pqxx::check_violation&) {
    return FromDatabase(grpc::StatusCode::FAILED_PRECONDITION, "CONSTRAINT_VIOLATED",
                        "the change would break a rule of the data");
  } catch (const pqxx::foreign_key_violation&) {
    return FromDatabase(grpc::StatusCode::FAILED_PRECONDITION, "CONSTRAINT_VIOLATED",
                        "the change refers to something that does not exist");
  } catch (const pqxx::sql_error& e) {
    auto mapped = FromSqlState(e.sqlstate());
    if (mapped.code() == grpc::StatusCode::INTERNAL) {
      // The client gets nothing of it; the operator gets all of it.
      log::Error("database error", {{"sqlstate", e.sqlstate()}, {"error", e.what()}});
    }
    return mapped;
  } catch (const pqxx::serialization_failure&) {
    return FromSqlState("40001");
  } catch (const pqxx::deadlock_detected&) {
    return FromSqlState("40P01");
  } catch (const pqxx::in_doubt_error&) {
    return FromDatabase(grpc::StatusCode::UNAVAILABLE, "OUTCOME_UNKNOWN",
                        "the database connection broke during commit; retry with the same key");
  } catch (const pqxx::broken_connection&) {
    return FromSqlState("08006");
  } catch (const std::exception& e) {
    log::Error("unexpected exception", {{"error", e.what()}});
    return FromDatabase(grpc::StatusCode::INTERNAL, "INTERNAL", "internal error");
  } catch (...) {
    return FromDatabase(grpc::StatusCode::INTERNAL, "INTERNAL", "internal error");
  }
}

}  // namespace

ApiError::ApiError(grpc::StatusCode code, std::string reason, std::string message,
                   std::vector<FieldViolation> fields)
    : std::runtime_error(std::move(message)),
      code_(code),
      reason_(std::move(reason)),
      fields_(std::move(fields)) {}

ApiError& ApiError::With(const std::string& key, const std::string& value) {
  metadata_[key] = value;
  return *this;
}

grpc::Status ApiError::ToStatus() const {
  google::rpc::Status status;
  status.set_code(static_cast<int>(code_));
  status.set_message(what());
  google::rpc::ErrorInfo info;
  info.set_reason(reason_);
  info.set_domain(kErrorDomain);
  for (const auto& [key, value] : metadata_) (*info.mutable_metadata())[key] = value;
  status.add_details()->PackFrom(info);
  if (!fields_.empty()) {
    google::rpc::BadRequest bad_request;
    for (const auto& field : fields_) {
      auto* violation = bad_request.add_field_violations();
      violation->set_field(field.field);
      violation->set_description(field.description);
    }
    status.add_details()->PackFrom(bad_request);
  }
  return grpc::Status(code_, what(), status.SerializeAsString());
}

ApiError& ApiError::RenameFields(const std::map<std::string, std::string>& names) {
  for (auto& field : fields_) {
    if (const auto it = names.find(field.field); it != names.end()) field.field = it->second;
  }
  return *this;
}

ApiError InvalidField(const std::string& field, const std::string& description) {
  return ApiError(grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT", field + ": " + description,
                  {{field, description}});
}

bool Validator::Check(bool ok, const std::string& field, const std::string& description,
                      const std::string& reason) {
  if (!ok) violations_.push_back({field, description, reason});
  return ok;
}

bool Validator::RequireId(const std::string& value, const std::string& field) {
  if (!Check(!value.empty(), field, "is required")) return false;
  bool printable = value.size() <= 128;
  for (unsigned char c : value) printable = printable && c > 0x20 && c < 0x7f;
  return Check(printable, field, "must be 1-128 printable ASCII characters without spaces");
}

bool Validator::RequireUuid(const std::string& value, const std::string& field) {
  static const std::regex kUuid("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  if (!Check(!value.empty(), field, "is required")) return false;
  return Check(std::regex_match(value, kUuid), field, "must be a lower-case UUID");
}

void Validator::CheckSpendBand(int64_t min_minor, int64_t max_minor, const std::string& prefix) {
  Check(min_minor >= 0, prefix + "min_spend_minor", "must be 0 or more");
  Check(max_minor == 0 || max_minor >= std::max<int64_t>(min_minor, 1), prefix + "max_spend_minor",
        "must be 0 (no upper bound) or at least min_spend_minor");
}

void Validator::ThrowIfInvalid() const {
  if (violations_.empty()) return;
  std::string message;
  for (const auto& v : violations_) {
    if (!message.empty()) message += "; ";
    message += v.field + ": " + v.description;
  }
  const std::string& first = violations_.front().reason;
  throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, first.empty() ? "INVALID_ARGUMENT" : first,
                 message, violations_);
}

grpc::Status StatusFromException(std::exception_ptr error) { return Classify(error).ToStatus(); }

namespace {
google::rpc::Status Details(const grpc::Status& status) {
  google::rpc::Status details;
  details.ParseFromString(status.error_details());
  return details;
}

std::optional<google::rpc::ErrorInfo> Info(const grpc::Status& status) {
  const auto details = Details(status);
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info;
  }
  return std::nullopt;
}
}  // namespace

std::string ErrorReason(const grpc::Status& status) {
  const auto info = Info(status);
  return info ? info->reason() : std::string();
}

std::string ErrorMetadata(const grpc::Status& status, const std::string& key) {
  const auto info = Info(status);
  if (!info) return {};
  auto it = info->metadata().find(key);
  return it == info->metadata().end() ? std::string() : it->second;
}

std::vector<FieldViolation> ErrorViolations(const grpc::Status& status) {
  std::vector<FieldViolation> violations;
  const auto details = Details(status);
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad_request;
    if (!any.UnpackTo(&bad_request)) continue;
    for (const auto& v : bad_request.field_violations()) {
      violations.emplace_back(v.field(), v.description());
    }
  }
  return violations;
}

std::vector<std::string> ErrorFields(const grpc::Status& status) {
  std::vector<std::string> fields;
  for (auto& v : ErrorViolations(status)) fields.push_back(std::move(v.field));
  return fields;
}

ApiError DownstreamError(const grpc::Status& status, std::string_view service) {
  const std::string name(service);
  if (const auto info = Info(status)) {
    ApiError passed(status.error_code(), info->reason(), status.error_message(),
                    ErrorViolations(status));
    for (const auto& [key, value] : info->metadata()) passed.With(key, value);
    // The service where it failed: kept when the answer already names one further down.
    if (!info->metadata().contains("service")) passed.With("service", name);
    return passed;
  }
  // One line per service and code per interval: an outage fails every call alike.
  log::WarnEvery("downstream " + name + " " + std::to_string(static_cast<int>(status.error_code())),
                 log::kRepeatInterval, "downstream call failed",
                 {{"service", name},
                  {"code", static_cast<int>(status.error_code())},
                  {"error", status.error_message()}});
  std::string prefix;
  for (char c : name) prefix += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const auto failed = [&](grpc::StatusCode code, const char* suffix, const std::string& message) {
    return ApiError(code, prefix + suffix, "the " + name + " service " + message)
        .With("service", name);
  };
  switch (status.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      if (ServiceConnected(name)) {
        return failed(grpc::StatusCode::DEADLINE_EXCEEDED, "_DEADLINE_EXCEEDED",
                      "did not answer in time");
      }
      // Out of time waiting for a service that is not connected: it is down, not slow.
      [[fallthrough]];
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:  // the service went away mid-call: retryable as well
      return failed(grpc::StatusCode::UNAVAILABLE, "_UNAVAILABLE",
                    "is unavailable; retry with backoff");
    default:
      return failed(grpc::StatusCode::INTERNAL, "_FAILED", "failed");
  }
}

void ThrowDownstream(const grpc::Status& status, std::string_view service) {
  throw DownstreamError(status, service);
}

}  // namespace loyalty::common
