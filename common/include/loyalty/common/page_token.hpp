// Page tokens: the cursor of a list's last row, which the client sends back for the next page.
// Every list RPC encodes and decodes its cursors here, so that a service accepts exactly the
// tokens it issues and refuses anything else as an invalid page_token (fuzzed by
// tests/fuzz/page_token_fuzz.cpp). Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loyalty::common::page_token {

// "<kind>:<cursor>", hex-encoded so clients treat it as opaque and a token of one report is not
// accepted by another (the orders reports: kind "top", "lapsed", ...). "" for an empty cursor:
// no next page.
std::string Encode(std::string_view kind, std::string_view cursor);

// The cursor of a token of `kind`; "" for an empty token (the first page); nullopt when the token
// is not one that Encode(kind, ...) returns.
std::optional<std::string> Decode(std::string_view kind, std::string_view token);

// A decimal cursor (a transfer id, an audit id, a rank) in exactly std::to_string's form: no sign
// but '-', no spaces, no leading zeros, nothing after the digits.
std::optional<int64_t> ParseInt(std::string_view text);

// An instant and the id of the row at that instant, "<micros><separator><id>" (orders by
// placed_at with ':', lapsed customers by last order with ' ').
struct TimeId {
  int64_t micros = 0;
  std::string id;
};
std::string FormatTimeId(const TimeId& cursor, char separator);
std::optional<TimeId> ParseTimeId(std::string_view text, char separator);

}  // namespace loyalty::common::page_token
