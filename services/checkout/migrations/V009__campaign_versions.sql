-- Campaign versions (docs/campaigns.md, "Versions"): each PutCampaign writes a new version,
-- never an update, with who, why and when it takes effect; a run uses the version in force when
-- it runs. `campaigns` keeps each campaign's latest version number: its row lock orders
-- concurrent puts of one campaign. Its definition, author and reason stay (the latest put's,
-- still written) for the previous release's pods during a rolling upgrade
-- (docs/operations.md); a later release drops them.
CREATE TABLE campaign_versions (
  store_id       text        NOT NULL,
  campaign_id    text        NOT NULL,
  version        integer     NOT NULL CHECK (version > 0),
  definition     bytea       NOT NULL,  -- gateway.v1.CampaignDefinition, serialized
  author         text        NOT NULL,
  reason         text        NOT NULL,
  effective_from timestamptz NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, campaign_id, version)
);

INSERT INTO campaign_versions (store_id, campaign_id, version, definition, author, reason,
                               effective_from, created_at)
  SELECT store_id, campaign_id, 1, definition, author, reason, updated_at, updated_at
  FROM campaigns;

ALTER TABLE campaigns ADD COLUMN version integer NOT NULL DEFAULT 1;
