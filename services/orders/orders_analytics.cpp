// The analytics RPCs of OrdersService: validate, then one read through AnalyticsStore. Definitions
// of every figure: protos/loyalty/orders/v1/analytics.proto.
#include <google/protobuf/util/time_util.h>

#include <charconv>
#include <chrono>
#include <optional>

#include "loyalty/common/page_token.hpp"
#include "loyalty/common/time.hpp"
#include "orders_service.hpp"

namespace loyalty::orders {

using common::CallContext;
using common::Validator;
using google::protobuf::util::TimeUtil;
namespace page_token = common::page_token;

namespace {

constexpr int kMaxDays = 3660;
constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr int64_t kMaxTopLimit = 1000000;

// "YYYY-MM-DD", a real calendar day of years 1-9999.
std::optional<std::chrono::sys_days> ParseDate(const std::string& text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int parts[3];
  const std::pair<size_t, size_t> spans[3] = {{0, 4}, {5, 2}, {8, 2}};
  for (int i = 0; i < 3; ++i) {
    const char* begin = text.data() + spans[i].first;
    const char* end = begin + spans[i].second;
    for (const char* c = begin; c != end; ++c) {
      if (*c < '0' || *c > '9') return std::nullopt;
    }
    std::from_chars(begin, end, parts[i]);
  }
  const std::chrono::year_month_day day{std::chrono::year(parts[0]),
                                        std::chrono::month(static_cast<unsigned>(parts[1])),
                                        std::chrono::day(static_cast<unsigned>(parts[2]))};
  if (parts[0] < 1 || !day.ok()) return std::nullopt;
  return std::chrono::sys_days(day);
}

// An IANA name's shape (the database decides whether it exists): letters, digits, / _ + -.
bool LooksLikeZone(const std::string& zone) {
  if (zone.empty() || zone.size() > 64) return false;
  for (char c : zone) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '/' || c == '_' || c == '+' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void CheckTimeZone(Validator& v, const std::string& zone) {
  v.Check(LooksLikeZone(zone), "time_zone", "must be an IANA time zone name, e.g. Europe/Paris");
}

LocalPeriod CheckPeriod(Validator& v, bool present, const v1::DateRange& range,
                        const std::string& time_zone) {
  LocalPeriod period{range.start_date(), range.end_date(), time_zone};
  if (!v.Check(present, "period", "is required")) return period;
  const auto start = ParseDate(range.start_date());
  const auto end = ParseDate(range.end_date());
  v.Check(start.has_value(), "period.start_date", "must be a date YYYY-MM-DD");
  v.Check(end.has_value(), "period.end_date", "must be a date YYYY-MM-DD");
  if (start && end) {
    v.Check(*end > *start, "period.end_date", "must be after period.start_date");
    v.Check((*end - *start).count() <= kMaxDays, "period.end_date",
            "the period can be at most 3660 days long");
  }
  return period;
}

int CheckPageSize(Validator& v, int32_t page_size, bool zero_means_none = false) {
  v.Check(page_size >= 0 && page_size <= kMaxPageSize, "page_size", "must be 0 to 1000");
  if (page_size == 0) return zero_means_none ? 0 : kDefaultPageSize;
  return page_size;
}

// A cursor of the report's page token (common/page_token.hpp), or a violation of page_token.
std::string CheckToken(Validator& v, const std::string& report, const std::string& token) {
  auto cursor = page_token::Decode(report, token);
  v.Check(cursor.has_value(), "page_token", "is not a page token of this report");
  return cursor.value_or("");
}

// Microseconds since the epoch of `as_of`, or of now when unset.
int64_t CheckAsOf(Validator& v, bool present, const google::protobuf::Timestamp& as_of) {
  if (!present) {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  if (!common::CheckTime(v, as_of, "as_of")) return 0;
  return TimeUtil::TimestampToMicroseconds(as_of);
}

// Checks that the database knows the zone, and maps PostgreSQL's "time zone not recognized"
// (22023) to the field in case the zone list and AT TIME ZONE disagree.
template <class Fn>
auto WithTimeZone(const AnalyticsStore& store, pqxx::transaction_base& tx,
                  const std::string& time_zone, Fn&& fn) {
  if (!store.TimeZoneKnown(tx, time_zone)) {
    throw common::InvalidField("time_zone", "is not a time zone the database knows");
  }
  try {
    ReportSettings settings(tx);
    return fn();
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == "22023") {
      throw common::InvalidField("time_zone", "is not a time zone the database knows");
    }
    throw;
  }
}

}  // namespace

grpc::ServerUnaryReactor* OrdersService::RetentionReport(grpc::CallbackServerContext* context,
                                                         const v1::RetentionReportRequest* request,
                                                         v1::RetentionReportResponse* response) {
  return host_.Serve(context, "RetentionReport", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    CheckTimeZone(v, request->time_zone());
    const auto period =
        CheckPeriod(v, request->has_period(), request->period(), request->time_zone());
    v.Check(request->activity_window_days() >= 1 && request->activity_window_days() <= kMaxDays,
            "activity_window_days", "must be 1 to 3660");
    v.ThrowIfInvalid();
    *response = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return WithTimeZone(analytics_, tx, period.time_zone, [&] {
        return analytics_.Retention(tx, request->store_id(), period,
                                    request->activity_window_days());
      });
    });
  });
}

grpc::ServerUnaryReactor* OrdersService::RepeatCustomerRevenue(
    grpc::CallbackServerContext* context, const v1::RepeatCustomerRevenueRequest* request,
    v1::RepeatCustomerRevenueResponse* response) {
  return host_.Serve(context, "RepeatCustomerRevenue", request->store_id(),
                     [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    CheckTimeZone(v, request->time_zone());
    const auto period =
        CheckPeriod(v, request->has_period(), request->period(), request->time_zone());
    v.ThrowIfInvalid();
    *response = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return WithTimeZone(analytics_, tx, period.time_zone, [&] {
        return analytics_.RepeatRevenue(tx, request->store_id(), period);
      });
    });
  });
}

grpc::ServerUnaryReactor* OrdersService::RevenueConcentration(
    grpc::CallbackServerContext* context, const v1::RevenueConcentrationRequest* request,
    v1::RevenueConcentrationResponse* response) {
  return host_.Serve(context, "RevenueConcentration", request->store_id(),
                     [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    CheckTimeZone(v, request->time_zone());
    const auto period =
        CheckPeriod(v, request->has_period(), request->period(), request->time_zone());
    v.Check(request->top_percent() >= 1 && request->top_percent() <= 100, "top_percent",
            "must be 1 to 100");
    v.ThrowIfInvalid();
    *response = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return WithTimeZone(analytics_, tx, period.time_zone, [&] {
        return analytics_.Concentration(tx, request->store_id(), period, request->top_percent());
      });
    });
  });
}

grpc::ServerUnaryReactor* OrdersService::TopCustomers(grpc::CallbackServerContext* context,
                                                      const v1::TopCustomersRequest* request,
                                                      v1::TopCustomersResponse* response) {
  return host_.Serve(context, "TopCustomers", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    CheckTimeZone(v, request->time_zone());
    const auto period =
        CheckPeriod(v, request->has_period(), request->period(), request->time_zone());
    switch (request->size_case()) {
      case v1::TopCustomersRequest::kTopPercent:
        v.Check(request->top_percent() >= 1 && request->top_percent() <= 100, "top_percent",
                "must be 1 to 100");
        break;
      case v1::TopCustomersRequest::kLimit:
        v.Check(request->limit() >= 1 && request->limit() <= kMaxTopLimit, "limit",
                "must be 1 to 1000000");
        break;
      default:
        v.Check(false, "top_percent", "top_percent or limit is required");
    }
    const int page_size = CheckPageSize(v, request->page_size());
    const auto cursor = CheckToken(v, "top", request->page_token());
    const auto after_rank =
        cursor.empty() ? std::optional<int64_t>(0) : page_token::ParseInt(cursor);
    v.Check(after_rank.has_value() && *after_rank >= 0, "page_token",
            "is not a page token of this report");
    v.ThrowIfInvalid();
    const bool by_percent = request->size_case() == v1::TopCustomersRequest::kTopPercent;
    *response = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return WithTimeZone(analytics_, tx, period.time_zone, [&] {
        return analytics_.Top(tx, request->store_id(), period,
                              by_percent ? request->top_percent() : 0,
                              by_percent ? 0 : request->limit(), *after_rank, page_size);
      });
    });
    response->set_next_page_token(page_token::Encode("top", response->next_page_token()));
  });
}

grpc::ServerUnaryReactor* OrdersService::LapsedCustomers(grpc::CallbackServerContext* context,
                                                         const v1::LapsedCustomersRequest* request,
                                                         v1::LapsedCustomersResponse* response) {
  return host_.Serve(context, "LapsedCustomers", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    const int64_t as_of = CheckAsOf(v, request->has_as_of(), request->as_of());
    v.Check(request->days() >= 1 && request->days() <= kMaxDays, "days", "must be 1 to 3660");
    const int page_size = CheckPageSize(v, request->page_size());
    // Cursor: "<last order µs> <customer id>".
    const auto cursor = CheckToken(v, "lapsed", request->page_token());
    int64_t after_micros = INT64_MIN;
    std::string after_id;
    if (!cursor.empty()) {
      const auto after = page_token::ParseTimeId(cursor, ' ');
      if (v.Check(after.has_value(), "page_token", "is not a page token of this report")) {
        after_micros = after->micros;
        after_id = after->id;
      }
    }
    v.ThrowIfInvalid();
    *response = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      ReportSettings settings(tx);
      return analytics_.Lapsed(tx, request->store_id(), as_of, request->days(), after_micros,
                               after_id, page_size);
    });
    *response->mutable_as_of() = TimeUtil::MicrosecondsToTimestamp(as_of);
    response->set_next_page_token(page_token::Encode("lapsed", response->next_page_token()));
  });
}

grpc::ServerUnaryReactor* OrdersService::CustomerValue(grpc::CallbackServerContext* context,
                                                       const v1::CustomerValueRequest* request,
                                                       v1::CustomerValueResponse* response) {
  return host_.Serve(context, "CustomerValue", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    CheckTimeZone(v, request->time_zone());
    const auto period =
        CheckPeriod(v, request->has_period(), request->period(), request->time_zone());
    v.ThrowIfInvalid();
    *response = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return WithTimeZone(analytics_, tx, period.time_zone,
                          [&] { return analytics_.Value(tx, request->store_id(), period); });
    });
  });
}

grpc::ServerUnaryReactor* OrdersService::SegmentCustomers(
    grpc::CallbackServerContext* context, const v1::SegmentCustomersRequest* request,
    v1::SegmentCustomersResponse* response) {
  return host_.Serve(context, "SegmentCustomers", request->store_id(),
                     [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    CheckTimeZone(v, request->time_zone());
    const auto period =
        CheckPeriod(v, request->has_period(), request->period(), request->time_zone());
    v.CheckFilterValues(request->skus(), "skus");
    v.CheckFilterValues(request->categories(), "categories");
    v.Check(v1::DiscountUse_IsValid(request->discount_use()), "discount_use",
            "must be a DiscountUse value");
    v.CheckSpendBand(request->min_spend_minor(), request->max_spend_minor());
    const SpendBand spend{request->min_spend_minor(), request->max_spend_minor()};
    const int page_size = CheckPageSize(v, request->page_size());
    const auto after_id = CheckToken(v, "segment", request->page_token());
    v.ThrowIfInvalid();
    const std::vector<std::string> skus(request->skus().begin(), request->skus().end());
    const std::vector<std::string> categories(request->categories().begin(),
                                              request->categories().end());
    *response = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return WithTimeZone(analytics_, tx, period.time_zone, [&] {
        return analytics_.Segment(tx, request->store_id(), period, skus, categories,
                                  request->discount_use(), spend, after_id, page_size);
      });
    });
    response->set_next_page_token(page_token::Encode("segment", response->next_page_token()));
  });
}

grpc::ServerUnaryReactor* OrdersService::RfmReport(grpc::CallbackServerContext* context,
                                                   const v1::RfmReportRequest* request,
                                                   v1::RfmReportResponse* response) {
  return host_.Serve(context, "RfmReport", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    const int64_t as_of = CheckAsOf(v, request->has_as_of(), request->as_of());
    const int page_size = CheckPageSize(v, request->page_size(), /*zero_means_none=*/true);
    v.Check(v1::RfmSegment_IsValid(request->segment()), "segment", "must be an RfmSegment value");
    const auto after_id = CheckToken(v, "rfm", request->page_token());
    v.ThrowIfInvalid();
    *response = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      ReportSettings settings(tx);
      return analytics_.Rfm(tx, request->store_id(), as_of, request->segment(), after_id,
                            page_size);
    });
    *response->mutable_as_of() = TimeUtil::MicrosecondsToTimestamp(as_of);
    response->set_next_page_token(page_token::Encode("rfm", response->next_page_token()));
  });
}

}  // namespace loyalty::orders
