#include "events/checkout_events.hpp"

#include <google/protobuf/util/time_util.h>

#include "loyalty/checkout/v1/checkout_service.pb.h"

namespace loyalty::points {

void CheckoutEvents::Subscribe(common::InboxEventSink& sink) {
  sink.On("cart.abandoned", [this](pqxx::transaction_base& tx, const events::v1::Event& event) {
    const auto cart = common::UnpackEvent<checkout::v1::CartAbandoned>(event);
    nlohmann::json lines = nlohmann::json::array();
    for (const auto& l : cart.lines()) {
      lines.push_back(
          {{"sku", l.sku()}, {"quantity", l.quantity()}, {"unit_price_minor", l.unit_price_minor()}});
    }
    store_.AppendEvent(
        tx, event.store_id(), "cart.abandoned", cart.customer_id(), "", 0,
        {{"cart_number", cart.cart_number()},
         {"subtotal_minor", cart.subtotal_minor()},
         {"currency_code", cart.currency_code()},
         {"code", cart.code()},
         {"quoted_at", google::protobuf::util::TimeUtil::ToString(cart.quoted_at())},
         {"lines", lines}});
  });
  sink.On("campaign.reached", [this](pqxx::transaction_base& tx, const events::v1::Event& event) {
    const auto reached = common::UnpackEvent<checkout::v1::CampaignReached>(event);
    store_.AppendEvent(tx, event.store_id(), "campaign.reached", reached.customer_id(), "", 0,
                       {{"campaign_id", reached.campaign_id()},
                        {"kind", gateway::v1::CampaignKind_Name(reached.kind())},
                        {"period", reached.period()},
                        {"code", reached.code()}});
  });
  sink.On("subscription.renewal_due",
          [this](pqxx::transaction_base& tx, const events::v1::Event& event) {
            const auto due = common::UnpackEvent<checkout::v1::SubscriptionRenewalDue>(event);
            nlohmann::json lines = nlohmann::json::array();
            for (const auto& l : due.lines()) {
              lines.push_back({{"sku", l.sku()}, {"quantity", l.quantity()}});
            }
            store_.AppendEvent(
                tx, event.store_id(), "subscription.renewal_due", due.customer_id(), "", 0,
                {{"subscription_id", due.subscription_id()},
                 {"renewal_at", google::protobuf::util::TimeUtil::ToString(due.renewal_at())},
                 {"renewal_number", due.renewal_number()},
                 {"lines", lines}});
          });
}

}  // namespace loyalty::points
