-- The essential checkout (issue 13): the fewest writes a checkout must make, as a pgbench
-- baseline for PlaceOrder's cost. Tables hold only what those writes need; 1,000 customers,
-- each with a balance and a points hold to commit.
CREATE SCHEMA essential;
CREATE TABLE essential.orders (
  store_id text NOT NULL, order_id text NOT NULL, customer_id text NOT NULL,
  total_minor bigint NOT NULL, placed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, order_id));
CREATE TABLE essential.order_lines (
  store_id text NOT NULL, order_id text NOT NULL, line_id text NOT NULL, sku text NOT NULL,
  quantity int NOT NULL, unit_price_minor bigint NOT NULL, net_minor bigint NOT NULL,
  PRIMARY KEY (store_id, order_id, line_id));
CREATE TABLE essential.outbox (
  store_id text NOT NULL, event_id bigserial, aggregate_id text NOT NULL, type text NOT NULL,
  payload bytea NOT NULL, PRIMARY KEY (store_id, event_id));
CREATE TABLE essential.outbox_delivery (
  store_id text NOT NULL, event_id bigint NOT NULL, subscriber text NOT NULL,
  state text NOT NULL DEFAULT 'pending', PRIMARY KEY (store_id, event_id, subscriber));
CREATE TABLE essential.inbox (
  store_id text NOT NULL, subscriber text NOT NULL, event_id bigint NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (store_id, subscriber, event_id));
CREATE TABLE essential.holds (
  store_id text NOT NULL, customer_id text NOT NULL, state text NOT NULL, version bigint NOT NULL,
  PRIMARY KEY (store_id, customer_id));
CREATE TABLE essential.balances (
  store_id text NOT NULL, customer_id text NOT NULL, pending bigint NOT NULL,
  PRIMARY KEY (store_id, customer_id));
CREATE TABLE essential.transfers (
  store_id text NOT NULL, transfer_id bigserial, customer_id text NOT NULL, points bigint NOT NULL,
  reason text NOT NULL, PRIMARY KEY (store_id, transfer_id));
CREATE TABLE essential.lots (
  store_id text NOT NULL, lot_id text NOT NULL, customer_id text NOT NULL, points bigint NOT NULL,
  expires_at timestamptz NOT NULL, PRIMARY KEY (store_id, lot_id));
INSERT INTO essential.holds SELECT 'bench-store', 'c' || i, 'active', 0 FROM generate_series(1, 1000) i;
INSERT INTO essential.balances SELECT 'bench-store', 'c' || i, 0 FROM generate_series(1, 1000) i;
