-- SPDX-License-Identifier: Apache-2.0
-- 005: this installation's identity and its own keys, made once.
--
-- The id goes into every Stripe Idempotency-Key and PaymentIntent metadata, so
-- two installations (or a test and a live database) sharing one Stripe
-- account never collide, and an event is ours only if it carries it. The
-- CSRF key signs the dashboard's form tokens; it is not the internal API
-- secret, so a leaked token says nothing about that secret. Both come from
-- gen_random_uuid(), which PostgreSQL draws from its strong random source.
CREATE TABLE installation (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    id         text NOT NULL UNIQUE CHECK (id ~ '^[0-9a-f]{32}$'),
    csrf_key   text NOT NULL CHECK (csrf_key ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO installation (id, csrf_key)
VALUES (replace(gen_random_uuid()::text, '-', ''),
        replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''));
