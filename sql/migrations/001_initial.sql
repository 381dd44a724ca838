-- SPDX-License-Identifier: Apache-2.0
-- 001: shops, customers (the waitlist), appointments, payments, slot openings
-- and the offers made for them.
--
-- Wrong states are made impossible here rather than in the module: one slot
-- opening per cancelled appointment, one offer per (slot opening, customer),
-- at most one live offer per slot opening, at most one active booking per slot
-- opening. Every status has a CHECK.

-- Timestamps in the JSON API: RFC 3339 in UTC, whole seconds.
CREATE FUNCTION sr_rfc3339(ts timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');

CREATE FUNCTION sr_touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;

CREATE TABLE shops (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    timezone          text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
    sms_from          text NOT NULL CHECK (sms_from ~ '^\+[1-9][0-9]{6,14}$'),
    deposit_amount    bigint NOT NULL CHECK (deposit_amount >= 0),
    currency          text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    offer_ttl_seconds integer NOT NULL DEFAULT 900 CHECK (offer_ttl_seconds BETWEEN 1 AND 86400),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE customers (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id                  bigint NOT NULL REFERENCES shops (id),
    name                     text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    phone                    text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    email                    text CHECK (length(email) BETWEEN 3 AND 320),
    sms_opt_in               boolean NOT NULL DEFAULT false,
    stripe_customer_id       text CHECK (length(stripe_customer_id) BETWEEN 1 AND 255),
    stripe_payment_method_id text CHECK (length(stripe_payment_method_id) BETWEEN 1 AND 255),
    waitlist_joined_at       timestamptz NOT NULL DEFAULT now(),
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    UNIQUE (shop_id, phone),
    UNIQUE (shop_id, id)
);
-- The offer loop walks a shop's waitlist in join order.
CREATE INDEX customers_waitlist_idx ON customers (shop_id, waitlist_joined_at, id) WHERE sms_opt_in;

CREATE TABLE appointments (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id                bigint NOT NULL REFERENCES shops (id),
    customer_id            bigint NOT NULL,
    starts_at              timestamptz NOT NULL,
    ends_at                timestamptz NOT NULL,
    -- booked: an ordinary appointment; awaiting_payment: a recovered booking
    -- whose deposit is not settled yet; confirmed: deposit paid.
    status                 text NOT NULL DEFAULT 'booked'
                           CHECK (status IN ('booked', 'awaiting_payment', 'confirmed', 'cancelled')),
    source_slot_opening_id bigint,
    cancelled_at           timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
    -- The customer must belong to the appointment's shop.
    FOREIGN KEY (shop_id, customer_id) REFERENCES customers (shop_id, id)
);
CREATE INDEX appointments_shop_starts_idx ON appointments (shop_id, starts_at);
-- Eligibility: does this customer hold an active appointment overlapping the slot?
CREATE INDEX appointments_customer_active_idx ON appointments (customer_id, starts_at)
    WHERE status <> 'cancelled';

CREATE TABLE slot_openings (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id                  bigint NOT NULL REFERENCES shops (id),
    -- One slot opening per cancelled appointment.
    source_appointment_id    bigint NOT NULL UNIQUE REFERENCES appointments (id),
    starts_at                timestamptz NOT NULL,
    ends_at                  timestamptz NOT NULL,
    status                   text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'filled', 'expired')),
    filled_by_appointment_id bigint REFERENCES appointments (id),
    filled_at                timestamptz,
    expired_at               timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CHECK ((status = 'filled') = (filled_by_appointment_id IS NOT NULL AND filled_at IS NOT NULL)),
    CHECK ((status = 'expired') = (expired_at IS NOT NULL))
);
CREATE INDEX slot_openings_shop_created_idx ON slot_openings (shop_id, created_at DESC, id DESC);
CREATE INDEX slot_openings_open_starts_idx ON slot_openings (starts_at) WHERE status = 'open';

ALTER TABLE appointments ADD FOREIGN KEY (source_slot_opening_id) REFERENCES slot_openings (id);
-- At most one active booking per slot opening.
CREATE UNIQUE INDEX appointments_one_active_booking_idx ON appointments (source_slot_opening_id)
    WHERE source_slot_opening_id IS NOT NULL AND status <> 'cancelled';

CREATE TABLE slot_offers (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slot_opening_id     bigint NOT NULL REFERENCES slot_openings (id),
    customer_id         bigint NOT NULL REFERENCES customers (id),
    -- pending: created, SMS not yet accepted by Twilio; sent: live, waiting
    -- for an answer until expires_at.
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'sent', 'accepted', 'declined', 'expired', 'failed')),
    sent_at             timestamptz,
    expires_at          timestamptz,
    provider_message_id text UNIQUE,
    attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error          text,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    responded_at        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- One offer per (slot opening, customer).
    UNIQUE (slot_opening_id, customer_id),
    CHECK (status NOT IN ('sent', 'accepted') OR (sent_at IS NOT NULL AND expires_at IS NOT NULL))
);
-- At most one live offer per slot opening.
CREATE UNIQUE INDEX slot_offers_one_live_idx ON slot_offers (slot_opening_id)
    WHERE status IN ('pending', 'sent');
CREATE INDEX slot_offers_expiry_idx ON slot_offers (expires_at) WHERE status = 'sent';
CREATE INDEX slot_offers_retry_idx ON slot_offers (next_attempt_at) WHERE status = 'pending';
CREATE INDEX slot_offers_customer_idx ON slot_offers (customer_id);

CREATE TABLE payments (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    appointment_id           bigint NOT NULL UNIQUE REFERENCES appointments (id),
    amount                   bigint NOT NULL CHECK (amount >= 0),
    currency                 text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    -- Stripe's PaymentIntent statuses, plus pending (not sent to Stripe yet)
    -- and failed (Stripe reported payment_intent.payment_failed).
    status                   text NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('pending', 'requires_payment_method', 'requires_confirmation',
                                               'requires_action', 'processing', 'requires_capture',
                                               'succeeded', 'failed', 'canceled')),
    stripe_payment_intent_id text UNIQUE,
    last_error               text,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER shops_touch BEFORE UPDATE ON shops
    FOR EACH ROW EXECUTE FUNCTION sr_touch_updated_at();
CREATE TRIGGER customers_touch BEFORE UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION sr_touch_updated_at();
CREATE TRIGGER appointments_touch BEFORE UPDATE ON appointments
    FOR EACH ROW EXECUTE FUNCTION sr_touch_updated_at();
CREATE TRIGGER slot_openings_touch BEFORE UPDATE ON slot_openings
    FOR EACH ROW EXECUTE FUNCTION sr_touch_updated_at();
CREATE TRIGGER slot_offers_touch BEFORE UPDATE ON slot_offers
    FOR EACH ROW EXECUTE FUNCTION sr_touch_updated_at();
CREATE TRIGGER payments_touch BEFORE UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION sr_touch_updated_at();
