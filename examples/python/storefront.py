#!/usr/bin/python3
"""A storefront server's view of the loyalty platform, in Python.

Registers a customer (who earns the signup points), quotes a cart and sees the rewards on offer,
places the order redeeming the cheapest one and paying partly with points, shows the loyalty
status and follows the store's event stream.

    ./gen_stubs.sh            # once: Python stubs from protos/ into ./gen
    LOYALTY_GATEWAY_ADDR=127.0.0.1:50051 LOYALTY_STOREFRONT_KEY=lk_... /usr/bin/python3 storefront.py

Use Debian's /usr/bin/python3 (python3-grpcio and python3-protobuf). The demo store gives 100
points for signing up and has a free-shipping reward for 100 (examples/demo/); an admin can grant
more with AdjustPoints / `loyaltyctl points adjust`. Pass LOYALTY_CUSTOMER_EMAIL to reuse a
customer.
"""
import os
import sys
import time
import uuid

sys.path.insert(0, os.environ.get("LOYALTY_PY_STUBS", os.path.join(os.path.dirname(__file__), "gen")))

import grpc  # noqa: E402
from loyalty.gateway.v1 import gateway_service_pb2 as gw  # noqa: E402
from loyalty.gateway.v1 import gateway_service_pb2_grpc as gw_grpc  # noqa: E402
from loyalty.points.v1 import points_service_pb2 as points_pb  # noqa: E402


def main() -> int:
    address = os.environ.get("LOYALTY_GATEWAY_ADDR", "127.0.0.1:50051")
    key = os.environ["LOYALTY_STOREFRONT_KEY"]
    email = os.environ.get("LOYALTY_CUSTOMER_EMAIL", f"shopper-{uuid.uuid4().hex[:8]}@example.com")
    auth = [("authorization", f"Bearer {key}")]
    stub = gw_grpc.StorefrontServiceStub(grpc.insecure_channel(address))

    # Look the shopper up, or register them (idempotent by request_id).
    try:
        customer = stub.GetCustomer(gw.GetCustomerRequest(email=email), metadata=auth, timeout=5).customer
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.NOT_FOUND:
            raise
        customer = stub.RegisterCustomer(
            gw.RegisterCustomerRequest(request_id=f"reg-{email}", email=email, name="Grace"),
            metadata=auth, timeout=5).customer
    print(f"customer {customer.customer_id} ({customer.email})")
    # Signing up earns once per customer (the same request_id replays the first answer).
    try:
        signup = stub.RecordAction(gw.RecordActionRequest(
            request_id=f"signup-{customer.customer_id}", customer_id=customer.customer_id,
            kind=points_pb.ACTION_KIND_SIGNUP), metadata=auth, timeout=5)
        print(f"signup: {signup.points} points")
    except grpc.RpcError as e:  # a store that offers no signup points, or a reused customer
        print(f"signup: {e.code().name} {e.details()}")

    status = stub.GetLoyaltyStatus(gw.GetLoyaltyStatusRequest(customer_id=customer.customer_id),
                                   metadata=auth, timeout=5)
    available = status.balance.available

    cart = gw.Cart(customer_id=customer.customer_id, shipping_fee_minor=499)
    cart.lines.add(line_id="1", sku="A", category="mugs", unit_price_minor=3000, quantity=1,
                   gift_wrappable=True)
    cart.lines.add(line_id="2", sku="B", category="mugs", unit_price_minor=2000, quantity=1)

    # The rewards on offer to this shopper for this cart; redeem the cheapest, pay with the rest.
    offers = stub.QuoteCart(gw.QuoteCartRequest(cart=cart), metadata=auth, timeout=5).rewards
    for r in offers:
        print(f"reward {r.reward_id} ({r.name}) for {r.points_cost} points: "
              f"-{r.merchandise_off_minor} merchandise, -{r.shipping_off_minor} shipping")
    if offers:
        cart.reward_id = offers[0].reward_id
        available -= offers[0].points_cost
    cart.points_to_redeem = min(available, int(os.environ.get("LOYALTY_POINTS_TO_USE", "200")))

    quote = stub.QuoteCart(gw.QuoteCartRequest(cart=cart), metadata=auth, timeout=5)
    t = quote.totals
    print(f"quote: subtotal {t.subtotal_minor}, points {t.points_used} = -{t.points_amount_minor}, "
          f"shipping {t.shipping_minor}, total {t.total_minor} {t.currency_code}; "
          f"earns {quote.points_to_earn} points; free-shipping gap {quote.free_shipping_gap_minor}"
          f"{' (partial)' if quote.partial else ''}")
    if quote.HasField("reward"):
        print(f"  with reward {quote.reward.reward_id} for {quote.reward.points_cost} points")
    for s in quote.free_shipping_gap_closers:
        print(f"  add {s.name} ({s.price_minor}) for free shipping")
    if quote.HasField("tier"):  # the store has tiers (docs/tiers.md)
        after = quote.progress_after_cart
        print(f"tier {quote.tier.tier.name}: {quote.tier.progress.missing} more to reach "
              f"{quote.tier.progress.next_tier_name}; this cart reaches {after.reached_tier_id}"
              + (f", then {after.missing} more to reach {after.next_tier_name}"
                 if after.next_tier_id else ""))

    order_id = f"py-{uuid.uuid4().hex[:12]}"
    placed = stub.PlaceOrder(gw.PlaceOrderRequest(order_id=order_id, cart=cart), metadata=auth, timeout=10)
    again = stub.PlaceOrder(gw.PlaceOrderRequest(order_id=order_id, cart=cart), metadata=auth, timeout=10)
    assert again == placed, "a replayed checkout returns the first answer"
    print(f"order {placed.order.order_id}: total {placed.order.total_minor}, paid {placed.order.points_paid} points"
          + (f", redeemed {placed.hold.reward_id} for {placed.hold.reward_points} points"
             if placed.hold.reward_id else ""))

    # The order's event reaches the points service asynchronously: wait for the pending points.
    for _ in range(50):
        status = stub.GetLoyaltyStatus(gw.GetLoyaltyStatusRequest(customer_id=customer.customer_id),
                                       metadata=auth, timeout=5)
        if status.balance.pending > 0 and status.balance.held == 0:
            break
        time.sleep(0.1)
    b = status.balance
    print(f"status: available {b.available} (worth {status.available_value_minor} {status.currency_code}), "
          f"pending {b.pending}, held {b.held}")
    if status.HasField("tier"):
        p = status.tier.progress
        print(f"tier now {status.tier.tier.name}"
              + (f", {p.missing} more to reach {p.next_tier_name}" if p.next_tier_id else ""))

    # Follow the event stream until a heartbeat says we are caught up.
    seen = 0
    cursor = ""
    for item in stub.StreamEvents(gw.StreamEventsRequest(heartbeat_seconds=1), metadata=auth, timeout=20):
        if item.HasField("heartbeat"):
            break
        seen += 1
        cursor = item.event.cursor
        print(f"event {item.event.type} customer={item.event.customer_id} points={item.event.points}")
    print(f"{seen} events; resume from cursor {cursor!r}")
    return 0 if seen > 0 and b.pending > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
