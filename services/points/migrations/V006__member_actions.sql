-- Member actions. Each rewarded action is a lot of kind 'action' whose id is its key (LotId:
-- the action and what it is about, e.g. ('share', reference) or ('birthday', customer, year)),
-- so a replay meets the primary key and earns nothing twice; `actions` records the same key with
-- the customer and time, for the caps per period.
ALTER TABLE lots DROP CONSTRAINT lots_kind_check;
ALTER TABLE lots ADD CONSTRAINT lots_kind_check
  CHECK (kind IN ('earn', 'adjust', 'payback', 'action'));

CREATE TABLE actions (
  store_id    text        NOT NULL,
  lot_id      text        NOT NULL,  -- the ledger key, also the lot's id
  customer_id text        NOT NULL,  -- who earned
  action      text        NOT NULL CHECK (action IN ('signup', 'first_purchase', 'birthday',
                                                     'share', 'review', 'referrer', 'referee')),
  points      bigint      NOT NULL CHECK (points > 0),
  occurred_at timestamptz NOT NULL,  -- counts towards the cap of the period it falls in
  PRIMARY KEY (store_id, lot_id)
);
CREATE INDEX actions_by_customer ON actions (store_id, customer_id, action, occurred_at);

-- Each customer's first order, from order.placed (order.imported: history, which earns no
-- first-purchase points but is still the customer's first order). `waiting` until its return
-- window ends (window_ends_at; NULL: waits for fulfilment), then `rewarded`; `void` when it was
-- imported, refunded or cancelled first: it earns nothing, for the customer or a referrer.
CREATE TABLE first_orders (
  store_id       text        NOT NULL,
  customer_id    text        NOT NULL,
  order_id       text        NOT NULL,
  window_ends_at timestamptz,
  state          text        NOT NULL CHECK (state IN ('waiting', 'rewarded', 'void')),
  PRIMARY KEY (store_id, customer_id)
);
CREATE INDEX first_orders_due ON first_orders (window_ends_at) WHERE state = 'waiting';
CREATE INDEX first_orders_by_order ON first_orders (store_id, order_id);

-- Who referred whom: one referrer per referee (the first recorded), rewarded with the referee's
-- first order (rewarded_at, which the cap per referrer and period counts; NULL: not rewarded).
CREATE TABLE referrals (
  store_id    text        NOT NULL,
  referee_id  text        NOT NULL,
  referrer_id text        NOT NULL CHECK (referrer_id <> referee_id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  rewarded_at timestamptz,
  PRIMARY KEY (store_id, referee_id)
);
CREATE INDEX referrals_by_referrer ON referrals (store_id, referrer_id, rewarded_at);
