-- What the webhook benchmarks act on, recorded once right after the seed:
--   bench.pay_targets    payments awaiting their deposit (Stripe events settle them)
--   bench.offer_targets  live offers, one per customer (YES / NO answer them)
-- Each run acts on them in order (k), then bench/sql/restore.sql puts every
-- row they touched back as seeded, so every run starts from the same state.
-- Ids follow the seed's layout (bench/sql/seed.sql): slot opening n has offers
-- 2n-1 and 2n, payment n, booking nshops*1000 + n.
-- Lives in its own schema of the benchmark database; the module never sees it.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;

CREATE TABLE bench.pay_targets AS
SELECT 0 AS grp, row_number() OVER (ORDER BY p.id) AS k, p.id::text AS payment_id,
       p.stripe_payment_intent_id AS intent_id, a.source_slot_opening_id AS slot_id, a.id AS booking_id,
       o.filled_at, 2 * a.source_slot_opening_id AS accepted_offer_id
FROM payments p JOIN appointments a ON a.id = p.appointment_id JOIN slot_openings o ON o.id = a.source_slot_opening_id
WHERE p.status = 'processing' AND a.status = 'awaiting_payment';
CREATE UNIQUE INDEX ON bench.pay_targets (grp, k);

-- One live offer per customer: a customer's answer goes to their most recent offer.
CREATE TABLE bench.offer_targets AS
SELECT 0 AS grp, row_number() OVER (ORDER BY f.id) AS k, f.id AS offer_id, f.slot_opening_id AS slot_id,
       f.sent_at, f.expires_at, c.phone, s.sms_from
FROM slot_offers f JOIN slot_openings o ON o.id = f.slot_opening_id
JOIN customers c ON c.id = f.customer_id JOIN shops s ON s.id = o.shop_id
WHERE f.status = 'sent' AND f.expires_at > now() + interval '1 hour' AND o.status = 'open'
  AND (SELECT count(*) FROM slot_offers g WHERE g.customer_id = f.customer_id AND g.status = 'sent') = 1;
CREATE UNIQUE INDEX ON bench.offer_targets (grp, k);

ANALYZE bench.pay_targets;
ANALYZE bench.offer_targets;
SELECT (SELECT count(*) FROM bench.pay_targets) AS pay_targets, (SELECT count(*) FROM bench.offer_targets) AS offer_targets;
