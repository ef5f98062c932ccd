-- The points service's birthday job asks for the customers born on a day (ListCustomers with a
-- birthday): one index probe per store and day, not a scan of the store's customers.
CREATE INDEX customers_birthdays ON customers (store_id, birthday_month, birthday_day, customer_id)
  WHERE birthday_month IS NOT NULL;
