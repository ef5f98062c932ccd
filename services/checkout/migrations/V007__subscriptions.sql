-- Subscriptions (docs/subscriptions.md): a customer's SKUs at an interval; each renewal order
-- placed through checkout earns the store's renewal bonus. Times the job looks for are columns of
-- their own, written with next_renewal_at by the service (timestamptz arithmetic is not
-- immutable, so announce_at cannot be a generated column).
CREATE TABLE subscriptions (
  store_id        text        NOT NULL,
  subscription_id text        NOT NULL,
  customer_id     text        NOT NULL,
  lines           bytea       NOT NULL,  -- gateway.v1.Subscription holding only its lines
  interval_days   integer     NOT NULL CHECK (interval_days BETWEEN 1 AND 365),
  notice_hours    integer     NOT NULL CHECK (notice_hours BETWEEN 1 AND 720),
  status          text        NOT NULL CHECK (status IN ('active', 'paused', 'cancelled')),
  next_renewal_at timestamptz NOT NULL,
  announce_at     timestamptz NOT NULL,  -- next_renewal_at - notice_hours
  announced       boolean     NOT NULL DEFAULT false,  -- renewal_due went out for next_renewal_at
  renewals        bigint      NOT NULL DEFAULT 0,
  last_order_id   text        NOT NULL DEFAULT '',
  started_at      timestamptz NOT NULL,
  cancelled_at    timestamptz,
  event_sequence  bigint      NOT NULL DEFAULT 0,  -- outbox sequence of subscription/<id>
  PRIMARY KEY (store_id, subscription_id)
);
CREATE INDEX subscriptions_customer ON subscriptions (store_id, customer_id, started_at);
-- The job reads only the announcements that are due.
CREATE INDEX subscriptions_announce_due ON subscriptions (announce_at)
  WHERE status = 'active' AND NOT announced;
CREATE INDEX subscriptions_started ON subscriptions (store_id, started_at);
CREATE INDEX subscriptions_cancelled ON subscriptions (store_id, cancelled_at)
  WHERE cancelled_at IS NOT NULL;

-- One row per renewal order: the order id keys a checkout's retries, (subscription, renewal)
-- makes two orders for one renewal move the subscription on once.
CREATE TABLE subscription_renewals (
  store_id        text        NOT NULL,
  order_id        text        NOT NULL,
  subscription_id text        NOT NULL,
  renewal_at      timestamptz NOT NULL,  -- the renewal the order fulfilled
  bonus_points    bigint      NOT NULL CHECK (bonus_points >= 0),
  placed_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, order_id),
  UNIQUE (store_id, subscription_id, renewal_at)
);
CREATE INDEX subscription_renewals_placed ON subscription_renewals (store_id, placed_at);
