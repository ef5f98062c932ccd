-- Program settings and earning rules, both versioned: a new row per change, never an update.
CREATE TABLE settings (
  store_id                      text        NOT NULL,
  version                       integer     NOT NULL CHECK (version > 0),
  settings                      bytea       NOT NULL,  -- serialized loyalty.points.v1.Settings
  created_at                    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, version)
);

CREATE TABLE rule_versions (
  store_id       text        NOT NULL,
  version        integer     NOT NULL CHECK (version > 0),
  effective_from timestamptz NOT NULL,
  rules          bytea       NOT NULL,  -- serialized loyalty.points.v1.EarnRules
  published_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, version)
);
CREATE INDEX rule_versions_effective ON rule_versions (store_id, effective_from DESC);
