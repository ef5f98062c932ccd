-- Discount codes (docs/codes.md). A batch is one admin request: one definition, one or many codes.
CREATE TABLE code_batches (
  store_id   text        NOT NULL,
  batch_id   text        NOT NULL,  -- the request id of CreateDiscountCodes
  definition bytea       NOT NULL,  -- gateway.v1.CodeDefinition, serialized
  count      integer     NOT NULL,
  author     text        NOT NULL,
  reason     text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, batch_id)
);

-- One row per code. `uses` counts the orders holding or having used it: the claim takes a use
-- under the row's lock and the CHECK guards the limit, so no code is used past max_uses.
-- No foreign key to its batch: the batch is written in the same transaction by the only writer,
-- and the per-row check would make a 100,000-code batch half as slow again (docs/codes.md).
CREATE TABLE codes (
  store_id text   NOT NULL,
  code     text   NOT NULL,
  batch_id text   NOT NULL,
  max_uses bigint NOT NULL CHECK (max_uses >= 0),
  uses     bigint NOT NULL DEFAULT 0 CHECK (uses >= 0 AND (max_uses = 0 OR uses <= max_uses)),
  PRIMARY KEY (store_id, code)
);
CREATE INDEX codes_by_batch ON codes (store_id, batch_id, code);

-- A checkout's claim of a code, keyed by its order id like the checkout itself: 'held' from the
-- claim until the order is created ('used'); a refused or abandoned checkout deletes its held
-- claim and gives the use back.
CREATE TABLE code_claims (
  store_id    text        NOT NULL,
  order_id    text        NOT NULL,
  code        text        NOT NULL,
  customer_id text        NOT NULL,
  state       text        NOT NULL CHECK (state IN ('held', 'used')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, order_id),
  FOREIGN KEY (store_id, code) REFERENCES codes (store_id, code)
);
CREATE INDEX code_claims_by_customer ON code_claims (store_id, code, customer_id);
-- The claim expiry job reads only the held claims that are due.
CREATE INDEX code_claims_held ON code_claims (created_at) WHERE state = 'held';
