-- SPDX-License-Identifier: Apache-2.0
-- 010: a deposit's (or refund's) Idempotency-Key after Stripe saved a 5xx under the first one.
--
-- Stripe stores a 500 for its Idempotency-Key and replays it: a retry with that
-- key can never succeed. key_retry is 0 while the payment's first key is in
-- use; N > 0 means the key of attempt N (the first key + "-rN") is the current
-- one, taken after Stripe answered a 5xx for the key before it. Before sending a
-- key other than the first the sweep looks the PaymentIntent up by its metadata,
-- so an intent the failed request did make is adopted, never made twice.
ALTER TABLE payments ADD COLUMN key_retry integer NOT NULL DEFAULT 0 CHECK (key_retry >= 0);
-- The same for a refund's key (slotrecovery-<installation>-refund-<payment>), looked up by
-- GET /v1/refunds?payment_intent=... before a new key is sent.
ALTER TABLE refunds ADD COLUMN key_retry integer NOT NULL DEFAULT 0 CHECK (key_retry >= 0);
