-- Program settings per store, versioned: a new row per change, the newest in force.
CREATE TABLE settings (
  store_id      text        NOT NULL,
  version       integer     NOT NULL CHECK (version > 0),
  currency_code text        NOT NULL,
  time_zone     text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, version)
);
