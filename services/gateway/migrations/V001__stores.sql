-- Stores (tenants), their API keys, checkouts and the admin audit log.
CREATE TABLE stores (
  store_id          text        NOT NULL,
  name              text        NOT NULL,
  currency_code     text        NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
  time_zone         text        NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id)
);

-- CreateStore's idempotency: the operator's request ids, across stores.
CREATE TABLE create_store_requests (
  request_id   text        NOT NULL,
  request_hash text        NOT NULL,
  store_id     text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (request_id)
);
COMMENT ON TABLE create_store_requests IS 'loyalty:reference';

-- One row per (store, key): an admin key granted several stores has one row for each, all with
-- the same hash, kind, role and revocation. Only the SHA-256 hash of the key is stored.
CREATE TABLE api_keys (
  store_id              text        NOT NULL REFERENCES stores (store_id),
  key_id                text        NOT NULL,
  kind                  text        NOT NULL CHECK (kind IN ('storefront', 'admin')),
  role                  text        NOT NULL CHECK (role IN ('', 'viewer', 'editor', 'owner')),
  key_hash              text        NOT NULL,
  display_name          text        NOT NULL DEFAULT '',
  rate_limit_per_second integer     NOT NULL DEFAULT 0 CHECK (rate_limit_per_second >= 0),
  created_at            timestamptz NOT NULL DEFAULT now(),
  revoked_at            timestamptz,
  PRIMARY KEY (store_id, key_id)
);
CREATE INDEX api_keys_key_id ON api_keys (key_id);

-- The safe checkout: one row per store order id, the idempotency record of PlaceOrder.
CREATE TABLE checkouts (
  store_id      text        NOT NULL REFERENCES stores (store_id),
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

-- Every admin mutation: who, when, what, before and after.
CREATE TABLE audit_log (
  store_id     text        NOT NULL REFERENCES stores (store_id),
  audit_id     bigserial   NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  actor_key_id text        NOT NULL,
  method       text        NOT NULL,
  request_json text        NOT NULL,
  before_json  text        NOT NULL DEFAULT '',
  after_json   text        NOT NULL DEFAULT '',
  PRIMARY KEY (store_id, audit_id)
);
