-- Tiers (services/points/program/tiers.*, docs/tiers.md).
-- Tier programs, versioned like the earn rules: a new row per publish, never an update; each
-- version says who published it and why.
CREATE TABLE tier_versions (
  store_id       text        NOT NULL,
  version        integer     NOT NULL CHECK (version > 0),
  effective_from timestamptz NOT NULL,
  program        bytea       NOT NULL,  -- serialized loyalty.points.v1.TierProgram
  author         text        NOT NULL,
  reason         text        NOT NULL,
  published_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, version)
);
CREATE INDEX tier_versions_effective ON tier_versions (store_id, effective_from DESC);

-- What each order line counts toward tiers: its net and its points, less what refunds took
-- back (the same cumulative shares as the clawback), at the order's placed time. Kept whether
-- or not the store has tiers yet, so a program published later counts past orders.
CREATE TABLE tier_activity (
  store_id      text        NOT NULL,
  order_id      text        NOT NULL,
  line_id       text        NOT NULL,
  customer_id   text        NOT NULL,
  placed_at     timestamptz NOT NULL,
  net_minor     bigint      NOT NULL CHECK (net_minor >= 0),
  earned_points bigint      NOT NULL CHECK (earned_points >= 0),
  quantity      integer     NOT NULL CHECK (quantity > 0),
  spend_minor   bigint      NOT NULL CHECK (spend_minor >= 0),  -- net after refunds
  points        bigint      NOT NULL CHECK (points >= 0),       -- points after refunds
  PRIMARY KEY (store_id, order_id, line_id)
);
CREATE INDEX tier_activity_by_customer ON tier_activity (store_id, customer_id, placed_at);

-- Each customer's tier: the earned one and a manual one set by an admin (who, why, until).
-- review_at is when the tier job must look again (the earlier of kept_until and manual_until),
-- so a pass costs what is due, not what exists.
CREATE TABLE customer_tiers (
  store_id       text        NOT NULL,
  customer_id    text        NOT NULL,
  tier_id        text        NOT NULL DEFAULT '',
  since          timestamptz NOT NULL DEFAULT now(),
  kept_until     timestamptz,
  manual_tier_id text        NOT NULL DEFAULT '',
  manual_until   timestamptz,
  manual_by      text        NOT NULL DEFAULT '',
  manual_reason  text        NOT NULL DEFAULT '',
  review_at      timestamptz,
  PRIMARY KEY (store_id, customer_id)
);
CREATE INDEX customer_tiers_to_review ON customer_tiers (review_at) WHERE review_at IS NOT NULL;
