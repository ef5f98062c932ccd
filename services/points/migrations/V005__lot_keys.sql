-- A line's lots are found by what they are for: (kind, order_id, line_id), one of each per store.
-- They were found by an id joining order and line with ':', which ids may contain, so order "a:b"
-- line "c" and order "a" line "b:c" had one id: the second line's insert failed and its event was
-- retried forever. Existing lots already have these columns filled, and no two can share them
-- (the same three always made the same id, the primary key), so the index builds on any data.
-- Adjustments have no order or line (their id carries the request id) and stay out of it.
-- IF NOT EXISTS: on a large table an operator can build it first with CREATE UNIQUE INDEX
-- CONCURRENTLY (this transaction's plain CREATE INDEX blocks writes to lots meanwhile).
CREATE UNIQUE INDEX IF NOT EXISTS lots_by_line ON lots (store_id, kind, order_id, line_id)
  WHERE kind IN ('earn', 'payback');
