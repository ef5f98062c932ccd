// CheckoutService's abandoned carts (docs/codes.md): a known customer's quoted cart is recorded
// while the store's Settings.cart_recovery is on; a job reports each open cart whose time has
// come as one cart.abandoned event (optionally with a single-use code), in the transaction that
// ends the cart, so that a second run or a second replica finds nothing left to report.
#include <google/protobuf/util/time_util.h>

#include "checkout_service.hpp"
#include "loyalty/common/time.hpp"

namespace loyalty::checkout {

using common::CallContext;
using google::protobuf::util::TimeUtil;

namespace {

v1::CartAbandoned EventOf(const DueCart& due, const std::string& code) {
  v1::CartAbandoned event;
  event.set_customer_id(due.customer_id);
  event.set_cart_number(due.cart_number);
  int64_t subtotal = 0;
  for (const auto& l : due.cart.lines()) {
    auto* line = event.add_lines();
    line->set_sku(l.sku());
    line->set_quantity(l.quantity());
    line->set_unit_price_minor(l.unit_price_minor());
    subtotal += l.unit_price_minor() * l.quantity();  // a checked cart's sum fits (pricing.hpp)
  }
  event.set_subtotal_minor(subtotal);
  event.set_currency_code(due.currency_code);
  event.set_code(code);
  *event.mutable_quoted_at() = TimeUtil::MicrosecondsToTimestamp(due.quoted_at_us);
  return event;
}

}  // namespace

void CheckoutService::RecordCart(const CallContext& call, const v1::Store& store,
                                 const gateway::v1::Cart& cart,
                                 const points::v1::Settings& settings) {
  const auto& recovery = settings.cart_recovery();
  if (recovery.after_hours() <= 0 || cart.customer_id().empty()) return;
  db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
    carts_.Record(tx, store.store_id(), cart, store.currency_code(), recovery.after_hours(),
                  recovery.code_batch_id());
  });
}

grpc::ServerUnaryReactor* CheckoutService::AbandonCarts(grpc::CallbackServerContext* context,
                                                        const v1::AbandonCartsRequest* request,
                                                        v1::AbandonCartsResponse* response) {
  return host_.Serve(context, "AbandonCarts", request->store_id(), [=, this](const CallContext& call) {
    const int64_t as_of = request->has_as_of()
                              ? TimeUtil::TimestampToMicroseconds(request->as_of())
                              : common::NowMicros();
    *response = AbandonCartsDue(call, request->store_id(), as_of);
  });
}

v1::AbandonCartsResponse CheckoutService::AbandonCartsDue(const CallContext& call,
                                                          const std::string& store_id,
                                                          int64_t as_of_us) {
  constexpr int kBatch = 100;
  v1::AbandonCartsResponse done;
  for (;;) {
    // One transaction per page: each cart locked, its code issued, its event written and the
    // cart ended together. A cart a checkout is claiming is skipped (SKIP LOCKED); the claim
    // ends it as ordered.
    const auto page = db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      v1::AbandonCartsResponse counted;
      const auto due = carts_.LockDue(tx, store_id, as_of_us, kBatch);
      for (const auto& cart : due) {
        std::string code;
        if (!cart.code_batch_id.empty()) {
          code = IssueCode(tx, cart.store_id, cart.code_batch_id, cart.customer_id,
                           "cart:" + cart.customer_id + ":" + std::to_string(cart.cart_number),
                           "abandoned cart " + std::to_string(cart.cart_number));
          if (!code.empty()) counted.set_codes(counted.codes() + 1);
        }
        outbox_.Append(tx, cart.store_id, "cart/" + cart.customer_id, cart.event_sequence + 1,
                       "cart.abandoned", EventOf(cart, code));
        carts_.MarkAbandoned(tx, cart);
      }
      counted.set_abandoned(static_cast<int64_t>(due.size()));
      return counted;
    });
    done.set_abandoned(done.abandoned() + page.abandoned());
    done.set_codes(done.codes() + page.codes());
    if (page.abandoned() < kBatch) return done;
  }
}

}  // namespace loyalty::checkout
