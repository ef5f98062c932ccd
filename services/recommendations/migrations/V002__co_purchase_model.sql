-- The co-purchase model: the recorded orders it is learnt from, and its exact counts. Products
-- are referred to by products.product_id and orders by orders.order_key: integer keys make the
-- pair rows narrow and RebuildModel's joins and aggregates cheap.

-- Per store: the window of orders the model counts, and when it was last rebuilt. Every event
-- reads this row FOR SHARE and RebuildModel updates it, so a rebuild and the events of its store
-- never interleave.
CREATE TABLE model_state (
  store_id     text COLLATE "C" NOT NULL,
  window_start timestamptz,  -- NULL: every recorded order counts
  rebuilt_at   timestamptz,
  PRIMARY KEY (store_id)
);

-- Every order received (placed or imported), whether or not it is counted.
CREATE TABLE orders (
  store_id    text COLLATE "C" NOT NULL,
  order_id    text COLLATE "C" NOT NULL,
  order_key   bigint GENERATED ALWAYS AS IDENTITY,
  customer_id text COLLATE "C" NOT NULL DEFAULT '',
  placed_at   timestamptz NOT NULL,
  cancelled   boolean NOT NULL DEFAULT false,
  PRIMARY KEY (store_id, order_id)
);
CREATE INDEX orders_customer ON orders (store_id, customer_id);

-- One row per distinct SKU of an order (lines of the same SKU are summed). `position` is the
-- SKU's rank among the order's distinct SKUs in line order, fixed when the order is placed:
-- only positions below 20 form pairs. The SKU is in the order's basket while quantity > refunded
-- and the order is not cancelled. placed_at and cancelled repeat the order's, so that a rebuild
-- reads this table alone.
CREATE TABLE order_lines (
  store_id   text COLLATE "C" NOT NULL,
  order_key  bigint NOT NULL,
  product_id bigint NOT NULL,
  position   smallint NOT NULL CHECK (position >= 0),
  quantity   integer NOT NULL CHECK (quantity > 0),
  refunded   integer NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= quantity),
  placed_at  timestamptz NOT NULL,
  cancelled  boolean NOT NULL DEFAULT false,
  PRIMARY KEY (store_id, order_key, product_id)
);

-- Counted orders holding both products, stored in both directions so that a product's partners
-- are one index range. Rows that fall to 0 are deleted in the transaction that takes them there.
CREATE TABLE pairs (
  store_id   text COLLATE "C" NOT NULL,
  product_id bigint NOT NULL,
  other_id   bigint NOT NULL,
  together   bigint NOT NULL CHECK (together >= 0),
  PRIMARY KEY (store_id, product_id, other_id),
  CHECK (product_id <> other_id)
);
-- A product's candidates: its partners bought together most often.
CREATE INDEX pairs_rank ON pairs (store_id, product_id, together DESC, other_id);
