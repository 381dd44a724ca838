-- SPDX-License-Identifier: Apache-2.0
-- 003: answers by SMS and Stripe's word on deposits, each recorded once.

-- Every inbound SMS, by Twilio's MessageSid: a redelivery finds its row and
-- changes nothing; the reply sent the first time is sent again.
CREATE TABLE inbound_messages (
    message_sid text PRIMARY KEY CHECK (length(message_sid) BETWEEN 1 AND 64),
    from_number text NOT NULL,
    to_number   text NOT NULL,
    body        text NOT NULL,
    customer_id bigint REFERENCES customers (id),
    -- NULL until the transaction that handles the message records what it did.
    action      text CHECK (action IN ('booked', 'too_late', 'declined', 'opted_out', 'opted_in',
                                                'help', 'unknown_sender')),
    reply       text,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- Every Stripe event, by its id: a redelivered event is answered and ignored.
CREATE TABLE stripe_events (
    id                text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 255),
    type              text NOT NULL,
    payment_intent_id text,
    payment_id        bigint REFERENCES payments (id),
    outcome           text NOT NULL,
    received_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stripe_events_payment_idx ON stripe_events (payment_id) WHERE payment_id IS NOT NULL;

ALTER TABLE payments
    -- Creating the PaymentIntent is retried (same Idempotency-Key) until Stripe answers.
    ADD COLUMN attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Something a person should look at, e.g. a success reported after the failure.
    ADD COLUMN flagged_reason text;
CREATE INDEX payments_to_create_idx ON payments (next_attempt_at)
    WHERE status = 'pending' AND stripe_payment_intent_id IS NULL;

-- Inbound SMS are matched to a shop by the number they were sent to.
CREATE INDEX shops_sms_from_idx ON shops (sms_from);
CREATE INDEX customers_phone_idx ON customers (phone);
CREATE INDEX slot_offers_slot_customer_live_idx ON slot_offers (customer_id, sent_at DESC) WHERE status = 'sent';
