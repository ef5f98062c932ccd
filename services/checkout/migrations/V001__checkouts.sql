-- The safe checkout: one row per store order id, the idempotency record of PlaceOrder.
-- (Moved from the gateway's schema: checkout owns the saga.)
CREATE TABLE checkouts (
  store_id      text        NOT NULL,
  order_id      text        NOT NULL,
  request_hash  text        NOT NULL,
  state         text        NOT NULL CHECK (state IN ('started', 'placed', 'refused')),
  hold_id       text        NOT NULL DEFAULT '',
  response      text,                     -- PlaceOrderResponse once placed, hex of its bytes
  error_code    integer     NOT NULL DEFAULT 0,
  error_reason  text        NOT NULL DEFAULT '',
  error_message text        NOT NULL DEFAULT '',
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, order_id)
);
