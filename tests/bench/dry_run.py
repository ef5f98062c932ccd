#!/usr/bin/python3
"""D1 of the benchmark (issue 15): PointsService/DryRunEarnRules over N past orders (two lines
each, one customer per ten orders), beside a baseline that does the same volume of plain SQL work:
one SELECT that reads the same orders and lines and totals both rule sets per customer in SQL.
Seeds its own store straight into the tables (settings, a rule version in force since before the
period, the orders). Prints one line: D1 orders=N dry_run_ms=... baseline_ms=... ratio=...

Run by tests/bench/run.sh against its own points and orders services and Postgres; also by hand:
  examples/python/gen_stubs.sh /tmp/stubs
  tests/bench/dry_run.py --stubs /tmp/stubs --points 127.0.0.1:50054 \
    --token dev-internal-token --url postgresql://loyalty@127.0.0.1:55432/loyalty --orders 100000
"""
import sys
import time
import uuid

from bench_sql import arguments, psql, timings_ms


def seed(binary, url, store, orders, settings_hex, rules_hex):
    """Orders placed every 20 ms over the last N x 20 ms: line 1 'tea', line 2 a 'gift' card."""
    customers = max(orders // 10, 1)
    psql(binary, url, f"""
BEGIN;
INSERT INTO points.settings (store_id, version, settings) VALUES ('{store}', 1, '\\x{settings_hex}');
INSERT INTO points.rule_versions (store_id, version, effective_from, rules)
  VALUES ('{store}', 1, now() - interval '400 days', '\\x{rules_hex}');
INSERT INTO orders.orders (store_id, order_id, status, customer_id, currency_code, placed_at)
  SELECT '{store}', 'o' || g, 'fulfilled', 'c' || (g % {customers}), 'USD',
         now() - interval '1 hour' - g * interval '20 ms'
  FROM generate_series(1, {orders}) AS g;
INSERT INTO orders.order_lines (store_id, order_id, line_id, position, sku, category,
    unit_price_minor, quantity, gift_wrappable, gross_minor, discount_minor,
    points_amount_minor, points_paid, net_minor)
  SELECT '{store}', 'o' || g, 'l' || k, k, 'SKU' || ((g * 7 + k) % 500),
         CASE k WHEN 1 THEN 'tea' ELSE 'gift' END, 1000 + g % 5000, 1, false,
         1000 + g % 5000, 0, 0, 0, 1000 + g % 5000
  FROM generate_series(1, {orders}) AS g, generate_series(1, 2) AS k;
COMMIT;
ANALYZE orders.orders;
ANALYZE orders.order_lines;
""")


def baseline_ms(binary, url, store):
    """The same rows read and both rule sets totalled per customer, in one SELECT (psql's
    \\timing: Postgres's own time)."""
    out = psql(binary, url, f"""
\\timing on
SELECT count(*), sum(in_force), sum(draft) FROM (
  SELECT o.customer_id, sum(l.net_minor / 100) AS in_force,
         sum(CASE WHEN l.category = 'gift' THEN 0 ELSE l.net_minor * 3 / 100 END) AS draft
  FROM orders.orders o JOIN orders.order_lines l ON l.store_id = o.store_id AND l.order_id = o.order_id
  WHERE o.store_id = '{store}' AND o.status IN ('placed', 'fulfilled')
    AND o.placed_at >= now() - interval '30 days' AND o.placed_at < now()
  GROUP BY o.customer_id) AS c;
\\timing off
""")
    return timings_ms(out)[-1], out.splitlines()[0]


def main():
    a = arguments("D1: a dry run over past orders beside one SELECT", "points", "orders", 100000)
    import grpc
    from google.protobuf import timestamp_pb2
    from loyalty.points.v1 import points_service_pb2 as pt
    from loyalty.points.v1 import points_service_pb2_grpc as pt_grpc

    store = "st_dry_" + uuid.uuid4().hex[:8]
    settings = pt.Settings(version=1, currency_code="USD", time_zone="UTC",
                           earn_basis=pt.EARN_BASIS_POINTS_PER_UNIT, minor_per_unit=100,
                           redeem_points=100, redeem_value_minor=100)
    seed(a.psql, a.url, store, a.orders, settings.SerializeToString().hex(),
         pt.EarnRules(base_rate=1).SerializeToString().hex())
    stub = pt_grpc.PointsServiceStub(grpc.insecure_channel(a.points))
    start, end = timestamp_pb2.Timestamp(), timestamp_pb2.Timestamp()
    now = time.time()
    start.FromSeconds(int(now - 30 * 86400))
    end.FromSeconds(int(now) + 1)
    request = pt.DryRunEarnRulesRequest(
        store_id=store, draft=pt.EarnRules(base_rate=3, excluded_categories=["gift"]),
        to=end, top_customers=10)
    getattr(request, "from").CopyFrom(start)  # `from` is a Python keyword
    started = time.perf_counter()
    report = stub.DryRunEarnRules(request, metadata=[("x-loyalty-internal-token", a.token)],
                                  timeout=300).report
    dry_run_ms = (time.perf_counter() - started) * 1000
    base, totals = baseline_ms(a.psql, a.url, store)
    customers, in_force, draft = (int(x) for x in totals.split("|"))
    # The replay and the SQL agree on what they computed, or the ratio means nothing.
    if (report.orders, report.customers, report.points_in_force, report.points_draft) != \
            (a.orders, customers, in_force, draft):
        sys.exit(f"D1: the dry run reported {report.orders} orders, {report.customers} customers, "
                 f"{report.points_in_force}/{report.points_draft} points; SQL: {customers} "
                 f"customers, {in_force}/{draft}")
    print(f"D1 orders={a.orders} dry_run_ms={dry_run_ms:.1f} baseline_ms={base:.1f} "
          f"ratio={dry_run_ms / base:.2f}")


if __name__ == "__main__":
    main()
