-- SPDX-License-Identifier: Apache-2.0
-- 012: refunds of a deposit's second PaymentIntent.
--
-- A deposit's PaymentIntent can exist twice at Stripe: a request under the
-- first Idempotency-Key made one yet got a 5xx, the lookup did not see it, and
-- the retry key (-rN) made another. The payment records one of them; when
-- Stripe reports the other succeeded (its metadata naming the payment and
-- passing the checks), the customer paid twice and that intent is refunded
-- whole. payment_intent_id NULL is the payment's own recorded intent (every
-- row before this migration): still one such refund per payment. Non-NULL is
-- a second intent of that payment: one refund per intent, so a redelivered or
-- repeated event adds none.
ALTER TABLE refunds ADD COLUMN payment_intent_id text CHECK (length(payment_intent_id) BETWEEN 1 AND 255);
ALTER TABLE refunds DROP CONSTRAINT refunds_payment_id_key;
-- ON CONFLICT names these: (payment_id) WHERE payment_intent_id IS NULL, (payment_intent_id) WHERE ... IS NOT NULL.
CREATE UNIQUE INDEX refunds_own_intent_key ON refunds (payment_id) WHERE payment_intent_id IS NULL;
CREATE UNIQUE INDEX refunds_second_intent_key ON refunds (payment_intent_id) WHERE payment_intent_id IS NOT NULL;
-- A payment's refunds, all of them (the booking page, the foreign key's checks).
CREATE INDEX refunds_payment_id_idx ON refunds (payment_id);
