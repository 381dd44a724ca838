-- SPDX-License-Identifier: Apache-2.0
-- 006: money that must go back, and what the customer must be told.
--
-- A deposit that succeeds for a booking that no longer stands (cancelled by
-- the shop, or released after a failure) is refunded automatically. The
-- refund is recorded as due in the transaction that sees the race and asked
-- of Stripe by the sweep after the commit, under a lease, so a webhook never
-- waits on Stripe and a crash never loses it. One refund per payment: a
-- redelivered event finds the row and asks for nothing more.
CREATE TABLE refunds (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id       bigint NOT NULL UNIQUE REFERENCES payments (id),
    amount           bigint NOT NULL CHECK (amount > 0),
    currency         text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    -- Why it is refunded, for the shop.
    reason           text NOT NULL,
    -- due: not asked of Stripe yet (or Stripe did not answer); then Stripe's
    -- Refund statuses. pending and requires_action are followed up.
    status           text NOT NULL DEFAULT 'due'
                     CHECK (status IN ('due', 'pending', 'requires_action', 'succeeded', 'failed', 'canceled')),
    stripe_refund_id text UNIQUE CHECK (length(stripe_refund_id) BETWEEN 1 AND 255),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (status = 'due' OR stripe_refund_id IS NOT NULL OR status = 'failed')
);
CREATE INDEX refunds_open_idx ON refunds (next_attempt_at) WHERE status IN ('due', 'pending', 'requires_action');
CREATE TRIGGER refunds_touch BEFORE UPDATE ON refunds
    FOR EACH ROW EXECUTE FUNCTION sr_touch_updated_at();

-- Texts to customers that no webhook answers carry (a booking released by the
-- sweep): written in the transaction that changes the booking, sent by the
-- sweep after the commit, retried while Twilio fails, each sent once.
CREATE TABLE customer_notifications (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id         bigint NOT NULL REFERENCES customers (id),
    payment_id          bigint REFERENCES payments (id),
    -- What it says: the deposit could not be taken (given up), the card was
    -- declined, a problem at the shop stopped it, the payment failed later.
    kind                text NOT NULL
                        CHECK (kind IN ('deposit_gave_up', 'deposit_declined', 'deposit_shop_problem',
                                        'deposit_failed')),
    to_number           text NOT NULL CHECK (to_number ~ '^\+[1-9][0-9]{6,14}$'),
    from_number         text NOT NULL CHECK (from_number ~ '^\+[1-9][0-9]{6,14}$'),
    body                text NOT NULL CHECK (length(body) BETWEEN 1 AND 1600),
    status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    last_error          text,
    provider_message_id text UNIQUE,
    sent_at             timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- A customer hears about one payment at most once.
    UNIQUE (payment_id),
    CHECK ((status = 'sent') = (provider_message_id IS NOT NULL AND sent_at IS NOT NULL))
);
CREATE INDEX customer_notifications_due_idx ON customer_notifications (next_attempt_at) WHERE status = 'pending';
CREATE TRIGGER customer_notifications_touch BEFORE UPDATE ON customer_notifications
    FOR EACH ROW EXECUTE FUNCTION sr_touch_updated_at();

