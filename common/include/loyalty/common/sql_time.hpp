// SQL fragments for times as int64 microseconds since the Unix epoch, the way the services
// service passes every time. Both are exact: extract(epoch) is numeric (Postgres 14+), and
// 'epoch' + n microseconds has no floating point, where to_timestamp(n / 1e6) could land one
// microsecond off (a job "as of" a time must see exactly what is due at it).
#pragma once

#define MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define FROM_MICROS(param) \
  "('epoch'::timestamptz + " param "::bigint * interval '1 microsecond')"
