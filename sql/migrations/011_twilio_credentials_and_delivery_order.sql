-- SPDX-License-Identifier: Apache-2.0
-- 011: Twilio refusing our credentials, and delivery reports applied in order only.
--
-- A 401/403 from Twilio means the account SID or auth token is wrong (or the
-- account suspended): no message can go out until someone fixes the
-- configuration. One row per Twilio account, in the database every httpd of
-- the installation shares, so each server's dashboard shows it whichever
-- server's sweep met the refusal. resolved_at is set by the first message
-- Twilio accepts again for that account.
CREATE TABLE twilio_credential_problems (
    account_sid   text PRIMARY KEY CHECK (length(account_sid) BETWEEN 1 AND 64),
    http_status   integer NOT NULL,
    error_code    integer,
    message       text NOT NULL CHECK (length(message) <= 500),
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at   timestamptz
);

-- Twilio's status callbacks can arrive late and out of order: a report only
-- moves an offer's delivery_status forward (a late "sent" never replaces
-- "delivered", "undelivered" or "failed"). The rank of each status Twilio
-- sends; unknown statuses rank 0 and are never recorded. A failure ranks
-- above "delivered": a carrier's later failure report wins (the customer may
-- never have seen the offer, so the slot moves on), a late "delivered" after
-- a failure changes nothing.
CREATE FUNCTION sr_delivery_rank(status text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status
        WHEN 'accepted' THEN 1 WHEN 'scheduled' THEN 1 WHEN 'queued' THEN 2
        WHEN 'sending' THEN 3 WHEN 'sent' THEN 4
        WHEN 'delivered' THEN 5 WHEN 'read' THEN 6
        WHEN 'undelivered' THEN 7 WHEN 'failed' THEN 7 WHEN 'canceled' THEN 7
        ELSE 0 END
$$;
