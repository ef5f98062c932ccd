-- The leaf echo's table: one prepared primary-key SELECT per call reads a row of it.
CREATE TABLE items (
  store_id text   NOT NULL,
  item_id  bigint NOT NULL,
  value    bigint NOT NULL,
  name     text   NOT NULL,
  PRIMARY KEY (store_id, item_id)
);
INSERT INTO items (store_id, item_id, value, name)
SELECT 'bench-store', i, i * 7, 'item ' || i FROM generate_series(1, 10000) AS i;
