-- Orders of a store, keyed by the store's own order id (the checkout's idempotency key).
CREATE TABLE orders (
  store_id      text        NOT NULL,
  order_id      text        NOT NULL,
  customer_id   text        NOT NULL,
  currency_code text        NOT NULL,
  status        text        NOT NULL CHECK (status IN ('placed', 'fulfilled', 'cancelled')),
  content_hash  text        NOT NULL,   -- hash of the request's deterministic serialisation
  event_seq     bigint      NOT NULL DEFAULT 0,  -- last outbox sequence used for this order
  placed_at     timestamptz NOT NULL,
  PRIMARY KEY (store_id, order_id)
);
