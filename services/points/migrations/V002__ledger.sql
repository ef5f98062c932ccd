-- The double-entry ledger. Every movement of points is one immutable transfer between two named
-- accounts; a customer's balances are kept here in the same transaction and can be re-derived.
-- Store accounts (issued, redeemed, expired, clawed_back, written_off) have no balance row: a row
-- updated by every transaction of a store would serialise all its commits. Their balances are
-- sums over transfers (LiabilityReport, VerifyLedger).

CREATE TABLE balances (
  store_id    text   NOT NULL,
  customer_id text   NOT NULL,
  pending     bigint NOT NULL DEFAULT 0 CHECK (pending >= 0),
  available   bigint NOT NULL DEFAULT 0 CHECK (available >= 0),
  held        bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
  debt        bigint NOT NULL DEFAULT 0 CHECK (debt <= 0),  -- negative: points owed
  PRIMARY KEY (store_id, customer_id)
);

CREATE TABLE transfers (
  store_id     text        NOT NULL,
  transfer_id  bigserial   NOT NULL,
  customer_id  text        NOT NULL,
  from_account text        NOT NULL,
  to_account   text        NOT NULL,
  amount       bigint      NOT NULL CHECK (amount > 0),
  kind         text        NOT NULL,
  reason       text        NOT NULL DEFAULT '',
  order_id     text        NOT NULL DEFAULT '',
  line_id      text        NOT NULL DEFAULT '',
  lot_id       text        NOT NULL DEFAULT '',
  rule_version integer     NOT NULL DEFAULT 0,
  request_id   text        NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, transfer_id),
  CHECK (from_account <> to_account),
  CHECK (from_account IN ('pending', 'available', 'held', 'debt', 'issued', 'redeemed', 'expired',
                          'clawed_back', 'written_off')),
  CHECK (to_account IN ('pending', 'available', 'held', 'debt', 'issued', 'redeemed', 'expired',
                        'clawed_back', 'written_off'))
);
CREATE INDEX transfers_by_customer ON transfers (store_id, customer_id, transfer_id DESC);

-- Transfers are immutable: the database itself refuses to change or remove them.
CREATE FUNCTION refuse_transfer_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'transfers are immutable (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER transfers_immutable BEFORE UPDATE OR DELETE ON transfers
  FOR EACH ROW EXECUTE FUNCTION refuse_transfer_change();
CREATE TRIGGER transfers_no_truncate BEFORE TRUNCATE ON transfers
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_transfer_change();

-- Earned points form lots, one per order line (or adjustment), spent and expired oldest first.
-- pending + available + held_in(lot) + spent + expired + clawed = earned + paid_back.
CREATE TABLE lots (
  store_id      text        NOT NULL,
  lot_id        text        NOT NULL,
  customer_id   text        NOT NULL,
  kind          text        NOT NULL CHECK (kind IN ('earn', 'adjust', 'payback')),
  order_id      text        NOT NULL DEFAULT '',
  line_id       text        NOT NULL DEFAULT '',
  rule_version  integer     NOT NULL DEFAULT 0,
  earned        bigint      NOT NULL CHECK (earned >= 0),
  pending       bigint      NOT NULL CHECK (pending >= 0),
  available     bigint      NOT NULL CHECK (available >= 0),
  clawed        bigint      NOT NULL DEFAULT 0,   -- earned points taken back by refunds
  line_quantity integer     NOT NULL DEFAULT 0,   -- units of the line, for per-unit clawback
  paid_points   bigint      NOT NULL DEFAULT 0,   -- points that paid for this line (H)
  paid_back     bigint      NOT NULL DEFAULT 0,   -- of those, given back by refunds
  available_at  timestamptz,                      -- NULL: waits for fulfilment
  expires_at    timestamptz,                      -- NULL: never
  warned        boolean     NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, lot_id)
);
CREATE INDEX lots_by_customer ON lots (store_id, customer_id, expires_at NULLS LAST, lot_id)
  WHERE available > 0;
CREATE INDEX lots_to_release ON lots (available_at) WHERE pending > 0;
CREATE INDEX lots_to_expire ON lots (expires_at) WHERE available > 0;
CREATE INDEX lots_by_order ON lots (store_id, order_id);

-- Two-phase redemption holds; hold_lots records which lots a hold took points from.
CREATE TABLE holds (
  store_id    text        NOT NULL,
  hold_id     text        NOT NULL,
  customer_id text        NOT NULL,
  order_id    text        NOT NULL,
  points      bigint      NOT NULL CHECK (points > 0),
  value_minor bigint      NOT NULL,
  state       text        NOT NULL CHECK (state IN ('active', 'committed', 'voided', 'expired')),
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  ended_at    timestamptz,
  PRIMARY KEY (store_id, hold_id)
);
CREATE INDEX holds_to_expire ON holds (expires_at) WHERE state = 'active';

CREATE TABLE hold_lots (
  store_id text   NOT NULL,
  hold_id  text   NOT NULL,
  lot_id   text   NOT NULL,
  points   bigint NOT NULL CHECK (points > 0),
  PRIMARY KEY (store_id, hold_id, lot_id)
);
