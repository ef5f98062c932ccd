#include "gateway_seed.hpp"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>

#include "catalogue.hpp"
#include "loyalty/common/metrics.hpp"
#include "loyalty/common/time.hpp"
#include "loyalty/gateway/v1/gateway_service.grpc.pb.h"

namespace loyalty::bench {
namespace {

namespace gv1 = loyalty::gateway::v1;
namespace pv1 = loyalty::points::v1;

std::unique_ptr<grpc::ClientContext> As(const std::string& bearer) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", "Bearer " + bearer);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return ctx;
}

void Check(const grpc::Status& status, const std::string& what) {
  if (status.ok()) return;
  throw std::runtime_error(what + ": " + common::StatusCodeName(status.error_code()) + " " +
                           status.error_message());
}

// Seeding runs as fast as the owner key's rate limit (100/s) allows: a call the gateway refuses
// with RESOURCE_EXHAUSTED waits and is sent again, as the error asks.
template <class Call>
void Send(const std::string& what, Call call) {
  for (int attempt = 1;; ++attempt) {
    const grpc::Status status = call();
    if (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED || attempt == 100) {
      return Check(status, what);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(10 * attempt, 200)));
  }
}

google::protobuf::Timestamp InDays(int days) {
  auto t = common::NowTimestamp();
  t.set_seconds(t.seconds() + int64_t{days} * 86400);
  return t;
}

// `n` active rules, a mix of what stores publish: SKU multipliers, category multipliers and
// running campaigns (at most 100 campaigns, the points service's limit).
pv1::EarnRules Rules(int n, int products) {
  pv1::EarnRules r;
  r.set_base_rate(1);
  for (int i = 0; i < n; ++i) {
    if (i % 4 == 3 && r.campaigns_size() < 100) {
      auto* c = r.add_campaigns();
      c->set_name("campaign " + std::to_string(i));
      *c->mutable_starts_at() = InDays(-1);
      *c->mutable_ends_at() = InDays(30);
      c->set_multiplier_bps(11000 + 100 * (i % 10));
      c->add_categories(Category(i));
    } else if (i % 4 == 2) {
      auto* m = r.add_multipliers();
      m->set_category(Category(i));
      m->set_multiplier_bps(12000);
    } else {
      auto* m = r.add_multipliers();
      m->set_sku(Sku((i * 7) % products));
      m->set_multiplier_bps(20000);
    }
  }
  return r;
}

}  // namespace

GatewaySeed SeedGatewayStore(const GatewaySeedPlan& plan) {
  const auto channel = grpc::CreateChannel(plan.target, grpc::InsecureChannelCredentials());
  auto admin = gv1::AdminService::NewStub(channel);
  auto storefront = gv1::StorefrontService::NewStub(channel);
  GatewaySeed seed;
  // Idempotency keys have no spaces: the store's name, dashed.
  std::string id = plan.name;
  std::replace(id.begin(), id.end(), ' ', '-');

  gv1::CreateStoreRequest create;
  create.set_request_id(id);
  create.set_name(plan.name);
  create.set_currency_code("EUR");
  create.set_time_zone("Europe/Paris");
  gv1::CreateStoreResponse created;
  Check(admin->CreateStore(As(plan.operator_token).get(), create, &created), "CreateStore");
  seed.store_id = created.store().store_id();
  const std::string owner = created.owner_key_secret();

  gv1::CreateApiKeyRequest key;
  key.set_request_id(id + "-storefront");
  key.set_kind(gv1::KEY_KIND_STOREFRONT);
  key.set_display_name("loyalty-bench");
  key.set_rate_limit_per_second(100000);
  gv1::CreateApiKeyResponse key_created;
  Send("CreateApiKey", [&] { return admin->CreateApiKey(As(owner).get(), key, &key_created); });
  seed.storefront_key = key_created.secret();

  gv1::GetSettingsResponse settings;
  Send("GetSettings", [&] {
    return admin->GetSettings(As(owner).get(), gv1::GetSettingsRequest(), &settings);
  });
  gv1::UpdateSettingsRequest update;
  update.set_request_id(id + "-settings");
  *update.mutable_settings() = settings.settings();
  update.mutable_settings()->set_free_shipping_threshold_minor(plan.free_shipping_threshold_minor);
  gv1::UpdateSettingsResponse updated;
  Send("UpdateSettings", [&] { return admin->UpdateSettings(As(owner).get(), update, &updated); });

  for (int from = 0; from < plan.products; from += 1000) {
    gv1::UpsertProductsRequest r;
    r.set_request_id(id + "-products-" + std::to_string(from));
    for (int i = from; i < std::min(plan.products, from + 1000); ++i) {
      DescribeProduct(i, r.add_products());
    }
    gv1::UpsertProductsResponse response;
    Send("UpsertProducts", [&] { return admin->UpsertProducts(As(owner).get(), r, &response); });
  }

  gv1::PublishEarnRulesRequest publish;
  publish.set_request_id(id + "-rules");
  *publish.mutable_rules() = Rules(plan.rules, plan.products);
  gv1::PublishEarnRulesResponse published;
  Send("PublishEarnRules", [&] {
    return admin->PublishEarnRules(As(owner).get(), publish, &published);
  });

  for (int i = 0; i < plan.customers; ++i) {
    gv1::RegisterCustomerRequest r;
    r.set_request_id(id + "-customer-" + std::to_string(i));
    r.set_email("c" + std::to_string(i) + "@bench.example");
    r.set_name("Bench Customer " + std::to_string(i));
    gv1::RegisterCustomerResponse response;
    Send("RegisterCustomer", [&] {
      return storefront->RegisterCustomer(As(seed.storefront_key).get(), r, &response);
    });
    seed.customer_ids.push_back(response.customer().customer_id());
    gv1::AdjustPointsRequest adjust;
    adjust.set_request_id(id + "-points-" + std::to_string(i));
    adjust.set_customer_id(seed.customer_ids.back());
    adjust.set_points(5000);
    adjust.set_reason("loyalty-bench welcome points");
    gv1::AdjustPointsResponse adjusted;
    Send("AdjustPoints", [&] { return admin->AdjustPoints(As(owner).get(), adjust, &adjusted); });
  }

  // History: fulfilled past orders of 3 products, so co-purchase suggestions exist.
  std::mt19937_64 rng(7);
  for (int from = 0; from < plan.history_orders; from += 1000) {
    gv1::ImportOrdersRequest r;
    r.set_request_id(id + "-history-" + std::to_string(from));
    for (int i = from; i < std::min(plan.history_orders, from + 1000); ++i) {
      auto* imported = r.add_orders();
      auto* o = imported->mutable_order();
      o->set_order_id("history-" + std::to_string(i));
      o->set_customer_id(seed.customer_ids[static_cast<size_t>(i) % seed.customer_ids.size()]);
      int line = 0;
      for (const int p : DrawDistinct(plan.products, 3, rng)) {
        auto* l = o->add_lines();
        l->set_line_id("l" + std::to_string(++line));
        l->set_sku(Sku(p));
        l->set_category(Category(p));
        l->set_unit_price_minor(PriceMinor(p));
        l->set_quantity(1);
      }
      *imported->mutable_placed_at() = InDays(-1 - i % 300);
      imported->set_fulfilled(true);
    }
    gv1::ImportOrdersResponse response;
    Send("ImportOrders", [&] { return admin->ImportOrders(As(owner).get(), r, &response); });
  }
  if (!plan.webhook_url.empty()) {
    gv1::CreateWebhookEndpointRequest r;
    r.set_request_id(id + "-webhook");
    r.set_url(plan.webhook_url);
    gv1::CreateWebhookEndpointResponse response;
    Send("CreateWebhookEndpoint", [&] {
      return admin->CreateWebhookEndpoint(As(owner).get(), r, &response);
    });
  }
  std::cerr << "seeded store " << seed.store_id << " through the gateway: " << plan.products
            << " products, " << plan.rules << " earn rules, " << plan.customers << " customers, "
            << plan.history_orders << " past orders\n";
  return seed;
}

}  // namespace loyalty::bench
