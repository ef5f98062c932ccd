// The ledger's rows as the ledger and its store exchange them (no database types here).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace loyalty::points {

// A customer's balances; the row is locked while a transaction changes it.
struct BalanceRow {
  int64_t pending = 0;
  int64_t available = 0;
  int64_t held = 0;
  int64_t debt = 0;  // 0 or negative
};

struct LotRow {
  std::string lot_id;
  std::string customer_id;
  std::string kind;  // earn, adjust, payback
  std::string order_id;
  std::string line_id;
  int32_t rule_version = 0;
  int64_t earned = 0;
  int64_t pending = 0;
  int64_t available = 0;
  int64_t clawed = 0;
  int32_t line_quantity = 0;
  int64_t paid_points = 0;
  int64_t paid_back = 0;
  std::optional<int64_t> available_at_us;
  std::optional<int64_t> expires_at_us;
};

struct HoldRow {
  std::string hold_id;
  std::string customer_id;
  std::string order_id;
  int64_t points = 0;
  int64_t value_minor = 0;
  std::string state;  // active, committed, voided, expired
  int64_t expires_at_us = 0;
  // A hold that also redeems a reward: its id, and the part of `points` that is its cost (the
  // rest pays for merchandise and is worth value_minor). One unit of its stock goes with it.
  std::string reward_id;
  int64_t reward_points = 0;
};

struct TransferRow {
  std::string customer_id;
  std::string from;
  std::string to;
  int64_t amount = 0;
  std::string kind;
  std::string reason;
  std::string order_id;
  std::string line_id;
  std::string lot_id;
  int32_t rule_version = 0;
  std::string request_id;
};

}  // namespace loyalty::points
