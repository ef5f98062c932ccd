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
inline google::protobuf::Timestamp NowTimestamp() {
  const int64_t micros = NowMicros();
  google::protobuf::Timestamp t;
  t.set_seconds(micros / 1000000);
  t.set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
  return t;
}

}  // namespace loyalty::common
