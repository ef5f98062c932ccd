// Page tokens: a service's cursor (e.g. the last id of a page), hex-encoded so that clients treat
// it as opaque and cannot build one by hand.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace loyalty::common {

inline std::string EncodePageToken(std::string_view cursor) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  out.reserve(cursor.size() * 2);
  for (unsigned char c : cursor) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

// The cursor inside `token`; nullopt when it is not a token EncodePageToken made.
inline std::optional<std::string> DecodePageToken(std::string_view token) {
  if (token.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(token.size() / 2);
  for (size_t i = 0; i < token.size(); i += 2) {
    const int hi = nibble(token[i]);
    const int lo = nibble(token[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace loyalty::common
