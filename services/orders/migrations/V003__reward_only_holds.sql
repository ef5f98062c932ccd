-- An order may name a hold that pays no points for merchandise and only redeems a reward of the
-- points catalogue (the reward itself is one of the order's discounts): 0 points, worth 0.
ALTER TABLE order_points_payments DROP CONSTRAINT order_points_payments_points_check;
ALTER TABLE order_points_payments ADD CONSTRAINT order_points_payments_points_check
  CHECK (points >= 0 AND (points > 0 OR amount_minor = 0));
