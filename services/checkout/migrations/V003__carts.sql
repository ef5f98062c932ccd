-- Abandoned carts (docs/codes.md): the last cart each known customer quoted, while the store's
-- Settings.cart_recovery is on. One row per customer: an order (its checkout starting) or an
-- abandonment ends a cart; the next quote starts the next (cart_number + 1).
CREATE TABLE carts (
  store_id      text        NOT NULL,
  customer_id   text        NOT NULL,
  cart_number   bigint      NOT NULL DEFAULT 1,
  state         text        NOT NULL CHECK (state IN ('open', 'ordered', 'abandoned')),
  cart          bytea       NOT NULL,  -- gateway.v1.Cart as last quoted, serialized
  currency_code text        NOT NULL,
  quoted_at     timestamptz NOT NULL,
  abandon_at    timestamptz NOT NULL,  -- quoted_at + the store's after_hours at that quote
  code_batch_id text        NOT NULL DEFAULT '',
  event_sequence bigint     NOT NULL DEFAULT 0,  -- the outbox sequence of aggregate cart/<customer>
  PRIMARY KEY (store_id, customer_id)
);
-- The job reads only the open carts that are due.
CREATE INDEX carts_due ON carts (abandon_at) WHERE state = 'open';
