-- The co-purchase model: the recorded orders it is learnt from, and its exact counts.

-- Per store: the window of orders the model counts, and when it was last rebuilt. Every event
-- reads this row FOR SHARE and RebuildModel updates it, so a rebuild and the events of its store
-- never interleave.
CREATE TABLE model_state (
  store_id     text        NOT NULL,
  window_start timestamptz,          -- NULL: every recorded order counts
  rebuilt_at   timestamptz,
  PRIMARY KEY (store_id)
);

-- Every order received (placed or imported), whether or not it is counted.
CREATE TABLE orders (
  store_id    text        NOT NULL,
  order_id    text        NOT NULL,
  customer_id text        NOT NULL DEFAULT '',
  placed_at   timestamptz NOT NULL,
  cancelled   boolean     NOT NULL DEFAULT false,
  PRIMARY KEY (store_id, order_id)
);
CREATE INDEX orders_customer ON orders (store_id, customer_id);

-- One row per distinct SKU of an order (lines of the same SKU are summed). `position` is the
-- SKU's rank among the order's distinct SKUs in line order, fixed when the order is placed:
-- only positions below 20 form pairs. The SKU is in the order's basket while quantity > refunded
-- and the order is not cancelled.
CREATE TABLE order_lines (
  store_id  text     NOT NULL,
  order_id  text     NOT NULL,
  sku       text     NOT NULL,
  position  smallint NOT NULL CHECK (position >= 0),
  quantity  integer  NOT NULL CHECK (quantity > 0),
  refunded  integer  NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= quantity),
  PRIMARY KEY (store_id, order_id, sku),
  FOREIGN KEY (store_id, order_id) REFERENCES orders ON DELETE CASCADE
);

-- Counted orders holding both products, stored in both directions so that a product's partners
-- are one index range. Rows that fall to 0 are deleted in the transaction that takes them there.
CREATE TABLE pairs (
  store_id  text   NOT NULL,
  sku       text   NOT NULL,
  other_sku text   NOT NULL,
  together  bigint NOT NULL CHECK (together >= 0),
  PRIMARY KEY (store_id, sku, other_sku),
  CHECK (sku <> other_sku)
);
-- A product's candidates: its partners bought together most often.
CREATE INDEX pairs_rank ON pairs (store_id, sku, together DESC, other_sku);
