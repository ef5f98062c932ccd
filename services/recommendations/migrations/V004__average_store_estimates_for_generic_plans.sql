-- Statistics on store_id again, now that the service plans every statement once per connection,
-- generically (loyalty-recommendations sets plan_cache_mode = force_generic_plan; see main.cpp).
-- A generic plan cannot look a store up in the statistics: it estimates `store_id = $1` as the
-- average store, rows / n_distinct, which is what V003 was after. Without statistics that
-- estimate is a fixed 0.5 % of the rows instead (12 products in a database of one 2,000-product
-- store), and the generic plans read whole catalogues: the cart's item lookups became a hash join
-- over the store's products, the gap closers a sort of them, and an event's SKU lookup a bitmap
-- scan of the store (9 ms). The custom plans V003 guarded against (a store missing from the
-- statistics estimated at one row) are no longer made for any hot statement; RebuildModel's is
-- made without nested loops.
ALTER TABLE products ALTER COLUMN store_id SET STATISTICS -1;
ALTER TABLE pairs ALTER COLUMN store_id SET STATISTICS -1;
ALTER TABLE orders ALTER COLUMN store_id SET STATISTICS -1;
ALTER TABLE order_lines ALTER COLUMN store_id SET STATISTICS -1;
-- Sampled (a bounded number of pages per table), so cheap whatever the tables' size; without it
-- the estimates stay at 0.5 % until autovacuum next analyses each table.
ANALYZE products, pairs, orders, order_lines;
