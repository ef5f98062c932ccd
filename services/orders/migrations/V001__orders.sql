-- Orders of a store, keyed by the store's own order id (the checkout's idempotency key).
-- A row with status 'abandoned' is a tombstone: that order id will never be placed.
CREATE TABLE orders (
  store_id            text        NOT NULL,
  order_id            text        NOT NULL,
  status              text        NOT NULL
                      CHECK (status IN ('placed', 'fulfilled', 'cancelled', 'abandoned')),
  customer_id         text,
  currency_code       text,
  subtotal_minor      bigint,     -- sum of line gross amounts
  discount_minor      bigint,     -- order-level discounts
  points_amount_minor bigint,     -- money taken off by paying with points
  points_paid         bigint,     -- points spent on the order
  shipping_minor      bigint,
  total_minor         bigint,     -- subtotal - discounts - points amount + shipping
  -- Merchandise revenue net of discounts, points, refunds and cancellation: what analytics sum.
  revenue_minor       bigint      NOT NULL DEFAULT 0,
  imported            boolean     NOT NULL DEFAULT false,
  earns_points        boolean     NOT NULL DEFAULT true,
  content_hash        text,       -- SHA-256 of the request's deterministic serialisation
  placed_response     bytea,      -- the first answer, returned to every replay
  event_seq           bigint      NOT NULL DEFAULT 0,  -- last outbox sequence of this order
  placed_at           timestamptz,
  fulfilled_at        timestamptz,
  cancelled_at        timestamptz,
  abandoned_at        timestamptz,
  PRIMARY KEY (store_id, order_id),
  CHECK (status = 'abandoned' OR (customer_id IS NOT NULL AND placed_at IS NOT NULL)),
  CHECK (revenue_minor >= 0)
);
CREATE INDEX orders_by_customer ON orders (store_id, customer_id, placed_at)
  WHERE status IN ('placed', 'fulfilled', 'cancelled');
CREATE INDEX orders_by_time ON orders (store_id, placed_at) INCLUDE (customer_id, revenue_minor)
  WHERE status IN ('placed', 'fulfilled');

-- Lines, with the order-level discounts and points payment allocated to each (largest
-- remainder, so they add up exactly): earning, clawback and refunds work per line.
CREATE TABLE order_lines (
  store_id            text    NOT NULL,
  order_id            text    NOT NULL,
  line_id             text    NOT NULL,
  position            integer NOT NULL,
  sku                 text    NOT NULL,
  category            text    NOT NULL,
  unit_price_minor    bigint  NOT NULL CHECK (unit_price_minor >= 0),
  quantity            integer NOT NULL CHECK (quantity > 0),
  gift_wrappable      boolean NOT NULL,
  gross_minor         bigint  NOT NULL,  -- unit price x quantity
  discount_minor      bigint  NOT NULL,  -- this line's share of order-level discounts
  points_amount_minor bigint  NOT NULL,  -- this line's share of the money paid with points
  points_paid         bigint  NOT NULL,  -- this line's share of the points paid
  net_minor           bigint  NOT NULL CHECK (net_minor >= 0),
  refunded_quantity   integer NOT NULL DEFAULT 0,
  refunded_minor      bigint  NOT NULL DEFAULT 0,
  PRIMARY KEY (store_id, order_id, line_id),
  FOREIGN KEY (store_id, order_id) REFERENCES orders,
  CHECK (refunded_quantity BETWEEN 0 AND quantity),
  CHECK (refunded_minor BETWEEN 0 AND net_minor)
);
CREATE INDEX order_lines_by_sku ON order_lines (store_id, sku);

CREATE TABLE order_discounts (
  store_id     text    NOT NULL,
  order_id     text    NOT NULL,
  position     integer NOT NULL,
  code         text    NOT NULL,
  amount_minor bigint  NOT NULL CHECK (amount_minor >= 0),
  PRIMARY KEY (store_id, order_id, position),
  FOREIGN KEY (store_id, order_id) REFERENCES orders
);

-- Points holds the order uses; the points service commits them when it applies order.placed.
CREATE TABLE order_points_payments (
  store_id     text   NOT NULL,
  order_id     text   NOT NULL,
  hold_id      text   NOT NULL,
  points       bigint NOT NULL CHECK (points > 0),
  amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
  PRIMARY KEY (store_id, order_id, hold_id),
  FOREIGN KEY (store_id, order_id) REFERENCES orders
);

-- Refunds, idempotent by the store's refund id.
CREATE TABLE refunds (
  store_id     text        NOT NULL,
  refund_id    text        NOT NULL,
  order_id     text        NOT NULL,
  content_hash text        NOT NULL,
  response     bytea       NOT NULL,
  amount_minor bigint      NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, refund_id),
  FOREIGN KEY (store_id, order_id) REFERENCES orders
);

CREATE TABLE refund_lines (
  store_id     text    NOT NULL,
  refund_id    text    NOT NULL,
  line_id      text    NOT NULL,
  quantity     integer NOT NULL CHECK (quantity > 0),
  amount_minor bigint  NOT NULL CHECK (amount_minor >= 0),
  PRIMARY KEY (store_id, refund_id, line_id),
  -- Deferred: a refund's lines are written before its header, which holds the final answer.
  FOREIGN KEY (store_id, refund_id) REFERENCES refunds DEFERRABLE INITIALLY DEFERRED
);
