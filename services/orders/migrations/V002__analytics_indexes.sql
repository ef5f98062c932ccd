-- Indexes for the analytics reports (analytics_store.cpp).

-- Orders by customer and time, only those that count (placed or fulfilled), with their revenue:
-- an index-only source for everything done per customer: "no order before the period" and
-- history probes (RetentionReport, RepeatCustomerRevenue, CustomerValue), and whole-history
-- aggregates read in customer order without hashing (LapsedCustomers, RfmReport). Measured on
-- 1,000,000 orders of 100,000 customers: the RFM aggregate 0.23 s instead of 1.0 s.
CREATE INDEX orders_counted_by_customer ON orders (store_id, customer_id, placed_at)
  INCLUDE (revenue_minor) WHERE status IN ('placed', 'fulfilled');

-- SegmentCustomers by category (order_lines_by_sku already serves SKUs).
CREATE INDEX order_lines_by_category ON order_lines (store_id, category);
