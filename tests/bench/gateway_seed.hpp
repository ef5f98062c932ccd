// Seeds a store through the gateway's public API, as a store's developer would, so that the
// gateway workloads of loyalty-bench (QuoteCart, PlaceOrder, GetLoyaltyStatus) run against a
// store with keys, settings, a catalogue, earn rules, customers with points and order history.
#pragma once

#include <string>
#include <vector>

namespace loyalty::bench {

struct GatewaySeedPlan {
  std::string target;          // the gateway, host:port
  std::string operator_token;  // creates the store
  std::string name;            // the store's display name (unique per run)
  int products = 1000;
  int customers = 200;
  int rules = 5;               // active earn rules: SKU and category multipliers and campaigns
  int history_orders = 2000;   // imported past orders of 3 lines (recommendations learn from them)
  int free_shipping_threshold_minor = 5000;
  std::string webhook_url;     // when set, a webhook endpoint for every event, created last
};

struct GatewaySeed {
  std::string store_id;
  std::string storefront_key;  // rate limit raised to the gateway's maximum
  std::vector<std::string> customer_ids;
};

// Throws std::runtime_error naming the call that failed.
GatewaySeed SeedGatewayStore(const GatewaySeedPlan& plan);

}  // namespace loyalty::bench
