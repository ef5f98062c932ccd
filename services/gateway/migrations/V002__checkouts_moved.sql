-- Checkouts moved to the checkout service's own schema (checkout.checkouts).
DROP TABLE checkouts;
