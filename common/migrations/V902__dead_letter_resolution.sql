-- Operators decide about dead letters through OperatorService (common/src/operator.cpp): put the
-- event back into delivery or give up on it, recording who and why. Undecided letters have no
-- resolution; a retried event that dies again is undecided again.
ALTER TABLE dead_letter
  ADD COLUMN resolution  text CHECK (resolution IN ('retried', 'discarded')),
  ADD COLUMN resolved_at timestamptz,
  ADD COLUMN resolved_by text,
  ADD COLUMN reason      text;
-- A store's letters in the order they are listed (paged by this key).
CREATE INDEX dead_letter_listed ON dead_letter (store_id, dead_at, event_id, subscriber);
-- The undecided ones per subscriber: the loyalty_outbox_dead_letters gauge.
CREATE INDEX dead_letter_undecided ON dead_letter (subscriber) WHERE resolution IS NULL;
-- The oldest pending delivery per subscriber in one index probe: loyalty_outbox_lag_seconds.
CREATE INDEX outbox_delivery_pending_age ON outbox_delivery (subscriber, created_at)
  WHERE state = 'pending';
