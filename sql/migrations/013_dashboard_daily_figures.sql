-- SPDX-License-Identifier: Apache-2.0
-- 013: the dashboard's recovery figures, kept per shop and day as the state changes.
--
-- The page used to scan every slot opening of the shop (and probe each filled
-- one's payment) on every view. These tables hold the same figures per shop
-- and day, written by triggers in the transaction of each change, so a view
-- sums the days of its date filter instead.

-- The day an opening counts on: the date of starts_at in the shop's zone, with
-- each day starting where the dashboard's date filter starts it
-- ((d::timestamp) AT TIME ZONE tz), so the days from..to hold exactly the
-- openings the filter selects, also in a zone whose clocks jump at midnight.
-- One expression, so PostgreSQL inlines it (a FROM would make every call
-- plan its body anew).
CREATE FUNCTION sr_local_day(at timestamptz, tz text) RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN at < ((at AT TIME ZONE tz)::date::timestamp AT TIME ZONE tz) THEN (at AT TIME ZONE tz)::date - 1
                WHEN at >= (((at AT TIME ZONE tz)::date + 1)::timestamp AT TIME ZONE tz)
                    THEN (at AT TIME ZONE tz)::date + 1
                ELSE (at AT TIME ZONE tz)::date END
$$;

-- A filled opening's time to fill, exact: the page's median is PostgreSQL's
-- percentile_cont over extract(epoch ...), which needs the microseconds.
CREATE FUNCTION sr_fill_usec(filled_at timestamptz, created_at timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (extract(epoch FROM filled_at - created_at) * 1000000)::bigint
$$;

-- Per shop and day: openings, those filled and expired, and the succeeded
-- deposits of the filled ones' bookings (payments.amount of
-- filled_by_appointment_id's payment when its status is 'succeeded').
CREATE TABLE slot_figures_daily (
    shop_id  bigint NOT NULL REFERENCES shops (id),
    day      date NOT NULL,
    opened   integer NOT NULL DEFAULT 0,
    filled   integer NOT NULL DEFAULT 0,
    expired  integer NOT NULL DEFAULT 0,
    deposits bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, day)
);

-- The filled openings' times to fill, per shop and day: how many took exactly
-- fill_usec microseconds. A row per distinct time; none with n = 0. Nearly
-- every fill inserts a row here, so no foreign key: its check would lock the
-- shop's row (FOR KEY SHARE) in every booking; the rows come only from the
-- triggers below, for shops that have openings.
CREATE TABLE slot_fill_times_daily (
    shop_id   bigint NOT NULL,
    day       date NOT NULL,
    fill_usec bigint NOT NULL,
    n         integer NOT NULL CHECK (n > 0),
    PRIMARY KEY (shop_id, day, fill_usec)
);

-- The same times per shop in whole seconds (floor), all days: the unfiltered
-- page finds the second that holds the median in these few rows, then the
-- exact times of that second alone (slot_fill_times_usec_idx).
CREATE TABLE slot_fill_seconds (
    shop_id     bigint NOT NULL, -- no foreign key, as slot_fill_times_daily
    fill_second bigint NOT NULL,
    n           integer NOT NULL CHECK (n > 0),
    PRIMARY KEY (shop_id, fill_second)
);
CREATE INDEX slot_fill_times_usec_idx ON slot_fill_times_daily (shop_id, fill_usec) INCLUDE (n);

-- A payment's change finds the opening its booking filled.
CREATE INDEX slot_openings_filled_by_idx ON slot_openings (filled_by_appointment_id)
    WHERE filled_by_appointment_id IS NOT NULL;

-- The triggers' helpers are PL/pgSQL: it keeps its statements' plans for the
-- session, where a LANGUAGE sql INSERT would be planned at every call.
CREATE FUNCTION sr_figures_add(p_shop bigint, p_day date, p_opened integer, p_filled integer, p_expired integer,
                               p_deposits bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO slot_figures_daily AS f (shop_id, day, opened, filled, expired, deposits)
    VALUES (p_shop, p_day, p_opened, p_filled, p_expired, p_deposits)
    ON CONFLICT (shop_id, day) DO UPDATE
       SET opened = f.opened + EXCLUDED.opened, filled = f.filled + EXCLUDED.filled,
           expired = f.expired + EXCLUDED.expired, deposits = f.deposits + EXCLUDED.deposits;
END
$$;

CREATE FUNCTION sr_fill_second(usec bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT floor(usec::numeric / 1000000)::bigint
$$;

CREATE FUNCTION sr_fill_time_add(p_shop bigint, p_day date, p_usec bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO slot_fill_times_daily AS t (shop_id, day, fill_usec, n) VALUES (p_shop, p_day, p_usec, 1)
    ON CONFLICT (shop_id, day, fill_usec) DO UPDATE SET n = t.n + 1;
    INSERT INTO slot_fill_seconds AS t (shop_id, fill_second, n) VALUES (p_shop, sr_fill_second(p_usec), 1)
    ON CONFLICT (shop_id, fill_second) DO UPDATE SET n = t.n + 1;
END
$$;

CREATE FUNCTION sr_fill_time_remove(p_shop bigint, p_day date, p_usec bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM slot_fill_times_daily WHERE shop_id = p_shop AND day = p_day AND fill_usec = p_usec AND n = 1;
    IF NOT FOUND THEN
        UPDATE slot_fill_times_daily SET n = n - 1 WHERE shop_id = p_shop AND day = p_day AND fill_usec = p_usec;
    END IF;
    DELETE FROM slot_fill_seconds WHERE shop_id = p_shop AND fill_second = sr_fill_second(p_usec) AND n = 1;
    IF NOT FOUND THEN
        UPDATE slot_fill_seconds SET n = n - 1 WHERE shop_id = p_shop AND fill_second = sr_fill_second(p_usec);
    END IF;
END
$$;

-- What a filled opening adds to deposits now: its booking's succeeded payment.
CREATE FUNCTION sr_figures_deposit(p_appointment bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN COALESCE((SELECT p.amount FROM payments p WHERE p.appointment_id = p_appointment
                        AND p.status = 'succeeded'), 0);
END
$$;

-- A slot opening inserted, changed or deleted: take out what the old row
-- counted and add what the new one counts (one upsert when the day stays).
-- The deposit is read from the payment as it is now; the payment's own
-- trigger keeps it right when the payment changes later.
CREATE FUNCTION sr_figures_slot_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    tz text;
    old_day date;
    new_day date;
    old_dep bigint := 0;
    new_dep bigint := 0;
    old_usec bigint;
    new_usec bigint;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        SELECT s.timezone INTO tz FROM shops s WHERE s.id = OLD.shop_id;
        old_day := sr_local_day(OLD.starts_at, tz);
        IF OLD.status = 'filled' THEN
            old_dep := sr_figures_deposit(OLD.filled_by_appointment_id);
            old_usec := sr_fill_usec(OLD.filled_at, OLD.created_at);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF TG_OP = 'UPDATE' AND NEW.shop_id = OLD.shop_id AND NEW.starts_at = OLD.starts_at THEN
            new_day := old_day;
        ELSE
            SELECT s.timezone INTO tz FROM shops s WHERE s.id = NEW.shop_id;
            new_day := sr_local_day(NEW.starts_at, tz);
        END IF;
        IF NEW.status = 'filled' THEN
            new_dep := CASE WHEN TG_OP = 'UPDATE' AND OLD.status = 'filled'
                             AND NEW.filled_by_appointment_id = OLD.filled_by_appointment_id THEN old_dep
                            ELSE sr_figures_deposit(NEW.filled_by_appointment_id) END;
            new_usec := sr_fill_usec(NEW.filled_at, NEW.created_at);
        END IF;
    END IF;

    IF TG_OP = 'UPDATE' AND NEW.shop_id = OLD.shop_id AND new_day = old_day THEN
        IF OLD.status <> NEW.status OR old_dep <> new_dep THEN
            PERFORM sr_figures_add(NEW.shop_id, new_day, 0,
                                   (NEW.status = 'filled')::integer - (OLD.status = 'filled')::integer,
                                   (NEW.status = 'expired')::integer - (OLD.status = 'expired')::integer,
                                   new_dep - old_dep);
        END IF;
        IF old_usec IS NOT DISTINCT FROM new_usec THEN
            RETURN NULL;
        END IF;
    ELSE
        IF TG_OP <> 'INSERT' THEN
            PERFORM sr_figures_add(OLD.shop_id, old_day, -1, -(OLD.status = 'filled')::integer,
                                   -(OLD.status = 'expired')::integer, -old_dep);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM sr_figures_add(NEW.shop_id, new_day, 1, (NEW.status = 'filled')::integer,
                                   (NEW.status = 'expired')::integer, new_dep);
        END IF;
    END IF;
    IF old_usec IS NOT NULL THEN
        PERFORM sr_fill_time_remove(OLD.shop_id, old_day, old_usec);
    END IF;
    IF new_usec IS NOT NULL THEN
        PERFORM sr_fill_time_add(NEW.shop_id, new_day, new_usec);
    END IF;
    RETURN NULL;
END
$$;

-- A payment that becomes, or stops being, a succeeded deposit (or whose
-- amount or booking changes while it is one) moves the deposits of the
-- opening its booking filled. No lock is taken here: every path that changes
-- a payment's status holds the payment's row lock, and the opening's fill and
-- release happen with that payment locked or not yet visible.
CREATE FUNCTION sr_figures_payment_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    o record;
    old_amount bigint := 0;
    new_amount bigint := 0;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status = 'succeeded' THEN
        old_amount := OLD.amount;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status = 'succeeded' THEN
        new_amount := NEW.amount;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.appointment_id = OLD.appointment_id THEN
        new_amount := new_amount - old_amount;
        old_amount := 0;
    END IF;
    IF old_amount <> 0 THEN
        FOR o IN SELECT so.shop_id, sr_local_day(so.starts_at, s.timezone) AS day
                   FROM slot_openings so JOIN shops s ON s.id = so.shop_id
                  WHERE so.filled_by_appointment_id = OLD.appointment_id AND so.status = 'filled' LOOP
            PERFORM sr_figures_add(o.shop_id, o.day, 0, 0, 0, -old_amount);
        END LOOP;
    END IF;
    IF new_amount <> 0 THEN
        FOR o IN SELECT so.shop_id, sr_local_day(so.starts_at, s.timezone) AS day
                   FROM slot_openings so JOIN shops s ON s.id = so.shop_id
                  WHERE so.filled_by_appointment_id = NEW.appointment_id AND so.status = 'filled' LOOP
            PERFORM sr_figures_add(o.shop_id, o.day, 0, 0, 0, new_amount);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;

-- A shop's figures from scratch (NULL: every shop's): the back-fill below,
-- and a shop whose time zone changed (its openings fall on other days).
CREATE FUNCTION sr_figures_rebuild(p_shop bigint) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM slot_figures_daily WHERE p_shop IS NULL OR shop_id = p_shop;
    DELETE FROM slot_fill_times_daily WHERE p_shop IS NULL OR shop_id = p_shop;
    DELETE FROM slot_fill_seconds WHERE p_shop IS NULL OR shop_id = p_shop;
    INSERT INTO slot_figures_daily (shop_id, day, opened, filled, expired, deposits)
    SELECT o.shop_id, sr_local_day(o.starts_at, s.timezone), count(*),
           count(*) FILTER (WHERE o.status = 'filled'), count(*) FILTER (WHERE o.status = 'expired'),
           COALESCE(sum(p.amount) FILTER (WHERE o.status = 'filled' AND p.status = 'succeeded'), 0)
      FROM slot_openings o JOIN shops s ON s.id = o.shop_id
      LEFT JOIN payments p ON p.appointment_id = o.filled_by_appointment_id
     WHERE p_shop IS NULL OR o.shop_id = p_shop
     GROUP BY 1, 2;
    INSERT INTO slot_fill_times_daily (shop_id, day, fill_usec, n)
    SELECT o.shop_id, sr_local_day(o.starts_at, s.timezone), sr_fill_usec(o.filled_at, o.created_at), count(*)
      FROM slot_openings o JOIN shops s ON s.id = o.shop_id
     WHERE o.status = 'filled' AND (p_shop IS NULL OR o.shop_id = p_shop)
     GROUP BY 1, 2, 3;
    INSERT INTO slot_fill_seconds (shop_id, fill_second, n)
    SELECT shop_id, sr_fill_second(fill_usec), sum(n) FROM slot_fill_times_daily
     WHERE p_shop IS NULL OR shop_id = p_shop GROUP BY 1, 2;
$$;

CREATE FUNCTION sr_figures_shop_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sr_figures_rebuild(NEW.id);
    RETURN NULL;
END
$$;

-- Each fires only when what the figures count changes (the offer loop's
-- waiting_since and the payments' bookkeeping columns do not).
CREATE TRIGGER slot_openings_figures_insert AFTER INSERT ON slot_openings
    FOR EACH ROW EXECUTE FUNCTION sr_figures_slot_change();
CREATE TRIGGER slot_openings_figures_update
    AFTER UPDATE OF status, filled_at, filled_by_appointment_id, created_at, starts_at, shop_id ON slot_openings
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.filled_at IS DISTINCT FROM NEW.filled_at
                       OR OLD.filled_by_appointment_id IS DISTINCT FROM NEW.filled_by_appointment_id
                       OR OLD.created_at IS DISTINCT FROM NEW.created_at
                       OR OLD.starts_at IS DISTINCT FROM NEW.starts_at
                       OR OLD.shop_id IS DISTINCT FROM NEW.shop_id)
    EXECUTE FUNCTION sr_figures_slot_change();
CREATE TRIGGER slot_openings_figures_delete AFTER DELETE ON slot_openings
    FOR EACH ROW EXECUTE FUNCTION sr_figures_slot_change();

CREATE TRIGGER payments_figures_insert AFTER INSERT ON payments
    FOR EACH ROW WHEN (NEW.status = 'succeeded') EXECUTE FUNCTION sr_figures_payment_change();
CREATE TRIGGER payments_figures_update AFTER UPDATE OF status, amount, appointment_id ON payments
    FOR EACH ROW WHEN ((OLD.status = 'succeeded') <> (NEW.status = 'succeeded')
                       OR (NEW.status = 'succeeded' AND (OLD.amount <> NEW.amount
                                                         OR OLD.appointment_id <> NEW.appointment_id)))
    EXECUTE FUNCTION sr_figures_payment_change();
CREATE TRIGGER payments_figures_delete AFTER DELETE ON payments
    FOR EACH ROW WHEN (OLD.status = 'succeeded') EXECUTE FUNCTION sr_figures_payment_change();

CREATE TRIGGER shops_figures_timezone AFTER UPDATE OF timezone ON shops
    FOR EACH ROW WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone) EXECUTE FUNCTION sr_figures_shop_change();

DO $$ BEGIN PERFORM sr_figures_rebuild(NULL); END $$;
