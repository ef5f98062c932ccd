#include "lot_key.hpp"

namespace loyalty::points {
namespace {

// The prefix of each kind's ids, as ids were always written ("paid", not "payback").
std::string_view Prefix(std::string_view kind) { return kind == kPaybackLot ? "paid" : kind; }

void AppendEscaped(std::string& out, std::string_view part) {
  for (const char c : part) {
    if (c == '%') {
      out += "%25";
    } else if (c == ':') {
      out += "%3A";
    } else {
      out += c;
    }
  }
}

}  // namespace

std::string LotId(std::string_view kind, std::initializer_list<std::string_view> parts) {
  std::string id(Prefix(kind));
  for (const auto part : parts) {
    id += ':';
    AppendEscaped(id, part);
  }
  return id;
}

}  // namespace loyalty::points
