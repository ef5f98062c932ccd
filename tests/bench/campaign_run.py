#!/usr/bin/python3
"""R1 of the benchmark (issue 15): CheckoutService/RunCampaign of a first-purchase campaign with a
code over N customers who signed up yesterday (nine in ten consenting), beside a baseline that does
the same volume of plain SQL work in one transaction: INSERT ... SELECT of the same sends, code
batches, codes and outbox events into tables shaped like the real ones. Seeds its own store straight
into the tables (the customers, the code template, the campaign). Prints one line:
R1 customers=N reached=... run_ms=... baseline_ms=... ratio=...

Run by tests/bench/run.sh against its own checkout, customers service and Postgres; also by hand:
  examples/python/gen_stubs.sh /tmp/stubs
  tests/bench/campaign_run.py --stubs /tmp/stubs --checkout 127.0.0.1:50056 \
    --token dev-internal-token --url postgresql://loyalty@127.0.0.1:55432/loyalty --customers 100000
"""
import sys
import time
import uuid

from bench_sql import arguments, psql, timings_ms


def seed(binary, url, store, customers, template_hex, campaign_hex):
    psql(binary, url, f"""
BEGIN;
INSERT INTO customers.customers (store_id, customer_id, email, name, marketing_consent,
    referral_code, signed_up_at)
  SELECT '{store}', 'k' || g, 'k' || g || '@example.com', 'K', g % 10 <> 0, 'R' || g,
         now() - interval '1 day'
  FROM generate_series(1, {customers}) AS g;
INSERT INTO checkout.code_batches (store_id, batch_id, definition, count, author, reason)
  VALUES ('{store}', 'welcome-template', '\\x{template_hex}', 0, 'bench', 'bench');
INSERT INTO checkout.campaigns (store_id, campaign_id, definition, author, reason)
  VALUES ('{store}', 'welcome', '\\x{campaign_hex}', 'bench', 'bench');
INSERT INTO checkout.campaign_versions (store_id, campaign_id, version, definition, author,
    reason, effective_from)
  VALUES ('{store}', 'welcome', 1, '\\x{campaign_hex}', 'bench', 'bench', now());
COMMIT;
ANALYZE customers.customers;
""")


def baseline_ms(binary, url, store, template_hex, payload_hex):
    """The rows the run writes, written by INSERT ... SELECT from the same customers into
    tables like the real ones (same keys and indexes), in one transaction."""
    s = "bench_" + uuid.uuid4().hex[:8]
    who = (f"FROM customers.customers WHERE store_id = '{store}' AND marketing_consent "
           f"AND signed_up_at >= now() - interval '7 days'")
    out = psql(binary, url, f"""
CREATE SCHEMA {s};
CREATE TABLE {s}.sends (store_id text, campaign_id text, customer_id text, period text,
  code text NOT NULL DEFAULT '', sent_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, campaign_id, customer_id, period));
CREATE TABLE {s}.batches (store_id text, batch_id text, definition bytea NOT NULL,
  count integer NOT NULL, author text NOT NULL, reason text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (store_id, batch_id));
CREATE TABLE {s}.codes (store_id text, code text, batch_id text NOT NULL, max_uses bigint NOT NULL,
  uses bigint NOT NULL DEFAULT 0, PRIMARY KEY (store_id, code));
CREATE INDEX ON {s}.codes (store_id, batch_id, code);
CREATE TABLE {s}.outbox (store_id text, event_id uuid NOT NULL DEFAULT gen_random_uuid(),
  aggregate_id text NOT NULL, sequence bigint NOT NULL, type text NOT NULL, payload bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (store_id, event_id),
  UNIQUE (store_id, aggregate_id, sequence));
\\timing on
BEGIN;
INSERT INTO {s}.sends (store_id, campaign_id, customer_id, period, code)
  SELECT store_id, 'welcome', customer_id, 'signup', upper(substr(md5(customer_id), 1, 12)) {who};
INSERT INTO {s}.batches (store_id, batch_id, definition, count, author, reason)
  SELECT store_id, 'campaign:welcome:' || customer_id || ':signup', '\\x{template_hex}', 1,
         'checkout', 'campaign welcome' {who};
INSERT INTO {s}.codes (store_id, code, batch_id, max_uses)
  SELECT store_id, upper(substr(md5(customer_id), 1, 12)),
         'campaign:welcome:' || customer_id || ':signup', 1 {who};
INSERT INTO {s}.outbox (store_id, aggregate_id, sequence, type, payload)
  SELECT store_id, 'campaign/welcome/' || customer_id || '/signup', 1, 'campaign.reached',
         '\\x{payload_hex}' {who};
COMMIT;
\\timing off
DROP SCHEMA {s} CASCADE;
""")
    return sum(timings_ms(out))


def main():
    a = arguments("R1: a campaign run beside INSERT ... SELECT", "checkout", "customers", 100000)
    import grpc
    from loyalty.checkout.v1 import checkout_service_pb2 as co
    from loyalty.checkout.v1 import checkout_service_pb2_grpc as co_grpc
    from loyalty.gateway.v1 import gateway_service_pb2 as gw

    store = "st_camp_" + uuid.uuid4().hex[:8]
    template = gw.CodeDefinition(kind=gw.CODE_KIND_AMOUNT_OFF, amount_off_minor=500, max_uses=1)
    campaign = gw.CampaignDefinition(kind=gw.CAMPAIGN_KIND_FIRST_PURCHASE, signup_days=7,
                                     code_batch_id="welcome-template")
    seed(a.psql, a.url, store, a.customers, template.SerializeToString().hex(),
         campaign.SerializeToString().hex())
    stub = co_grpc.CheckoutServiceStub(grpc.insecure_channel(a.checkout))
    request = co.RunCampaignRequest(
        store=co.Store(store_id=store, currency_code="EUR"),
        run=gw.RunCampaignRequest(request_id="run-1", campaign_id="welcome"))
    started = time.perf_counter()
    run = stub.RunCampaign(request, metadata=[("x-loyalty-internal-token", a.token)], timeout=600)
    run_ms = (time.perf_counter() - started) * 1000
    consenting = a.customers - a.customers // 10
    if (run.reached, run.codes, run.without_consent) != (consenting, consenting,
                                                          a.customers - consenting):
        sys.exit(f"R1: reached {run.reached}, codes {run.codes}, without consent "
                 f"{run.without_consent}; expected {consenting}, {consenting}, "
                 f"{a.customers - consenting}")
    payload = co.CampaignReached(campaign_id="welcome", kind=campaign.kind, customer_id="k1",
                                 period="signup", code="ABCDEFGHJKLM").SerializeToString().hex()
    base = baseline_ms(a.psql, a.url, store, template.SerializeToString().hex(), payload)
    print(f"R1 customers={a.customers} reached={run.reached} run_ms={run_ms:.1f} "
          f"baseline_ms={base:.1f} ratio={run_ms / base:.2f}")


if __name__ == "__main__":
    main()
