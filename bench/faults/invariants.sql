-- What must hold after every fault drill, whatever failed on the way. One row
-- per check: its name, how many rows break it, up to five examples. A drill
-- passes when every count is 0. psql -v cutoff=300 (SlotRecoveryOfferCutoff).
WITH
two_active_bookings AS (
    SELECT source_slot_opening_id::text AS x FROM appointments
    WHERE source_slot_opening_id IS NOT NULL AND status <> 'cancelled'
    GROUP BY source_slot_opening_id HAVING count(*) > 1),
filled_without_its_booking AS (
    SELECT o.id::text AS x FROM slot_openings o LEFT JOIN appointments a ON a.id = o.filled_by_appointment_id
    WHERE o.status = 'filled' AND (a.id IS NULL OR a.status = 'cancelled' OR a.source_slot_opening_id <> o.id)),
booking_of_unfilled_slot AS (
    SELECT a.id::text AS x FROM appointments a JOIN slot_openings o ON o.id = a.source_slot_opening_id
    WHERE a.status <> 'cancelled' AND (o.status <> 'filled' OR o.filled_by_appointment_id <> a.id)),
two_live_offers AS (
    SELECT slot_opening_id::text AS x FROM slot_offers WHERE status IN ('pending', 'sent')
    GROUP BY slot_opening_id HAVING count(*) > 1),
accepted_offer_without_booking AS (
    SELECT f.id::text AS x FROM slot_offers f
    WHERE f.status = 'accepted' AND NOT EXISTS (
        SELECT 1 FROM appointments a WHERE a.source_slot_opening_id = f.slot_opening_id
        AND a.customer_id = f.customer_id AND a.status <> 'cancelled')),
live_offer_on_closed_slot AS (
    SELECT f.id::text AS x FROM slot_offers f JOIN slot_openings o ON o.id = f.slot_opening_id
    WHERE f.status IN ('pending', 'sent') AND o.status <> 'open'),
-- The loop's promise: an open slot, not yet too close to its start, outside
-- quiet hours, always has a live offer while an eligible customer remains
-- (the eligibility of sr_loop_offer_next_customer).
open_slot_without_live_offer AS (
    SELECT o.id::text AS x FROM slot_openings o JOIN shops s ON s.id = o.shop_id
    JOIN appointments src ON src.id = o.source_appointment_id
    WHERE o.status = 'open' AND o.starts_at > now() + make_interval(secs => :cutoff)
      AND NOT sr_in_quiet_hours(s.timezone, s.quiet_hours_start, s.quiet_hours_end, now())
      AND NOT EXISTS (SELECT 1 FROM slot_offers f WHERE f.slot_opening_id = o.id AND f.status IN ('pending', 'sent'))
      AND EXISTS (SELECT 1 FROM customers c WHERE c.shop_id = o.shop_id AND c.sms_opt_in AND c.id <> src.customer_id
                  AND NOT EXISTS (SELECT 1 FROM slot_offers f WHERE f.slot_opening_id = o.id AND f.customer_id = c.id)
                  AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.customer_id = c.id AND a.status <> 'cancelled'
                                  AND a.starts_at < o.ends_at AND a.ends_at > o.starts_at))),
failed_payment_booking_active AS (
    SELECT p.id::text AS x FROM payments p JOIN appointments a ON a.id = p.appointment_id
    WHERE p.status = 'failed' AND a.status <> 'cancelled'),
succeeded_payment_not_confirmed AS (
    SELECT p.id::text AS x FROM payments p JOIN appointments a ON a.id = p.appointment_id
    WHERE p.status = 'succeeded' AND a.status <> 'confirmed' AND p.flagged_reason IS NULL),
deposit_never_asked AS (
    SELECT p.id::text AS x FROM payments p
    WHERE p.status = 'pending' AND p.stripe_payment_intent_id IS NULL AND p.next_attempt_at < now() - interval '2 minutes'),
offer_never_sent AS (
    SELECT f.id::text AS x FROM slot_offers f JOIN slot_openings o ON o.id = f.slot_opening_id
    WHERE f.status = 'pending' AND o.status = 'open' AND f.next_attempt_at < now() - interval '2 minutes'),
unfinished_event AS (
    SELECT id AS x FROM stripe_events WHERE outcome = 'received'),
unfinished_message AS (
    SELECT message_sid AS x FROM inbound_messages WHERE action IS NULL)
SELECT name, count(x) AS n, COALESCE(string_agg(x, ' ' ORDER BY x) FILTER (WHERE rn <= 5), '') AS examples
FROM (
    SELECT name, x, row_number() OVER (PARTITION BY name ORDER BY x) AS rn FROM (
        SELECT 'two_active_bookings' AS name, x FROM two_active_bookings
        UNION ALL SELECT 'filled_without_its_booking', x FROM filled_without_its_booking
        UNION ALL SELECT 'booking_of_unfilled_slot', x FROM booking_of_unfilled_slot
        UNION ALL SELECT 'two_live_offers', x FROM two_live_offers
        UNION ALL SELECT 'accepted_offer_without_booking', x FROM accepted_offer_without_booking
        UNION ALL SELECT 'live_offer_on_closed_slot', x FROM live_offer_on_closed_slot
        UNION ALL SELECT 'open_slot_without_live_offer', x FROM open_slot_without_live_offer
        UNION ALL SELECT 'failed_payment_booking_active', x FROM failed_payment_booking_active
        UNION ALL SELECT 'succeeded_payment_not_confirmed', x FROM succeeded_payment_not_confirmed
        UNION ALL SELECT 'deposit_never_asked', x FROM deposit_never_asked
        UNION ALL SELECT 'offer_never_sent', x FROM offer_never_sent
        UNION ALL SELECT 'unfinished_event', x FROM unfinished_event
        UNION ALL SELECT 'unfinished_message', x FROM unfinished_message
        UNION ALL SELECT name, NULL FROM unnest(ARRAY['two_active_bookings', 'filled_without_its_booking',
            'booking_of_unfilled_slot', 'two_live_offers', 'accepted_offer_without_booking',
            'live_offer_on_closed_slot', 'open_slot_without_live_offer', 'failed_payment_booking_active',
            'succeeded_payment_not_confirmed', 'deposit_never_asked', 'offer_never_sent', 'unfinished_event',
            'unfinished_message']) AS name
    ) y
) z
GROUP BY name ORDER BY name;
