#!/usr/bin/python3
"""B1 of the benchmark (issue 15): CheckoutService/CreateCodes generating N discount codes in one
call, beside a baseline that does the same volume of plain SQL work: one INSERT ... SELECT of N
rows into a table shaped like checkout.codes (same columns, same primary key and index), the
codes made by SQL itself. Prints one line: B1 count=N codes_ms=... baseline_ms=... ratio=...

Run by tests/bench/run.sh against its own checkout and Postgres; also by hand:
  examples/python/gen_stubs.sh /tmp/stubs
  tests/bench/bulk_codes.py --stubs /tmp/stubs --checkout 127.0.0.1:50056 \
    --token dev-internal-token --url postgresql://loyalty@127.0.0.1:55432/loyalty --count 100000
"""
import sys
import time
import uuid

from bench_sql import arguments, psql, timings_ms


def baseline_ms(binary, url, count):
    """The INSERT ... SELECT's own time as Postgres reports it (psql's \\timing), into a logged
    table like checkout.codes (a temporary one would skip the WAL that the real one writes)."""
    table = "bench_codes_" + uuid.uuid4().hex[:8]
    script = f"""
CREATE TABLE {table} (
  store_id text NOT NULL, code text NOT NULL, batch_id text NOT NULL,
  max_uses bigint NOT NULL CHECK (max_uses >= 0),
  uses bigint NOT NULL DEFAULT 0 CHECK (uses >= 0 AND (max_uses = 0 OR uses <= max_uses)),
  PRIMARY KEY (store_id, code));
CREATE INDEX ON {table} (store_id, batch_id, code);
\\timing on
INSERT INTO {table} (store_id, code, batch_id, max_uses)
  SELECT 'st_bench', upper(substr(md5(g::text || random()::text), 1, 12)), 'baseline', 1
  FROM generate_series(1, {count}) AS g;
\\timing off
DROP TABLE {table};
"""
    return timings_ms(psql(binary, url, script))[-1]


def main():
    a = arguments("B1: bulk code generation beside INSERT ... SELECT", "checkout", "count", 100000)
    import grpc
    from loyalty.checkout.v1 import checkout_service_pb2 as co
    from loyalty.checkout.v1 import checkout_service_pb2_grpc as co_grpc
    from loyalty.gateway.v1 import gateway_service_pb2 as gw

    stub = co_grpc.CheckoutServiceStub(grpc.insecure_channel(
        a.checkout, options=[("grpc.max_receive_message_length", 64 << 20)]))
    definition = gw.CodeDefinition(kind=gw.CODE_KIND_AMOUNT_OFF, amount_off_minor=500, max_uses=1)
    request = co.CreateCodesRequest(
        store=co.Store(store_id="st_bench", currency_code="EUR"),
        create=gw.CreateDiscountCodesRequest(request_id="bulk-" + uuid.uuid4().hex[:12],
                                             definition=definition, count=a.count,
                                             reason="benchmark"),
        author="bench")
    metadata = [("x-loyalty-internal-token", a.token)]
    started = time.perf_counter()
    response = stub.CreateCodes(request, metadata=metadata, timeout=300)
    codes_ms = (time.perf_counter() - started) * 1000
    if response.count != a.count:
        sys.exit(f"B1: asked for {a.count} codes, got {response.count}")
    # Every code is there, distinct, in the store.
    listed = 0
    page = gw.ListDiscountCodesRequest(batch_id=response.batch_id, page_size=10000)
    while True:
        r = stub.ListCodes(co.ListCodesRequest(store=request.store, list=page), metadata=metadata,
                           timeout=60)
        listed += len(r.codes)
        if not r.next_page_token:
            break
        page.page_token = r.next_page_token
    if listed != a.count:
        sys.exit(f"B1: {a.count} codes created, {listed} listed")
    base = baseline_ms(a.psql, a.url, a.count)
    print(f"B1 count={a.count} codes_ms={codes_ms:.1f} baseline_ms={base:.1f} "
          f"ratio={codes_ms / base:.2f}")


if __name__ == "__main__":
    main()
