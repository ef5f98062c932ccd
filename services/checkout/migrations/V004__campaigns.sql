-- Campaigns (docs/campaigns.md): definitions, and whom each reached for which period. The
-- primary key of campaign_sends is what makes a run safe to repeat and to run on two replicas.
CREATE TABLE campaigns (
  store_id    text        NOT NULL,
  campaign_id text        NOT NULL,
  definition  bytea       NOT NULL,  -- gateway.v1.CampaignDefinition, serialized
  author      text        NOT NULL,
  reason      text        NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, campaign_id)
);

CREATE TABLE campaign_sends (
  store_id    text        NOT NULL,
  campaign_id text        NOT NULL,
  customer_id text        NOT NULL,
  period      text        NOT NULL,  -- win-back: the lapse's last order time, in micros
  code        text        NOT NULL DEFAULT '',
  sent_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, campaign_id, customer_id, period)
);
