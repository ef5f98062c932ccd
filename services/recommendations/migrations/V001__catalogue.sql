-- The catalogue of a store, as the recommendations need it.
CREATE TABLE products (
  store_id       text        NOT NULL,
  sku            text        NOT NULL,
  name           text        NOT NULL,
  category       text        NOT NULL,
  price_minor    bigint      NOT NULL CHECK (price_minor >= 0),
  in_stock       boolean     NOT NULL,
  hidden         boolean     NOT NULL DEFAULT false,
  gift_wrappable boolean     NOT NULL DEFAULT false,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, sku)
);
