-- The checkout service's first-purchase campaign asks for the customers who signed up in the
-- last days (ListCustomers with signed_up_from): a range of this index, not a scan of the
-- store's customers.
CREATE INDEX customers_sign_ups ON customers (store_id, signed_up_at);
