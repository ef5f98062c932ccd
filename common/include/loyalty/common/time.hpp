// The server's clock. Protobuf 3.21's TimeUtil::GetCurrentTime() has whole-second resolution
// (its nanos are 0 on Debian's build), which ties timestamps that must be ordered; read the time
// here instead.
#pragma once

#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "loyalty/common/errors.hpp"

namespace loyalty::common {

inline int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A time that TimeUtil converts without overflow and Postgres stores: years 1-9999. Every
// Timestamp a request carries is checked with it.
inline bool StorableTime(const google::protobuf::Timestamp& t) {
  using google::protobuf::util::TimeUtil;
  return t.seconds() >= TimeUtil::kTimestampMinSeconds &&
         t.seconds() <= TimeUtil::kTimestampMaxSeconds && t.nanos() >= 0 &&
         t.nanos() <= 999'999'999;
}
// A request's time: `field` is named unless it is one StorableTime accepts. Returns whether it is.
inline bool CheckTime(Validator& v, const google::protobuf::Timestamp& t, const std::string& field) {
  return v.Check(StorableTime(t), field, "must be a time in years 1 to 9999");
}
// An effective_from an admin publishes with (earn rules, tiers, campaigns): a storable time not in
// the past, with a second of slack for clocks (earlier would change what was already earned,
// decided or sent). Checked after the request's idempotency check, so that a retry made after
// that time gets its first answer rather than a refusal. Throws INVALID_ARGUMENT naming `field`.
inline void RequireNotPast(const google::protobuf::Timestamp& t,
                           const std::string& field = "effective_from") {
  using google::protobuf::util::TimeUtil;
  Validator v;
  if (CheckTime(v, t, field)) {
    v.Check(TimeUtil::TimestampToMicroseconds(t) >= NowMicros() - 1'000'000, field,
            "must not be in the past");
  }
  v.ThrowIfInvalid();
}
// A request's optional effective_from (nullptr: unset) as micros, checked by RequireNotPast;
// unset is now.
inline int64_t EffectiveFromOrNow(const google::protobuf::Timestamp* t) {
  if (t == nullptr) return NowMicros();
  RequireNotPast(*t);
  return google::protobuf::util::TimeUtil::TimestampToMicroseconds(*t);
}
// A request's period [from, to): both set and storable, `to` after `from`, and at most
// `max_days` long (0: any length). Returns whether it is, naming the bad field otherwise.
inline bool CheckPeriod(Validator& v, const google::protobuf::Timestamp* from,
                        const google::protobuf::Timestamp* to, int64_t max_days,
                        const std::string& from_field = "from", const std::string& to_field = "to") {
  using google::protobuf::util::TimeUtil;
  const bool from_ok = v.Check(from != nullptr, from_field, "is required") &&
                       CheckTime(v, *from, from_field);
  const bool to_ok = v.Check(to != nullptr, to_field, "is required") && CheckTime(v, *to, to_field);
  if (!from_ok || !to_ok) return false;
  const int64_t seconds = to->seconds() - from->seconds();
  if (!v.Check(*to > *from, to_field, "must be after " + from_field)) return false;
  return max_days == 0 ||
         v.Check(seconds <= max_days * 86400, to_field,
                 "must be at most " + std::to_string(max_days) + " days after " + from_field);
}
inline google::protobuf::Timestamp NowTimestamp() {
  const int64_t micros = NowMicros();
  google::protobuf::Timestamp t;
  t.set_seconds(micros / 1000000);
  t.set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
  return t;
}

}  // namespace loyalty::common
