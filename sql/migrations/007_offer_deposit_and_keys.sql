-- 007: the deposit an offer named, and Idempotency-Keys of our own.
--
-- An offer keeps the deposit its SMS named (amount and currency, fixed at the
-- first send attempt): YES charges exactly that, whatever the shop's deposit
-- has become since.
ALTER TABLE slot_offers
    ADD COLUMN deposit_amount bigint CHECK (deposit_amount >= 0),
    ADD COLUMN currency text CHECK (currency ~ '^[a-z]{3}$'),
    ADD CHECK ((deposit_amount IS NULL) = (currency IS NULL));

-- Offers out before this migration named the shop's deposit of their send
-- time; the shop's current one is the best guess left for them.
UPDATE slot_offers f SET deposit_amount = s.deposit_amount, currency = s.currency
FROM slot_openings o, shops s
WHERE o.id = f.slot_opening_id AND s.id = o.shop_id
  AND (f.status = 'sent' OR (f.status = 'pending' AND f.attempts > 0));
