-- Stores (tenants) and their API keys. Keys are stored only as SHA-256 hashes.
CREATE TABLE stores (
  store_id      text        NOT NULL,
  name          text        NOT NULL,
  currency_code text        NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
  time_zone     text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id)
);
