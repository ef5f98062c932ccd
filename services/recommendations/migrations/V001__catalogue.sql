-- The catalogue of a store, as the recommendations need it, with each product's order count.
-- A SKU seen in an order before the catalogue names it gets a row with catalogued = false: it is
-- counted (so the model is exact whatever the order of arrival) but never suggested.
-- Keys compare byte-wise (COLLATE "C") in every table of this schema: sorting and joining them is
-- cheaper than with the database's locale, and ties by SKU break in the same order in SQL and C++.
CREATE TABLE products (
  store_id       text COLLATE "C" NOT NULL,
  sku            text COLLATE "C" NOT NULL,
  -- The model's compact key for the SKU (pairs and recorded lines hold it, not the text).
  product_id     bigint GENERATED ALWAYS AS IDENTITY,
  catalogued     boolean NOT NULL DEFAULT false,
  name           text,
  category       text COLLATE "C",
  price_minor    bigint CHECK (price_minor >= 0),
  in_stock       boolean NOT NULL DEFAULT false,
  hidden         boolean NOT NULL DEFAULT false,
  gift_wrappable boolean NOT NULL DEFAULT false,
  kind           text NOT NULL DEFAULT 'merchandise' CHECK (kind IN ('merchandise', 'gift_wrap')),
  premium_sku    text COLLATE "C",  -- the explicit upgrade; may name a SKU not (yet) catalogued
  tags           text[] NOT NULL DEFAULT '{}',
  -- Counted orders holding this product now (net of refunds and cancellations, in the window).
  orders_count   bigint NOT NULL DEFAULT 0 CHECK (orders_count >= 0),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  -- May be suggested as cross-sell, upsell, gap closer or popular product.
  eligible       boolean GENERATED ALWAYS AS
                   (catalogued AND in_stock AND NOT hidden AND kind = 'merchandise') STORED,
  PRIMARY KEY (store_id, sku),
  UNIQUE (store_id, product_id),
  CHECK (NOT catalogued OR (name IS NOT NULL AND category IS NOT NULL AND price_minor IS NOT NULL)),
  CHECK (premium_sku IS DISTINCT FROM sku)
);
-- Cold start: the most ordered products of the store, and of a category.
CREATE INDEX products_popular ON products (store_id, orders_count DESC, sku) WHERE eligible;
CREATE INDEX products_category_popular ON products (store_id, category, orders_count DESC, sku)
  WHERE eligible;
-- Upsell within a category's price band.
CREATE INDEX products_category_price ON products (store_id, category, price_minor) WHERE eligible;
-- Free-shipping gap closers: the cheapest products at or above the missing amount.
CREATE INDEX products_price ON products (store_id, price_minor, sku) WHERE eligible;
-- The store's gift-wrap products.
CREATE INDEX products_gift_wrap ON products (store_id, price_minor, sku)
  WHERE kind = 'gift_wrap' AND catalogued AND in_stock AND NOT hidden;
