-- A subscription renewal is placed by one checkout at a time (docs/subscriptions.md): the
-- checkout names the renewal it places, and a second live checkout of the same renewal (another
-- order id) is refused. A refused checkout frees it; one whose outcome is unknown keeps it until
-- its own order id is retried.
ALTER TABLE checkouts ADD COLUMN subscription_id text, ADD COLUMN renewal_at timestamptz;
CREATE UNIQUE INDEX checkouts_one_per_renewal ON checkouts (store_id, subscription_id, renewal_at)
  WHERE subscription_id IS NOT NULL AND state <> 'refused';
