-- The expiry-warning job asks each store for its lots, not yet warned, that expire within that
-- store's own warning period. The only index it had was lots_to_expire (every lot with points,
-- by expiry), so it took every lot expiring within a year (the longest period allowed) and
-- checked them one transaction each, every pass; with this index a store with nothing to warn
-- about costs one index probe. Warned lots leave the index.
-- IF NOT EXISTS: on a large table an operator can build it first with CREATE INDEX CONCURRENTLY
-- (migrations run in a transaction, where a plain CREATE INDEX blocks writes to lots meanwhile).
CREATE INDEX IF NOT EXISTS lots_to_warn ON lots (store_id, expires_at)
  WHERE available > 0 AND NOT warned;
