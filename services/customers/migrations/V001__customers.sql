-- Customers of a store. Personal data (email, name, birthday) lives only in this schema.
CREATE TABLE customers (
  store_id           text        NOT NULL,
  customer_id        text        NOT NULL,
  email              text,                 -- normalised (trimmed, lower case); NULL once erased
  name               text,
  birthday_month     smallint CHECK (birthday_month BETWEEN 1 AND 12),
  birthday_day       smallint CHECK (birthday_day BETWEEN 1 AND 31),
  birthday_year      smallint,
  marketing_consent  boolean     NOT NULL DEFAULT false,
  tags               text[]      NOT NULL DEFAULT '{}',
  referral_code      text        NOT NULL,
  referred_by_code   text,
  signed_up_at       timestamptz NOT NULL,
  erased_at          timestamptz,
  PRIMARY KEY (store_id, customer_id),
  UNIQUE (store_id, referral_code),
  CHECK (referred_by_code IS DISTINCT FROM referral_code)
);
CREATE UNIQUE INDEX customers_email ON customers (store_id, email) WHERE email IS NOT NULL;
CREATE INDEX customers_tags ON customers USING gin (tags);
