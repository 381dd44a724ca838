-- SPDX-License-Identifier: Apache-2.0
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

-- A random token per payment, in its Idempotency-Key next to the installation
-- id and the payment id: a database restored from a backup issues payment ids
-- again, under the same installation id, and must not be answered with the
-- PaymentIntents of the payments it lost. NULL for the payments made before
-- this migration: they keep the key they were first sent with
-- (slotrecovery-deposit-<payment id>), so a retry of one that may have reached
-- Stripe cannot charge twice. The default is set after the column is added so
-- those rows stay NULL.
ALTER TABLE payments ADD COLUMN key_token text CHECK (key_token ~ '^[0-9a-f]{32}$');
ALTER TABLE payments ALTER COLUMN key_token SET DEFAULT replace(gen_random_uuid()::text, '-', '');
