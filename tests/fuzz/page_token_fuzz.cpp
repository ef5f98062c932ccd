// Page tokens (common/page_token.hpp, common/hex.hpp): a service accepts exactly the tokens it
// issues, and every cursor comes back from its token unchanged. Input: any text, tried as a token
// of each kind and as a cursor.
#include <fuzzer/FuzzedDataProvider.h>

#include <string>

#include "invariant.hpp"
#include "loyalty/common/hex.hpp"
#include "loyalty/common/page_token.hpp"

using namespace loyalty::common;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The orders reports' tokens.
  for (const char* kind : {"top", "lapsed", "segment", "rfm"}) {
    if (const auto cursor = page_token::Decode(kind, text)) {
      REQUIRE(page_token::Encode(kind, *cursor) == text);
    }
    REQUIRE(page_token::Decode(kind, page_token::Encode(kind, text)) == text);
  }
  // Ledger, audit and rank cursors; orders and lapsed customers' instant and id.
  if (const auto n = page_token::ParseInt(text)) REQUIRE(std::to_string(*n) == text);
  FuzzedDataProvider in(data, size);
  const page_token::TimeId cursor{in.ConsumeIntegral<int64_t>(),
                                  in.ConsumeRemainingBytesAsString()};
  for (const char separator : {':', ' '}) {
    if (const auto parsed = page_token::ParseTimeId(text, separator)) {
      REQUIRE(page_token::FormatTimeId(*parsed, separator) == text);
    }
    const auto issued = page_token::FormatTimeId(cursor, separator);
    const auto back = page_token::ParseTimeId(issued, separator);
    REQUIRE(back && back->micros == cursor.micros && back->id == cursor.id);
  }
  // The customers list's token: the hex of the last customer id.
  if (const auto bytes = HexDecode(text)) REQUIRE(HexEncode(*bytes) == text);
  REQUIRE(HexDecode(HexEncode(text)) == text);
  return 0;
}
