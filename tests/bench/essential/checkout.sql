-- One essential checkout, in the transactions its guarantees need: the order with its event
-- (atomic), the points effects with their receipt (atomic), the recommendations receipt, and the
-- relay's acknowledgement of both deliveries.
\set c random(1, 1000)
\set n random(1, 2000000000)
BEGIN;
INSERT INTO essential.orders (store_id, order_id, customer_id, total_minor)
  VALUES ('bench-store', 'o' || :client_id || '-' || :n, 'c' || :c, 4500);
INSERT INTO essential.order_lines VALUES
  ('bench-store', 'o' || :client_id || '-' || :n, 'l1', 'sku-1', 1, 1500, 1400),
  ('bench-store', 'o' || :client_id || '-' || :n, 'l2', 'sku-2', 2, 1000, 1900),
  ('bench-store', 'o' || :client_id || '-' || :n, 'l3', 'sku-3', 1, 1000, 900);
WITH e AS (INSERT INTO essential.outbox (store_id, aggregate_id, type, payload)
           VALUES ('bench-store', 'o' || :client_id || '-' || :n, 'order.placed',
                   '\x0a0b6f726465722e706c61636564'::bytea) RETURNING store_id, event_id)
INSERT INTO essential.outbox_delivery (store_id, event_id, subscriber)
  SELECT e.store_id, e.event_id, s FROM e, unnest('{points,recommendations}'::text[]) s;
COMMIT;
BEGIN;
INSERT INTO essential.inbox (store_id, subscriber, event_id)
  VALUES ('bench-store', 'points', currval('essential.outbox_event_id_seq'));
UPDATE essential.holds SET state = 'committed', version = version + 1
  WHERE store_id = 'bench-store' AND customer_id = 'c' || :c;
INSERT INTO essential.transfers (store_id, customer_id, points, reason)
  VALUES ('bench-store', 'c' || :c, 42, 'earn');
INSERT INTO essential.lots VALUES ('bench-store', 'l' || :client_id || '-' || :n, 'c' || :c, 42,
  now() + interval '1 year');
UPDATE essential.balances SET pending = pending + 42
  WHERE store_id = 'bench-store' AND customer_id = 'c' || :c;
COMMIT;
INSERT INTO essential.inbox (store_id, subscriber, event_id)
  VALUES ('bench-store', 'recommendations', currval('essential.outbox_event_id_seq'));
UPDATE essential.outbox_delivery SET state = 'delivered'
  WHERE store_id = 'bench-store' AND event_id = currval('essential.outbox_event_id_seq');
