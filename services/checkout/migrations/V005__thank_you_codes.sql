-- The thank-you code of a checkout (docs/codes.md): drawn when the order id is claimed, so that
-- every attempt of the checkout names the same code; issued (a code row) once the order exists,
-- when the store's settings name a thank_you_code_batch_id.
ALTER TABLE checkouts ADD COLUMN thank_you_code text NOT NULL DEFAULT '';
