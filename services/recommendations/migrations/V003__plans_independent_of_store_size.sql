-- Plans that do not depend on how much Postgres knows about one store.
-- Every statement of this schema names one store and then a key within it. With per-store
-- statistics, a store created since the last ANALYZE is estimated at one row, every index that
-- starts with store_id then looks equally good, and the planner may pick one that matches only
-- store_id and filters the rest: the benchmark saw a new store's cart suggestions take 20-300 ms
-- (scanning the store's whole catalogue per candidate) until autovacuum analysed the tables,
-- against 1 ms after. Without statistics on store_id, a store is estimated as an average one
-- (0.5 % of the rows), so the index that matches the whole key always wins, for every store.
-- (Statistics gathered before this migration stay until the column is analysed again with a
-- non-zero target; a fresh database never has them.)
ALTER TABLE products ALTER COLUMN store_id SET STATISTICS 0;
ALTER TABLE pairs ALTER COLUMN store_id SET STATISTICS 0;
ALTER TABLE orders ALTER COLUMN store_id SET STATISTICS 0;
ALTER TABLE order_lines ALTER COLUMN store_id SET STATISTICS 0;
