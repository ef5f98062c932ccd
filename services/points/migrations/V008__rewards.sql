-- The rewards catalogue (services/points/program/rewards.*, docs/rewards.md).
-- Each reward's definitions, versioned like the tiers: a new row per change, never an update;
-- each version says who wrote it and why.
CREATE TABLE reward_versions (
  store_id   text        NOT NULL,
  reward_id  text        NOT NULL,
  version    integer     NOT NULL CHECK (version > 0),
  definition bytea       NOT NULL,  -- serialized loyalty.points.v1.RewardDefinition
  author     text        NOT NULL,
  reason     text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, reward_id, version)
);

-- Each reward's current version and its stock: the units redeemed across versions, and the
-- current version's limit beside them (0: none), so that taking a unit is one conditional
-- UPDATE that can never pass the limit, whatever the concurrency.
CREATE TABLE rewards (
  store_id    text    NOT NULL,
  reward_id   text    NOT NULL,
  version     integer NOT NULL,
  stock_limit bigint  NOT NULL CHECK (stock_limit >= 0),
  redeemed    bigint  NOT NULL DEFAULT 0 CHECK (redeemed >= 0),
  PRIMARY KEY (store_id, reward_id),
  FOREIGN KEY (store_id, reward_id, version) REFERENCES reward_versions,
  CHECK (stock_limit = 0 OR redeemed <= stock_limit)
);
