-- The first answer to each mutating request, by the client's request id, so that a retry gets
-- the same answer and a reused id with a different request is refused. Only successes are kept.
CREATE TABLE idempotency (
  store_id     text        NOT NULL,
  method       text        NOT NULL,
  request_id   text        NOT NULL,
  request_hash text        NOT NULL,  -- SHA-256 of the request's deterministic serialisation
  response     bytea,                 -- NULL while the first request is still running
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, method, request_id)
);
CREATE INDEX idempotency_created ON idempotency (created_at);
