-- A hold may also redeem a reward (services/points/ledger/holds.cpp, docs/rewards.md): the
-- reward's id and the part of the hold's points that is its cost. One unit of the reward's stock
-- is taken in the transaction that inserts the hold and given back when the hold is voided or
-- expires.
ALTER TABLE holds
  ADD COLUMN reward_id     text   NOT NULL DEFAULT '',
  ADD COLUMN reward_points bigint NOT NULL DEFAULT 0,
  ADD CONSTRAINT holds_reward_points CHECK (reward_points >= 0 AND reward_points <= points
                                            AND (reward_id = '') = (reward_points = 0));
