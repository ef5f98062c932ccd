-- The store's event log, followed by storefronts with a cursor. Each row records the id of the
-- transaction that wrote it; readers only read below the oldest transaction still running
-- (pg_snapshot_xmin), in (txid, event_id) order, so an event whose transaction commits late is
-- never skipped, and no writer takes a per-store lock.
CREATE TABLE events (
  store_id     text        NOT NULL,
  event_id     bigserial   NOT NULL,
  txid         xid8        NOT NULL DEFAULT pg_current_xact_id(),
  type         text        NOT NULL,
  customer_id  text        NOT NULL DEFAULT '',
  order_id     text        NOT NULL DEFAULT '',
  points       bigint      NOT NULL DEFAULT 0,
  details      jsonb       NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, event_id)
);
CREATE INDEX events_by_cursor ON events (store_id, txid, event_id);
