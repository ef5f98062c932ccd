// Hex text for bytes, and SHA-256 as hex. Page tokens are hex-encoded cursors, so clients treat
// them as opaque and cannot build one by hand.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace loyalty::common {

inline std::string HexEncode(std::string_view bytes) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

// The bytes behind lower-case hex text; nullopt when it is not such text.
inline std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

// Lower-case hex SHA-256 of `data` (migration checksums, API key hashes).
std::string Sha256Hex(std::string_view data);

// `count` bytes from OpenSSL's CSPRNG (keys, webhook secrets, discount codes); throws
// std::runtime_error if it fails.
std::string RandomBytes(size_t count);

}  // namespace loyalty::common
