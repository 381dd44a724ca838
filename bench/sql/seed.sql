-- The benchmark's data set, generated in PostgreSQL (generate_series), on a
-- freshly migrated database:
--
--   psql -v scale=1 -f bench/sql/seed.sql      (bench/run --scale S does this)
--
-- At scale 1: 100 shops, 100,000 customers (1,000 a shop), 1,000,000
-- appointments (10,000 a shop), 100,000 slot openings (1,000 a shop) with
-- 200,000 offers, 50,000 payments, 70,000 inbound messages, 5,000 Stripe
-- events. Other scales multiply the number of shops (at least one); every
-- shop always has 1,000 customers, 10,000 appointments and 1,000 openings.
--
-- Slot opening j (1..1000) of shop s has id (s-1)*1000 + j; its cancelled
-- source appointment has the same id. By j % 10:
--   0-4 filled:  offer 1 expired, offer 2 accepted; a booking (appointment with
--                source_slot_opening_id) and its payment: j % 20 = 0 confirmed
--                with a succeeded payment, else awaiting_payment with a
--                'processing' PaymentIntent pi_seed_<slot id> (what the
--                webhook benchmark settles);
--   5-6 expired: offer 1 expired, offer 2 declined; expired_reason set;
--   7-9 open:    offer 1 expired, offer 2 sent and live for a day (what the
--                YES/NO benchmark answers and the sweep benchmark expires).
-- Offers of slot id n are 2n-1 and 2n. Customers offered a slot are opted in,
-- have a saved card and are never the customer who cancelled; customers
-- 991-1000 of each shop are opted out. Every CHECK, foreign key and unique
-- index of sql/migrations holds (the constraints stay on while loading).
\set ON_ERROR_STOP on
SELECT greatest(1, round(100 * :scale))::int AS nshops \gset
SELECT date_trunc('hour', now()) AS t0 \gset

BEGIN;
SET LOCAL synchronous_commit = off;

INSERT INTO shops (id, name, timezone, sms_from, deposit_amount, currency, offer_ttl_seconds, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT s, 'Bench Shop ' || s,
       (ARRAY['Europe/London', 'America/New_York', 'Europe/Berlin', 'Asia/Tokyo', 'America/Los_Angeles'])[1 + s % 5],
       '+1500555' || lpad(s::text, 4, '0'), 1500, 'usd', 900,
       :'t0'::timestamptz - interval '400 days', :'t0'::timestamptz - interval '400 days'
FROM generate_series(1, :nshops) s;

INSERT INTO customers (id, shop_id, name, phone, email, sms_opt_in, stripe_customer_id, stripe_payment_method_id,
                       waitlist_joined_at, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT id, s, 'Customer ' || s || '-' || k, '+1555' || lpad(id::text, 9, '0'),
       CASE WHEN k % 3 = 0 THEN 'c' || id || '@example.com' END,
       k <= 990, 'cus_b' || id, 'pm_card_visa', j, j, j
FROM generate_series(1, :nshops) s, generate_series(1, 1000) k,
     LATERAL (SELECT (s - 1) * 1000 + k AS id, :'t0'::timestamptz - interval '365 days' + k * interval '1 minute' AS j) x;

-- One row per slot opening, with everything derived from (s, j).
CREATE TEMP TABLE seed_slots ON COMMIT DROP AS
SELECT s, j, (s - 1) * 1000 + j AS id,
       CASE WHEN j % 10 < 5 THEN 'filled' WHEN j % 10 < 7 THEN 'expired' ELSE 'open' END AS kind,
       j % 20 = 0 AS confirmed,
       :'t0'::timestamptz + interval '2 days' + ((j * 37) % 1440) * interval '1 hour' AS starts_at,
       :'t0'::timestamptz - (1002 - j) * interval '1 hour' AS created_at,
       (s - 1) * 1000 + ((j * 13) % 990) + 1 AS source_customer,
       (s - 1) * 1000 + ((j * 7 + 101) % 990) + 1 AS first_customer,
       (s - 1) * 1000 + ((j * 7 + 303) % 990) + 1 AS second_customer
FROM generate_series(1, :nshops) s, generate_series(1, 1000) j;

-- The cancelled appointments the openings come from (ids 1 .. nshops*1000).
INSERT INTO appointments (id, shop_id, customer_id, starts_at, ends_at, status, cancelled_at, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT id, s, source_customer, starts_at, starts_at + interval '45 minutes', 'cancelled', created_at,
       created_at - interval '30 days', created_at
FROM seed_slots;

INSERT INTO slot_openings (id, shop_id, source_appointment_id, starts_at, ends_at, status, filled_at, expired_at,
                           expired_reason, created_at, updated_at, public_url_prefix)
OVERRIDING SYSTEM VALUE
SELECT id, s, id, starts_at, starts_at + interval '45 minutes', 'open', NULL, NULL, NULL, created_at, created_at,
       'http://127.0.0.1:18080'
FROM seed_slots;

-- Bookings of the filled openings (ids nshops*1000 + slot id), then the
-- openings point at them.
INSERT INTO appointments (id, shop_id, customer_id, starts_at, ends_at, status, source_slot_opening_id, created_at,
                          updated_at)
OVERRIDING SYSTEM VALUE
SELECT :nshops * 1000 + id, s, second_customer, starts_at, starts_at + interval '45 minutes',
       CASE WHEN confirmed THEN 'confirmed' ELSE 'awaiting_payment' END, id,
       created_at + interval '22 minutes', created_at + interval '23 minutes'
FROM seed_slots WHERE kind = 'filled';

UPDATE slot_openings o SET status = 'filled', filled_by_appointment_id = :nshops * 1000 + o.id,
       filled_at = x.created_at + interval '22 minutes', updated_at = x.created_at + interval '22 minutes'
FROM seed_slots x WHERE x.id = o.id AND x.kind = 'filled';
UPDATE slot_openings o SET status = 'expired', expired_at = x.created_at + interval '60 minutes',
       expired_reason = 'no_eligible_customer', updated_at = x.created_at + interval '60 minutes'
FROM seed_slots x WHERE x.id = o.id AND x.kind = 'expired';

-- Every other appointment: ordinary bookings from 90 days ago to 90 days
-- ahead, one in 50 cancelled (without an opening: they were in the past or
-- too late), until each shop has 10,000.
INSERT INTO appointments (id, shop_id, customer_id, starts_at, ends_at, status, cancelled_at, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT 2 * :nshops * 1000 + (s - 1) * 8500 + m, s, (s - 1) * 1000 + ((m - 1) % 1000) + 1, st,
       st + interval '30 minutes',
       CASE WHEN m % 50 = 0 THEN 'cancelled' ELSE 'booked' END,
       CASE WHEN m % 50 = 0 THEN st - interval '1 day' END,
       st - interval '20 days', st - interval '20 days'
FROM generate_series(1, :nshops) s, generate_series(1, 8500) m,
     LATERAL (SELECT :'t0'::timestamptz - interval '90 days' + ((m * 7919) % 4320) * interval '1 hour'
                     + (m % 4) * interval '15 minutes' AS st) x;

-- Offers: 2n-1 to the first customer (expired), 2n to the second.
INSERT INTO slot_offers (id, slot_opening_id, customer_id, status, sent_at, expires_at, provider_message_id, attempts,
                         next_attempt_at, responded_at, delivery_status, delivery_updated_at, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT 2 * id - 1, id, first_customer, 'expired', created_at + interval '1 minute',
       created_at + interval '16 minutes', 'SMseed' || lpad((2 * id - 1)::text, 12, '0'), 1,
       created_at, NULL, 'delivered', created_at + interval '1 minute', created_at, created_at + interval '16 minutes'
FROM seed_slots;
INSERT INTO slot_offers (id, slot_opening_id, customer_id, status, sent_at, expires_at, provider_message_id, attempts,
                         next_attempt_at, responded_at, delivery_status, delivery_updated_at, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT 2 * id, id, second_customer,
       CASE kind WHEN 'filled' THEN 'accepted' WHEN 'expired' THEN 'declined' ELSE 'sent' END,
       CASE kind WHEN 'open' THEN :'t0'::timestamptz ELSE created_at + interval '20 minutes' END,
       CASE kind WHEN 'open' THEN :'t0'::timestamptz + interval '1 day' ELSE created_at + interval '35 minutes' END,
       'SMseed' || lpad((2 * id)::text, 12, '0'), 1, created_at,
       CASE kind WHEN 'open' THEN NULL ELSE created_at + interval '22 minutes' END,
       'delivered', created_at + interval '21 minutes', created_at + interval '16 minutes',
       created_at + interval '22 minutes'
FROM seed_slots;

INSERT INTO payments (id, appointment_id, amount, currency, status, stripe_payment_intent_id, attempts,
                      next_attempt_at, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT id, :nshops * 1000 + id, 1500, 'usd', CASE WHEN confirmed THEN 'succeeded' ELSE 'processing' END,
       'pi_seed_' || id, 1, created_at + interval '22 minutes', created_at + interval '22 minutes',
       created_at + interval '23 minutes'
FROM seed_slots WHERE kind = 'filled';

-- The answers that filled or passed on the openings, and the Stripe events
-- that confirmed the paid bookings.
INSERT INTO inbound_messages (message_sid, from_number, to_number, body, customer_id, action, reply, received_at)
SELECT 'SMin' || lpad((2 * x.id)::text, 12, '0'), c.phone, sh.sms_from,
       CASE x.kind WHEN 'filled' THEN 'YES' ELSE 'No thanks' END, c.id,
       CASE x.kind WHEN 'filled' THEN 'booked' ELSE 'declined' END,
       CASE x.kind WHEN 'filled' THEN 'Booked.' ELSE 'No problem, we''ll offer the slot to someone else.' END,
       x.created_at + interval '22 minutes'
FROM seed_slots x JOIN customers c ON c.id = x.second_customer JOIN shops sh ON sh.id = x.s
WHERE x.kind IN ('filled', 'expired');

INSERT INTO stripe_events (id, type, payment_intent_id, payment_id, outcome, received_at)
SELECT 'evt_seed_' || id, 'payment_intent.succeeded', 'pi_seed_' || id, id, 'payment succeeded: booking confirmed',
       created_at + interval '23 minutes'
FROM seed_slots WHERE kind = 'filled' AND confirmed;

SELECT setval(pg_get_serial_sequence('shops', 'id'), (SELECT max(id) FROM shops));
SELECT setval(pg_get_serial_sequence('customers', 'id'), (SELECT max(id) FROM customers));
SELECT setval(pg_get_serial_sequence('appointments', 'id'), (SELECT max(id) FROM appointments));
SELECT setval(pg_get_serial_sequence('slot_openings', 'id'), (SELECT max(id) FROM slot_openings));
SELECT setval(pg_get_serial_sequence('slot_offers', 'id'), (SELECT max(id) FROM slot_offers));
SELECT setval(pg_get_serial_sequence('payments', 'id'), (SELECT max(id) FROM payments));
COMMIT;

VACUUM (ANALYZE) shops, customers, appointments, slot_openings, slot_offers, payments, inbound_messages,
    stripe_events, shop_users;
