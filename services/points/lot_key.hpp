// What a lot is for, and its id. A line's lots are found by (kind, order_id, line_id), columns
// of their own with a unique index (migrations/V005), never by rebuilding or parsing an id: ids
// may contain any printable character, ':' included, so order "a:b" line "c" and order "a" line
// "b:c" are different lines even where a joined string would not tell them apart.
// The id stays the lots' primary key and is made here only, by LotId. Pure; unit-tested.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace loyalty::points {

// lots.kind values.
inline constexpr std::string_view kEarnLot = "earn";        // points a line earned
inline constexpr std::string_view kPaybackLot = "payback";  // points that paid for a line
inline constexpr std::string_view kAdjustLot = "adjust";    // a manual credit, per request id
// A member action's points; the parts are the action and what it is about (its key), e.g.
// ("share", reference), ("birthday", customer, year), ("review", order, line).
inline constexpr std::string_view kActionLot = "action";
// The line id of a subscription renewal order's bonus lot (an earn lot of its own, so that a
// cancellation takes it back like the lines' points): it has a space, which no line id may have
// (common::Validator::RequireId), so it never meets a real line.
inline constexpr std::string_view kRenewalBonusLine = "renewal bonus";

// The id of a lot: a prefix per kind ("earn", "paid", "adjust", "action"), then each part with
// '%' and ':' percent-escaped, joined by ':'. Different parts always give different ids. Ids made
// before the escaping (V004 and earlier) were the parts joined unescaped: for parts without ':'
// or '%', which is nearly every id, the id is the same as then, so an old lot keeps its id and a
// repeated adjustment still meets its old lot's primary key.
std::string LotId(std::string_view kind, std::initializer_list<std::string_view> parts);

}  // namespace loyalty::points
