// API errors and the one mapping from exceptions (ours and the database's) to gRPC status.
// Every error a client sees carries google.rpc.ErrorInfo with an UPPER_SNAKE reason; bad fields
// also carry google.rpc.BadRequest naming them. SQL text never reaches a client.
#pragma once

#include <grpcpp/support/status.h>

#include <exception>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty::common {

inline constexpr const char* kErrorDomain = "loyalty";

struct FieldViolation {
  FieldViolation(std::string f, std::string d, std::string r = "")
      : field(std::move(f)), description(std::move(d)), reason(std::move(r)) {}
  std::string field;
  std::string description;
  std::string reason;  // the ErrorInfo reason when this is the first violation; empty: generic
};

class ApiError : public std::runtime_error {
 public:
  ApiError(grpc::StatusCode code, std::string reason, std::string message,
           std::vector<FieldViolation> fields = {});

  grpc::StatusCode code() const { return code_; }
  const std::string& reason() const { return reason_; }
  const std::vector<FieldViolation>& fields() const { return fields_; }
  // ErrorInfo metadata, e.g. service=points for a failure of the points service.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  ApiError& With(const std::string& key, const std::string& value);
  // Renames the fields it names (a downstream service's "points" is the caller's
  // "cart.points_to_redeem"); others stay.
  ApiError& RenameFields(const std::map<std::string, std::string>& names);
  grpc::Status ToStatus() const;

 private:
  grpc::StatusCode code_;
  std::string reason_;
  std::vector<FieldViolation> fields_;
  std::map<std::string, std::string> metadata_;
};

// INVALID_ARGUMENT, reason INVALID_ARGUMENT, naming one field.
ApiError InvalidField(const std::string& field, const std::string& description);

// Collects every bad field of a request, then throws one INVALID_ARGUMENT naming them all. The
// ErrorInfo reason is the first violation's own reason (e.g. AMOUNT_OUT_OF_RANGE), or
// INVALID_ARGUMENT when it has none.
class Validator {
 public:
  // Records a violation unless `ok`. Returns `ok` so callers can skip dependent checks.
  bool Check(bool ok, const std::string& field, const std::string& description,
             const std::string& reason = "");
  // An identifier (store id, request id, customer id...): required, 1-128 printable ASCII
  // characters without spaces.
  bool RequireId(const std::string& value, const std::string& field);
  // A UUID as Postgres prints it (lower-case hex, 8-4-4-4-12), e.g. an event id.
  bool RequireUuid(const std::string& value, const std::string& field);
  // A list filter of a report or segment (SKUs, categories): at most 100 values, each 1 to 128
  // characters; `field[i]` names a bad one.
  template <class Values>
  void CheckFilterValues(const Values& values, const std::string& field) {
    Check(values.size() <= 100, field, "at most 100 values");
    for (int i = 0; i < static_cast<int>(values.size()); ++i) {
      Check(!values[i].empty() && values[i].size() <= 128, field + "[" + std::to_string(i) + "]",
            "must be 1 to 128 characters");
    }
  }
  // A spend band in minor units (`prefix` + min_spend_minor, max_spend_minor): the minimum 0 or
  // more, the maximum 0 (no upper bound) or at least the minimum.
  void CheckSpendBand(int64_t min_minor, int64_t max_minor, const std::string& prefix = "");
  void ThrowIfInvalid() const;

 private:
  std::vector<FieldViolation> violations_;
};

// The one boundary from exceptions to status. Database errors map by SQLSTATE class:
// unique violation → ALREADY_EXISTS, check/foreign-key violation → FAILED_PRECONDITION,
// serialization failure/deadlock (after retries) → ABORTED, lost connection → UNAVAILABLE,
// statement timeout/cancel → DEADLINE_EXCEEDED; anything else → INTERNAL with a generic message.
grpc::Status StatusFromException(std::exception_ptr error);

// Reads the ErrorInfo reason out of a status (empty when there is none). For clients and tests.
std::string ErrorReason(const grpc::Status& status);
// Reads one ErrorInfo metadata value out of a status (empty when there is none).
std::string ErrorMetadata(const grpc::Status& status, const std::string& key);
// Reads the BadRequest field names out of a status.
std::vector<std::string> ErrorFields(const grpc::Status& status);
// Reads the BadRequest violations (field and description) out of a status.
std::vector<FieldViolation> ErrorViolations(const grpc::Status& status);

// Passes the failure of a call to another of our services (`service`: "points") on to our
// caller. An answer that service gave (it has an ErrorInfo reason) passes with its code, reason,
// message and fields, plus metadata service=<the service it came from>. A failure of the call
// itself (no reason: connection refused, deadline, cancelled) says only which service failed:
// UNAVAILABLE <SERVICE>_UNAVAILABLE, DEADLINE_EXCEEDED <SERVICE>_DEADLINE_EXCEEDED, or INTERNAL
// <SERVICE>_FAILED; gRPC's own message (addresses, library text) goes to the log, never to a client.
[[noreturn]] void ThrowDownstream(const grpc::Status& status, std::string_view service);
// The error ThrowDownstream throws.
ApiError DownstreamError(const grpc::Status& status, std::string_view service);

}  // namespace loyalty::common
