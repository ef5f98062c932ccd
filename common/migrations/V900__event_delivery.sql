-- Event delivery tables, created in every schema that publishes or receives events.
-- See common/include/loyalty/common/events.hpp.

-- Publisher side: events written in the same transaction as the change they describe.
CREATE TABLE outbox (
  store_id     text        NOT NULL,
  event_id     uuid        NOT NULL DEFAULT gen_random_uuid(),
  aggregate_id text        NOT NULL,
  sequence     bigint      NOT NULL CHECK (sequence > 0),
  type         text        NOT NULL,
  payload      bytea       NOT NULL,  -- a serialized google.protobuf.Any
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, event_id),
  UNIQUE (store_id, aggregate_id, sequence)
);

-- One row per event and subscriber: delivery is tracked per pair, never by a high-water mark,
-- so an event whose transaction commits late is still delivered.
CREATE TABLE outbox_delivery (
  store_id        text        NOT NULL,
  event_id        uuid        NOT NULL,
  subscriber      text        NOT NULL,
  aggregate_id    text        NOT NULL,
  sequence        bigint      NOT NULL,
  state           text        NOT NULL DEFAULT 'pending'
                              CHECK (state IN ('pending', 'delivered', 'dead')),
  attempts        integer     NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  created_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  last_error      text,
  PRIMARY KEY (store_id, event_id, subscriber),
  FOREIGN KEY (store_id, event_id) REFERENCES outbox ON DELETE CASCADE
);
CREATE INDEX outbox_delivery_due ON outbox_delivery (subscriber, next_attempt_at)
  WHERE state = 'pending';
CREATE INDEX outbox_delivery_aggregate
  ON outbox_delivery (store_id, subscriber, aggregate_id, sequence) WHERE state = 'pending';
CREATE INDEX outbox_created ON outbox (created_at);

-- Events a subscriber rejected as invalid (INVALID_ARGUMENT): kept for an operator to inspect.
CREATE TABLE dead_letter (
  store_id   text        NOT NULL,
  event_id   uuid        NOT NULL,
  subscriber text        NOT NULL,
  error      text        NOT NULL,
  dead_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, event_id, subscriber)
);

-- Subscriber side: the ids of events applied (or rejected), recorded in the transaction that
-- applied them, so a redelivery is acknowledged without effect.
CREATE TABLE inbox (
  store_id     text        NOT NULL,
  event_id     uuid        NOT NULL,
  aggregate_id text        NOT NULL,
  sequence     bigint      NOT NULL,
  outcome      text        NOT NULL CHECK (outcome IN ('applied', 'rejected')),
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, event_id)
);
CREATE INDEX inbox_received ON inbox (received_at);

-- The last sequence applied per aggregate: events must arrive in order. Never purged.
CREATE TABLE inbox_aggregate (
  store_id      text   NOT NULL,
  aggregate_id  text   NOT NULL,
  last_sequence bigint NOT NULL,
  PRIMARY KEY (store_id, aggregate_id)
);
