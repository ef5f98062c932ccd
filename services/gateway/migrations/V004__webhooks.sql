-- Webhook endpoints and their delivery attempts (docs/webhooks.md).
--
-- Secrets are stored as issued, not hashed: the dispatcher must sign with them. The database is
-- the trust boundary for them, as it is for every other store's data.
CREATE TABLE webhook_endpoints (
  store_id                 text        NOT NULL REFERENCES stores (store_id),
  endpoint_id              text        NOT NULL,
  url                      text        NOT NULL,
  event_types              text[]      NOT NULL DEFAULT '{}',
  secret                   text        NOT NULL,
  -- The secret before the last rotation, signing beside the new one until it expires.
  previous_secret          text,
  previous_secret_expires  timestamptz,
  enabled                  boolean     NOT NULL DEFAULT true,
  disabled_reason          text        NOT NULL DEFAULT '',
  -- Dispatch state: the last event handled, failed attempts of the next one, and when the
  -- dispatcher may look at the endpoint again. A dispatcher holds the endpoint's session
  -- advisory lock for the whole of an attempt (webhooks/webhook_dispatcher.hpp), so two gateways
  -- never send the same attempt and an endpoint has one request in flight (events stay in order).
  cursor                   text        NOT NULL DEFAULT '',
  attempts                 integer     NOT NULL DEFAULT 0,
  next_attempt_at          timestamptz NOT NULL DEFAULT now(),
  created_at               timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, endpoint_id)
);
CREATE INDEX webhook_endpoints_due ON webhook_endpoints (next_attempt_at) WHERE enabled;

CREATE TABLE webhook_attempts (
  store_id       text        NOT NULL,
  attempt_id     bigserial   NOT NULL,
  endpoint_id    text        NOT NULL,
  webhook_id     text        NOT NULL,
  event_cursor   text        NOT NULL,
  event_type     text        NOT NULL,
  attempt        integer     NOT NULL,
  status         text        NOT NULL CHECK (status IN ('delivered', 'failed', 'refused', 'gone')),
  response_code  integer     NOT NULL DEFAULT 0,
  latency_ms     bigint      NOT NULL DEFAULT 0,
  error          text        NOT NULL DEFAULT '',
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, attempt_id),
  FOREIGN KEY (store_id, endpoint_id) REFERENCES webhook_endpoints (store_id, endpoint_id)
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (store_id, endpoint_id, attempt_id DESC);
