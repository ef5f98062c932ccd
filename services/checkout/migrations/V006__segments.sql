-- Saved segments (docs/campaigns.md): a campaign's audience by name, evaluated on the orders data
-- at each run or preview.
CREATE TABLE segments (
  store_id    text        NOT NULL,
  segment_id  text        NOT NULL,
  definition  bytea       NOT NULL,  -- gateway.v1.CampaignAudience, serialized
  author      text        NOT NULL,
  reason      text        NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, segment_id)
);
