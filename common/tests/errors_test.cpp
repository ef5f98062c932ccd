#include "loyalty/common/errors.hpp"

#include <gtest/gtest.h>

#include <pqxx/except>

#include <tuple>

namespace loyalty::common {
namespace {

template <class E, class... Args>
grpc::Status Map(Args&&... args) {
  return StatusFromException(std::make_exception_ptr(E(std::forward<Args>(args)...)));
}

TEST(ErrorMapping, DatabaseErrorsBySqlState) {
  const std::string sql = "INSERT INTO secret_table VALUES ('x')";
  auto unique = Map<pqxx::unique_violation>("duplicate key", sql, "23505");
  EXPECT_EQ(unique.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  auto check = Map<pqxx::check_violation>("violates check", sql, "23514");
  EXPECT_EQ(check.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ErrorReason(check), "CONSTRAINT_VIOLATED");
  auto timeout = Map<pqxx::sql_error>("canceling statement due to statement timeout", sql, "57014");
  EXPECT_EQ(timeout.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  auto shutdown = Map<pqxx::sql_error>("terminating connection", sql, "57P01");
  EXPECT_EQ(shutdown.error_code(), grpc::StatusCode::UNAVAILABLE);
  auto lost = Map<pqxx::broken_connection>("server closed the connection");
  EXPECT_EQ(lost.error_code(), grpc::StatusCode::UNAVAILABLE);
  auto serialization = Map<pqxx::serialization_failure>("could not serialize");
  EXPECT_EQ(serialization.error_code(), grpc::StatusCode::ABORTED);
  auto deadlock = Map<pqxx::deadlock_detected>("deadlock detected");
  EXPECT_EQ(deadlock.error_code(), grpc::StatusCode::ABORTED);
  auto doubt = Map<pqxx::in_doubt_error>("commit outcome unknown");
  EXPECT_EQ(doubt.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ErrorReason(doubt), "OUTCOME_UNKNOWN");
  auto syntax = Map<pqxx::syntax_error>("syntax error at or near", sql, "42601");
  EXPECT_EQ(syntax.error_code(), grpc::StatusCode::INTERNAL);

  for (const auto& status : {unique, check, timeout, shutdown, lost, syntax}) {
    EXPECT_EQ(status.error_message().find("secret_table"), std::string::npos)
        << "SQL leaked: " << status.error_message();
    EXPECT_EQ(status.error_message().find("duplicate key"), std::string::npos);
    EXPECT_FALSE(ErrorReason(status).empty());
  }
}

TEST(ErrorMapping, ApiErrorKeepsReasonAndFields) {
  auto status = StatusFromException(std::make_exception_ptr(
      ApiError(grpc::StatusCode::ALREADY_EXISTS, "EMAIL_TAKEN", "email is taken")));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(status.error_message(), "email is taken");
  EXPECT_EQ(ErrorReason(status), "EMAIL_TAKEN");
  EXPECT_TRUE(ErrorFields(status).empty());
}

TEST(ErrorMapping, UnknownExceptionsAreInternalAndSayNothing) {
  auto status = StatusFromException(std::make_exception_ptr(std::runtime_error("pointer 0x1234")));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(status.error_message(), "internal error");
}

TEST(DownstreamError, AFailedCallNamesTheServiceAndNothingElse) {
  const grpc::Status refused(grpc::StatusCode::UNAVAILABLE,
                             "failed to connect to all addresses; last error: UNKNOWN: "
                             "ipv4:127.0.0.1:51054: Connection refused");
  const auto down = DownstreamError(refused, "points").ToStatus();
  EXPECT_EQ(down.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ErrorReason(down), "POINTS_UNAVAILABLE");
  EXPECT_EQ(ErrorMetadata(down, "service"), "points");
  EXPECT_EQ(down.error_message().find("127.0.0.1"), std::string::npos) << down.error_message();
  EXPECT_EQ(down.error_message().find("Connection"), std::string::npos) << down.error_message();

  // A service that went away mid-call is as retryable as one that was never reached.
  const auto gone = DownstreamError(grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled"), "orders");
  EXPECT_EQ(gone.code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(gone.reason(), "ORDERS_UNAVAILABLE");
  // No channel was made for it here, so it counts as connected: slow, not down.
  const auto slow = DownstreamError(
      grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded"), "recommendations");
  EXPECT_EQ(slow.code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(slow.reason(), "RECOMMENDATIONS_DEADLINE_EXCEEDED");
  const auto odd =
      DownstreamError(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "unknown method"), "orders");
  EXPECT_EQ(odd.code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(odd.reason(), "ORDERS_FAILED");
  EXPECT_EQ(std::string(odd.what()).find("unknown method"), std::string::npos);
}

TEST(DownstreamError, AnAnswerPassesWithItsFieldsAndTheServiceItCameFrom) {
  const auto answer =
      ApiError(grpc::StatusCode::INVALID_ARGUMENT, "AMOUNT_OUT_OF_RANGE", "too large",
               {{"cart.shipping_fee_minor", "too large"}})
          .ToStatus();
  const auto passed = DownstreamError(answer, "checkout").ToStatus();
  EXPECT_EQ(passed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorReason(passed), "AMOUNT_OUT_OF_RANGE");
  EXPECT_EQ(ErrorFields(passed), std::vector<std::string>{"cart.shipping_fee_minor"});
  EXPECT_EQ(ErrorMetadata(passed, "service"), "checkout");
  // Through a second hop the first service that failed stays named.
  const auto twice = DownstreamError(
      DownstreamError(grpc::Status(grpc::StatusCode::UNAVAILABLE, "refused"), "points").ToStatus(),
      "checkout");
  EXPECT_EQ(twice.reason(), "POINTS_UNAVAILABLE");
  EXPECT_EQ(twice.metadata().at("service"), "points");
}

TEST(Validator, NamesEveryBadField) {
  Validator v;
  EXPECT_TRUE(v.Check(true, "store_id", "is required"));
  EXPECT_FALSE(v.Check(false, "email", "is not an email address"));
  EXPECT_FALSE(v.Check(false, "birthday.month", "must be 1 to 12"));
  try {
    v.ThrowIfInvalid();
    FAIL() << "expected ApiError";
  } catch (const ApiError& e) {
    auto status = e.ToStatus();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(ErrorReason(status), "INVALID_ARGUMENT");
    EXPECT_EQ(ErrorFields(status), (std::vector<std::string>{"email", "birthday.month"}));
  }
  Validator ok;
  ok.Check(true, "x", "fine");
  EXPECT_NO_THROW(ok.ThrowIfInvalid());
}

// The fields a Validator named, from the error it throws (none: it does not throw).
std::vector<std::string> Named(const Validator& v) {
  try {
    v.ThrowIfInvalid();
  } catch (const ApiError& e) {
    return ErrorFields(e.ToStatus());
  }
  return {};
}

TEST(Validator, FilterValuesAreAtMost100Of1To128Characters) {
  Validator v;
  v.CheckFilterValues(std::vector<std::string>{"tea", "", std::string(129, 'x'),
                                               std::string(128, 'y')},
                      "audience.skus");
  EXPECT_EQ(Named(v), (std::vector<std::string>{"audience.skus[1]", "audience.skus[2]"}));
  Validator many;
  many.CheckFilterValues(std::vector<std::string>(101, "a"), "skus");
  EXPECT_EQ(Named(many), std::vector<std::string>{"skus"});
  Validator fine;
  fine.CheckFilterValues(std::vector<std::string>(100, "a"), "skus");
  EXPECT_TRUE(Named(fine).empty());
}

TEST(Validator, ASpendBandHasNoNegativeMinimumAndAMaximumOfZeroOrAtLeastTheMinimum) {
  for (const auto& [min, max, fields] :
       std::vector<std::tuple<int64_t, int64_t, std::vector<std::string>>>{
           {0, 0, {}},
           {5000, 0, {}},
           {0, 1, {}},
           {5000, 5000, {}},
           {-1, 0, {"a.min_spend_minor"}},
           {5000, 4999, {"a.max_spend_minor"}},
           {0, -1, {"a.max_spend_minor"}},
           {-2, -1, {"a.min_spend_minor", "a.max_spend_minor"}}}) {
    Validator v;
    v.CheckSpendBand(min, max, "a.");
    EXPECT_EQ(Named(v), fields) << min << " to " << max;
  }
}

}  // namespace
}  // namespace loyalty::common
