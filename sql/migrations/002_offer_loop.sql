-- SPDX-License-Identifier: Apache-2.0
-- 002: what the offer loop needs: shop quiet hours, Twilio delivery reports,
-- and why a slot opening expired.

ALTER TABLE shops
    ADD COLUMN quiet_hours_start time,
    ADD COLUMN quiet_hours_end time,
    ADD CHECK ((quiet_hours_start IS NULL) = (quiet_hours_end IS NULL));

ALTER TABLE slot_offers
    ADD COLUMN delivery_status text CHECK (length(delivery_status) BETWEEN 1 AND 32),
    ADD COLUMN delivery_updated_at timestamptz;

ALTER TABLE slot_openings
    ADD COLUMN expired_reason text
        CHECK (expired_reason IN ('no_eligible_customer', 'too_close_to_start'));

-- Whether `at` falls in the shop's quiet hours (local time, may wrap past midnight).
CREATE FUNCTION sr_in_quiet_hours(tz text, qs time, qe time, at timestamptz) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN CASE
        WHEN qs IS NULL OR qe IS NULL OR qs = qe THEN false
        WHEN qs < qe THEN (at AT TIME ZONE tz)::time >= qs AND (at AT TIME ZONE tz)::time < qe
        ELSE (at AT TIME ZONE tz)::time >= qs OR (at AT TIME ZONE tz)::time < qe
    END;

-- Where this server is reached from outside (SlotRecoveryPublicBaseUrl joined
-- with the mount prefix of the request that opened the slot): the offers'
-- StatusCallback URLs are built on it, also when the sweep sends them.
ALTER TABLE slot_openings ADD COLUMN public_url_prefix text;
