#include "loyalty/common/page_token.hpp"

#include <charconv>

#include "loyalty/common/hex.hpp"

namespace loyalty::common::page_token {

std::string Encode(std::string_view kind, std::string_view cursor) {
  if (cursor.empty()) return "";
  std::string text(kind);
  text += ':';
  text += cursor;
  return HexEncode(text);
}

std::optional<std::string> Decode(std::string_view kind, std::string_view token) {
  if (token.empty()) return std::string();
  const auto text = HexDecode(token);
  if (!text || text->size() <= kind.size() + 1 || !text->starts_with(kind) ||
      (*text)[kind.size()] != ':') {
    return std::nullopt;
  }
  return text->substr(kind.size() + 1);
}

std::optional<int64_t> ParseInt(std::string_view text) {
  // Round-tripping through std::to_string is the canonical-form check (and the parse is
  // std::from_chars's, which has no locale, no exceptions and reports overflow).
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (std::to_string(value) != text) return std::nullopt;
  return value;
}

std::string FormatTimeId(const TimeId& cursor, char separator) {
  return std::to_string(cursor.micros) + separator + cursor.id;
}

std::optional<TimeId> ParseTimeId(std::string_view text, char separator) {
  const auto at = text.find(separator);
  if (at == std::string_view::npos) return std::nullopt;
  const auto micros = ParseInt(text.substr(0, at));
  if (!micros) return std::nullopt;
  return TimeId{*micros, std::string(text.substr(at + 1))};
}

}  // namespace loyalty::common::page_token
