// The checkout events the points service puts in the store's event log (the log that the
// gateway streams and sends as webhooks), each once through the inbox: `cart.abandoned`
// (docs/codes.md, abandoned carts) and `campaign.reached` (docs/campaigns.md).
#pragma once

#include "loyalty/common/events.hpp"
#include "points_store.hpp"

namespace loyalty::points {

class CheckoutEvents {
 public:
  explicit CheckoutEvents(PointsStore& store) : store_(store) {}

  // Registers the handlers on the service's event sink.
  void Subscribe(common::InboxEventSink& sink);

 private:
  PointsStore& store_;
};

}  // namespace loyalty::points
