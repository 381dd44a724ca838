-- Puts back, as seeded, every row a webhook benchmark run may have changed
-- (bench/sql/targets.sql lists them). Rows the runs added (new offers,
-- bookings, payments, customer texts, refunds) are deleted; the inbound messages and Stripe events
-- they recorded stay (their ids are distinct per run). Prints what it undid.
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE restored (what text, n bigint) ON COMMIT DROP;

-- Slot openings the runs touched: the targets' slots.
CREATE TEMP TABLE touched_slots ON COMMIT DROP AS
SELECT slot_id FROM bench.pay_targets UNION SELECT slot_id FROM bench.offer_targets;

-- Bookings made by YES on the open slots (the seed has none there), and their payments.
WITH x AS (UPDATE slot_openings o SET status = 'open', filled_by_appointment_id = NULL, filled_at = NULL,
                  expired_at = NULL, expired_reason = NULL
           FROM bench.offer_targets t WHERE o.id = t.slot_id AND o.status <> 'open' RETURNING 1)
INSERT INTO restored SELECT 'open slots reopened', count(*) FROM x;
-- The customers' texts and refunds the runs queued (the seed has none), for those payments and the targets'.
WITH x AS (DELETE FROM customer_notifications n USING payments p, appointments a, bench.offer_targets t
           WHERE n.payment_id = p.id AND p.appointment_id = a.id AND a.source_slot_opening_id = t.slot_id RETURNING 1)
INSERT INTO restored SELECT 'customer texts deleted', count(*) FROM x;
WITH x AS (DELETE FROM customer_notifications n USING bench.pay_targets t WHERE n.payment_id = t.payment_id::bigint
           RETURNING 1)
INSERT INTO restored SELECT 'customer texts deleted', count(*) FROM x;
WITH x AS (DELETE FROM refunds r USING payments p, appointments a, bench.offer_targets t
           WHERE r.payment_id = p.id AND p.appointment_id = a.id AND a.source_slot_opening_id = t.slot_id RETURNING 1)
INSERT INTO restored SELECT 'refunds deleted', count(*) FROM x;
WITH x AS (DELETE FROM refunds r USING bench.pay_targets t WHERE r.payment_id = t.payment_id::bigint RETURNING 1)
INSERT INTO restored SELECT 'refunds deleted', count(*) FROM x;
WITH x AS (DELETE FROM payments p USING appointments a, bench.offer_targets t
           WHERE p.appointment_id = a.id AND a.source_slot_opening_id = t.slot_id RETURNING 1)
INSERT INTO restored SELECT 'payments deleted', count(*) FROM x;
WITH x AS (DELETE FROM appointments a USING bench.offer_targets t WHERE a.source_slot_opening_id = t.slot_id
           RETURNING 1)
INSERT INTO restored SELECT 'bookings deleted', count(*) FROM x;

-- Offers the runs made (the next customers), on any touched slot.
WITH x AS (DELETE FROM slot_offers f USING touched_slots t
           WHERE f.slot_opening_id = t.slot_id AND f.id NOT IN (2 * t.slot_id - 1, 2 * t.slot_id) RETURNING 1)
INSERT INTO restored SELECT 'new offers deleted', count(*) FROM x;

-- The live offers answered YES or NO.
WITH x AS (UPDATE slot_offers f SET status = 'sent', responded_at = NULL, last_error = NULL, sent_at = t.sent_at,
                  expires_at = t.expires_at
           FROM bench.offer_targets t WHERE f.id = t.offer_id AND (f.status <> 'sent' OR f.expires_at <> t.expires_at)
           RETURNING 1)
INSERT INTO restored SELECT 'offers made live again', count(*) FROM x;

-- Payments settled by Stripe events, their bookings and slots.
WITH x AS (UPDATE payments p SET status = 'processing', last_error = NULL, flagged_reason = NULL
           FROM bench.pay_targets t WHERE p.id = t.payment_id::bigint
             AND (p.status <> 'processing' OR p.last_error IS NOT NULL OR p.flagged_reason IS NOT NULL) RETURNING 1)
INSERT INTO restored SELECT 'payments back to processing', count(*) FROM x;
WITH x AS (UPDATE appointments a SET status = 'awaiting_payment', cancelled_at = NULL
           FROM bench.pay_targets t WHERE a.id = t.booking_id AND a.status <> 'awaiting_payment' RETURNING 1)
INSERT INTO restored SELECT 'bookings back to awaiting_payment', count(*) FROM x;
WITH x AS (UPDATE slot_openings o SET status = 'filled', filled_by_appointment_id = t.booking_id,
                  filled_at = t.filled_at, expired_at = NULL, expired_reason = NULL
           FROM bench.pay_targets t WHERE o.id = t.slot_id AND o.status <> 'filled' RETURNING 1)
INSERT INTO restored SELECT 'slots filled again', count(*) FROM x;
WITH x AS (UPDATE slot_offers f SET status = 'accepted', last_error = NULL
           FROM bench.pay_targets t WHERE f.id = t.accepted_offer_id AND f.status <> 'accepted' RETURNING 1)
INSERT INTO restored SELECT 'accepted offers restored', count(*) FROM x;
-- Slots a run left waiting for a customer (migration 008).
WITH x AS (UPDATE slot_openings o SET waiting_since = NULL FROM touched_slots t
           WHERE o.id = t.slot_id AND o.waiting_since IS NOT NULL RETURNING 1)
INSERT INTO restored SELECT 'slots no longer waiting', count(*) FROM x;
SELECT what, n FROM restored WHERE n > 0;
COMMIT;
