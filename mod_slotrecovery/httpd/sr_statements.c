/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every SQL statement of the module, prepared on each pooled connection under
 * its label. Parameters are apr_dbd's %s (sent as text, cast in SQL).
 *
 * Columns are aliased to the JSON API's camelCase names so a row maps onto a
 * JSON object directly (sr_api_row_to_json); "customer.name" nests.
 * Timestamps leave PostgreSQL already formatted as RFC 3339 (sr_rfc3339).
 */
#include "sr_db.h"
#include "sr_offer_loop.h"

#define SWEEP_BATCH APR_STRINGIFY(SR_SWEEP_BATCH)
/* issue 16: twilio. A delivery report moves the offer forward only (sr_loop_delivery_status). */
#define FORWARD "sr_delivery_rank(n.st) > sr_delivery_rank(f.delivery_status)"

#define SHOP_COLUMNS                                                                                                   \
    "s.id::text AS \"id\", s.name AS \"name\", s.timezone AS \"timezone\", "                                           \
    "s.sms_from AS \"smsFrom\", s.deposit_amount AS \"depositAmount\", "                                               \
    "s.currency AS \"currency\", s.offer_ttl_seconds AS \"offerTtlSeconds\", "                                         \
    "to_char(s.quiet_hours_start, 'HH24:MI') AS \"quietHoursStart\", "                                                 \
    "to_char(s.quiet_hours_end, 'HH24:MI') AS \"quietHoursEnd\", "                                                     \
    "sr_rfc3339(s.created_at) AS \"createdAt\", sr_rfc3339(s.updated_at) AS \"updatedAt\""

#define CUSTOMER_COLUMNS(prefix)                                                                                       \
    "c.id::text AS \"" prefix "id\", c.shop_id::text AS \"" prefix "shopId\", "                                        \
    "c.name AS \"" prefix "name\", c.phone AS \"" prefix "phone\", c.email AS \"" prefix "email\", "                   \
    "c.sms_opt_in AS \"" prefix "smsOptIn\", "                                                                         \
    "c.stripe_customer_id AS \"" prefix "stripeCustomerId\", "                                                         \
    "c.stripe_payment_method_id AS \"" prefix "stripePaymentMethodId\", "                                              \
    "sr_rfc3339(c.waitlist_joined_at) AS \"" prefix "waitlistJoinedAt\", "                                             \
    "sr_rfc3339(c.created_at) AS \"" prefix "createdAt\""

/* Locking slot openings to advance them (an array); the caller branches on status, too_late, quiet, waiting. */
#define SR_LOCK_SLOTS_SQL                                                                                              \
    "SELECT o.id::text AS id, o.status AS status, "                                                                    \
    "o.starts_at <= now() + make_interval(secs => %s::integer) AS too_late, "                                          \
    "sr_in_quiet_hours(s.timezone, s.quiet_hours_start, s.quiet_hours_end, now()) AS quiet, "                          \
    "to_char(s.quiet_hours_end, 'HH24:MI') AS quiet_until, o.waiting_since IS NOT NULL AS waiting "                    \
    "FROM slot_openings o JOIN shops s ON s.id = o.shop_id WHERE o.id = ANY (%s::bigint[]) "                           \
    "ORDER BY o.id FOR UPDATE OF o"

const sr_statement_t sr_statements[SR_Q_COUNT] = {
    /* A timezone PostgreSQL does not know is refused by returning no row. */
    [SR_Q_SHOP_INSERT] = {"sr_shop_insert",
                          "INSERT INTO shops AS s (name, timezone, sms_from, deposit_amount, currency, "
                          "offer_ttl_seconds, quiet_hours_start, quiet_hours_end) "
                          "SELECT %s, %s, %s, %s::bigint, %s, %s::integer, %s::time, %s::time "
                          "WHERE EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = %s) "
                          "RETURNING " SHOP_COLUMNS},
    [SR_Q_SHOP_GET] = {"sr_shop_get", "SELECT " SHOP_COLUMNS " FROM shops s WHERE s.id = %s::bigint"},

    /* A phone already on the shop's list is refused by returning no row. */
    [SR_Q_CUSTOMER_INSERT] = {"sr_customer_insert",
                              "INSERT INTO customers AS c (shop_id, name, phone, email, sms_opt_in, "
                              "stripe_customer_id, stripe_payment_method_id) "
                              "VALUES (%s::bigint, %s, %s, %s, %s::boolean, %s, %s) "
                              "ON CONFLICT (shop_id, phone) DO NOTHING "
                              "RETURNING " CUSTOMER_COLUMNS("")},
    [SR_Q_CUSTOMER_IN_SHOP] = {"sr_customer_in_shop", "SELECT c.id::text AS \"id\" FROM customers c "
                                                      "WHERE c.id = %s::bigint AND c.shop_id = %s::bigint"},

    [SR_Q_APPOINTMENT_INSERT] = {"sr_appointment_insert",
                                 "INSERT INTO appointments (shop_id, customer_id, starts_at, ends_at) "
                                 "VALUES (%s::bigint, %s::bigint, %s::timestamptz, %s::timestamptz) "
                                 "RETURNING id::text AS \"id\""},
    [SR_Q_APPOINTMENT_GET] = {"sr_appointment_get",
                              "SELECT a.id::text AS \"id\", a.shop_id::text AS \"shopId\", "
                              "a.customer_id::text AS \"customerId\", "
                              "sr_rfc3339(a.starts_at) AS \"startsAt\", sr_rfc3339(a.ends_at) AS \"endsAt\", "
                              "a.status AS \"status\", a.source_slot_opening_id::text AS \"sourceSlotOpeningId\", "
                              "sr_rfc3339(a.cancelled_at) AS \"cancelledAt\", "
                              "sr_rfc3339(a.created_at) AS \"createdAt\", "
                              "sr_rfc3339(a.updated_at) AS \"updatedAt\", " CUSTOMER_COLUMNS(
                                  "customer.") ", "
                                               "p.id::text AS \"payment.id\", p.status AS \"payment.status\", "
                                               "p.amount AS \"payment.amount\", p.currency AS \"payment.currency\", "
                                               "p.stripe_payment_intent_id AS \"payment.stripePaymentIntentId\", "
                                               "p.last_error AS \"payment.lastError\", "
                                               "sr_rfc3339(p.updated_at) AS \"payment.updatedAt\" "
                                               "FROM appointments a JOIN customers c ON c.id = a.customer_id "
                                               "LEFT JOIN payments p ON p.appointment_id = a.id "
                                               "WHERE a.id = %s::bigint"},
    /* The lock serialises concurrent cancellations of one appointment. */
    [SR_Q_APPOINTMENT_LOCK] = {"sr_appointment_lock", "SELECT a.id::text AS \"id\", a.status AS \"status\" "
                                                      "FROM appointments a WHERE a.id = %s::bigint FOR UPDATE"},
    [SR_Q_APPOINTMENT_CANCEL] = {"sr_appointment_cancel",
                                 "UPDATE appointments SET status = 'cancelled', cancelled_at = now() "
                                 "WHERE id = %s::bigint AND status <> 'cancelled'"},

    /* Only a cancellation of a future appointment opens a slot; only one per appointment. */
    [SR_Q_SLOT_OPENING_FROM_CANCELLATION] = {"sr_slot_opening_from_cancellation",
                                             "INSERT INTO slot_openings (shop_id, source_appointment_id, "
                                             "starts_at, ends_at, public_url_prefix) "
                                             "SELECT a.shop_id, a.id, a.starts_at, a.ends_at, %s "
                                             "FROM appointments a "
                                             "WHERE a.id = %s::bigint AND a.starts_at > now() "
                                             "ON CONFLICT (source_appointment_id) DO NOTHING "
                                             "RETURNING id::text AS \"id\""},
    [SR_Q_SLOT_OPENING_BY_SOURCE] = {"sr_slot_opening_by_source", "SELECT o.id::text AS \"id\" FROM slot_openings o "
                                                                  "WHERE o.source_appointment_id = %s::bigint"},
    [SR_Q_SLOT_OPENING_GET] = {"sr_slot_opening_get",
                               "SELECT o.id::text AS \"id\", o.shop_id::text AS \"shopId\", "
                               "o.status AS \"status\", "
                               "sr_rfc3339(o.starts_at) AS \"startsAt\", sr_rfc3339(o.ends_at) AS \"endsAt\", "
                               "o.source_appointment_id::text AS \"sourceAppointmentId\", "
                               "o.filled_by_appointment_id::text AS \"filledByAppointmentId\", "
                               "sr_rfc3339(o.filled_at) AS \"filledAt\", "
                               "sr_rfc3339(o.expired_at) AS \"expiredAt\", "
                               "(o.status = 'open' AND o.waiting_since IS NOT NULL) AS \"waiting\", "
                               "sr_rfc3339(o.created_at) AS \"createdAt\", "
                               "sr_rfc3339(o.updated_at) AS \"updatedAt\" "
                               "FROM slot_openings o WHERE o.id = %s::bigint"},
    [SR_Q_SLOT_OFFERS_OF_OPENING] = {"sr_slot_offers_of_opening",
                                     "SELECT f.id::text AS \"id\", f.customer_id::text AS \"customerId\", "
                                     "f.status AS \"status\", sr_rfc3339(f.sent_at) AS \"sentAt\", "
                                     "sr_rfc3339(f.expires_at) AS \"expiresAt\", "
                                     "f.provider_message_id AS \"providerMessageId\", "
                                     "f.attempts AS \"attempts\", f.last_error AS \"lastError\", "
                                     "sr_rfc3339(f.created_at) AS \"createdAt\" "
                                     "FROM slot_offers f WHERE f.slot_opening_id = %s::bigint ORDER BY f.id"},

    /* A partial update: NULL keeps a value; the quiet hours carry a "set" flag as NULL clears them. */
    [SR_Q_SHOP_UPDATE] = {"sr_shop_update",
                          "UPDATE shops AS s SET name = COALESCE(%s, s.name), "
                          "timezone = COALESCE(%s, s.timezone), sms_from = COALESCE(%s, s.sms_from), "
                          "deposit_amount = COALESCE(%s::bigint, s.deposit_amount), "
                          "currency = COALESCE(%s, s.currency), "
                          "offer_ttl_seconds = COALESCE(%s::integer, s.offer_ttl_seconds), "
                          "quiet_hours_start = CASE WHEN %s::boolean THEN %s::time ELSE s.quiet_hours_start END, "
                          "quiet_hours_end = CASE WHEN %s::boolean THEN %s::time ELSE s.quiet_hours_end END "
                          "WHERE s.id = %s::bigint "
                          "AND (%s::text IS NULL OR EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = %s)) "
                          "RETURNING " SHOP_COLUMNS},

    /* Made once by migration 005; never changes. */
    [SR_Q_INSTALLATION_GET] = {"sr_installation_get",
                               "SELECT id AS id, csrf_key AS csrf_key FROM installation WHERE singleton"},

    /* hardening: database and sweep infrastructure */

    /*
     * The offer loop. Advancing a slot locks its row first, so two servers
     * advancing the same slot take turns; the partial unique index on live
     * offers is the last word if anything slips through.
     */
    /* A statement of its own, after the lock: its snapshot sees what the previous holder committed. */
    [SR_Q_LOOP_HAS_LIVE_OFFER] = {"sr_loop_has_live_offer",
                                  "SELECT EXISTS (SELECT 1 FROM slot_offers f WHERE f.slot_opening_id = %s::bigint "
                                  "AND f.status IN ('pending', 'sent')) AS has_live_offer"},
    /*
     * The next eligible customer, offered in the same statement: same shop,
     * opted in, not the canceller, not offered this slot before, no active
     * appointment overlapping the slot; earliest waitlist join first.
     * The waitlist is walked in a LATERAL subquery so that its order comes
     * straight from customers_waitlist_idx and the walk stops at the first
     * eligible customer, instead of checking every customer of the shop and
     * sorting them (measured at 1,000 customers a shop: 6 ms down to 0.1 ms).
     * Takes an array of slot openings, all locked by the caller: one for a
     * trigger, a batch for the sweep. A slot with a live offer gets none.
     */
    [SR_Q_LOOP_OFFER_NEXT_CUSTOMER] = {"sr_loop_offer_next_customer",
                                       "INSERT INTO slot_offers (slot_opening_id, customer_id) "
                                       "SELECT o.id, candidate.id FROM slot_openings o "
                                       "JOIN appointments src ON src.id = o.source_appointment_id "
                                       "CROSS JOIN LATERAL (SELECT c.id FROM customers c "
                                       "WHERE c.shop_id = o.shop_id AND c.sms_opt_in AND c.id <> src.customer_id "
                                       "AND NOT EXISTS (SELECT 1 FROM slot_offers f "
                                       "WHERE f.slot_opening_id = o.id AND f.customer_id = c.id) "
                                       "AND NOT EXISTS (SELECT 1 FROM appointments a "
                                       "WHERE a.customer_id = c.id AND a.status <> 'cancelled' "
                                       "AND a.starts_at < o.ends_at AND a.ends_at > o.starts_at) "
                                       "ORDER BY c.waitlist_joined_at, c.id LIMIT 1) candidate "
                                       "WHERE o.id = ANY (%s::bigint[]) "
                                       "AND NOT EXISTS (SELECT 1 FROM slot_offers l WHERE l.slot_opening_id = o.id "
                                       "AND l.status IN ('pending', 'sent')) "
                                       "RETURNING id::text AS id, slot_opening_id::text AS slot_opening_id, "
                                       "customer_id::text AS customer_id"},
    /* Expiring slot openings (an array of them) with a reason, and their live offers. */
    [SR_Q_LOOP_EXPIRE_SLOT] = {"sr_loop_expire_slot",
                               "UPDATE slot_openings SET status = 'expired', expired_at = now(), "
                               "expired_reason = %s WHERE id = ANY (%s::bigint[]) AND status = 'open'"},
    [SR_Q_LOOP_EXPIRE_LIVE_OFFERS] = {"sr_loop_expire_live_offers",
                                      "UPDATE slot_offers SET status = 'expired' "
                                      "WHERE slot_opening_id = ANY (%s::bigint[]) AND status IN ('pending', 'sent')"},
    /*
     * Advancing slot openings (an array, one for a trigger) locks them first,
     * in id order, so two servers advancing the same slot take turns and
     * batches never deadlock. The sweep skips those another process holds
     * (whoever holds one is advancing it); a trigger waits for them.
     */
    [SR_Q_LOOP_LOCK_SLOTS] = {"sr_loop_lock_slots", SR_LOCK_SLOTS_SQL " SKIP LOCKED"},
    [SR_Q_LOOP_LOCK_SLOTS_WAIT] = {"sr_loop_lock_slots_wait", SR_LOCK_SLOTS_SQL},
    /*
     * Claims pending offers whose (next) attempt is due, outside their shop's
     * quiet hours and before the slot's offer cutoff: counts the attempt and
     * leases the offer until the lease ends, so no other process sends it
     * meanwhile. The ttl is what the SMS promises: the shop's, or less when
     * the cutoff comes first. Arguments: one offer id or NULL for any (twice),
     * the cutoff, the batch size, the lease in seconds, the cutoff again.
     */
    [SR_Q_LOOP_CLAIM_DUE_OFFERS] =
        {"sr_loop_claim_due_offers",
         "WITH due AS (SELECT f.id FROM slot_offers f "
         "JOIN slot_openings o ON o.id = f.slot_opening_id "
         "JOIN shops s ON s.id = o.shop_id "
         "WHERE f.status = 'pending' AND f.next_attempt_at <= now() "
         "AND (%s::bigint IS NULL OR f.id = %s::bigint) "
         "AND o.status = 'open' AND o.starts_at > now() + make_interval(secs => %s::integer) "
         "AND NOT sr_in_quiet_hours(s.timezone, s.quiet_hours_start, "
         "s.quiet_hours_end, now()) "
         "ORDER BY f.next_attempt_at, f.id LIMIT %s::integer "
         "FOR UPDATE OF f SKIP LOCKED) "
         "UPDATE slot_offers f SET attempts = f.attempts + 1, "
         "deposit_amount = COALESCE(f.deposit_amount, s.deposit_amount), currency = COALESCE(f.currency, s.currency), "
         "next_attempt_at = now() + make_interval(secs => %s::integer) "
         "FROM due, slot_openings o, shops s, customers c "
         "WHERE f.id = due.id AND o.id = f.slot_opening_id AND s.id = o.shop_id "
         "AND c.id = f.customer_id "
         "RETURNING f.id::text AS id, f.slot_opening_id::text AS slot_opening_id, "
         "f.deposit_amount AS offer_deposit_amount, f.currency AS offer_currency, "
         "o.public_url_prefix AS public_url_prefix, f.attempts AS attempts, c.phone AS phone, s.sms_from AS sms_from, "
         "s.name AS shop_name, s.deposit_amount AS deposit_amount, "
         "s.currency AS currency, "
         "least(s.offer_ttl_seconds, floor(extract(epoch FROM o.starts_at - now()))::integer - %s::integer) AS ttl, "
         "to_char(o.starts_at AT TIME ZONE s.timezone, 'Dy DD Mon HH24:MI') "
         "AS slot_time"},
    /* An offer never outlives its slot: it ends at the cutoff (argument 1) if that comes first. */
    [SR_Q_LOOP_MARK_SENT] = {"sr_loop_mark_sent", "UPDATE slot_offers f SET status = 'sent', sent_at = now(), "
                                                  "expires_at = least(now() + "
                                                  "make_interval(secs => s.offer_ttl_seconds), "
                                                  "o.starts_at - make_interval(secs => %s::integer)), "
                                                  "provider_message_id = %s, last_error = NULL "
                                                  "FROM slot_openings o, shops s "
                                                  "WHERE f.id = %s::bigint AND f.status = 'pending' "
                                                  "AND o.id = f.slot_opening_id AND s.id = o.shop_id"},
    /*
     * A failed attempt: the offer fails for good when the error is permanent
     * or the attempts are used up, else it waits base * 2^(attempts-1)
     * seconds (at most an hour). Arguments: error, permanent, max attempts,
     * base delay, offer id.
     */
    [SR_Q_LOOP_MARK_SEND_FAILED] = {"sr_loop_mark_send_failed",
                                    "UPDATE slot_offers SET last_error = left(%s, 500), "
                                    "status = CASE WHEN %s::boolean OR attempts >= %s::integer "
                                    "THEN 'failed' ELSE 'pending' END, "
                                    "next_attempt_at = now() + make_interval(secs => "
                                    "least(3600, %s::integer * power(2, greatest(attempts - 1, 0)))) "
                                    "WHERE id = %s::bigint AND status = 'pending' "
                                    "RETURNING status AS status, slot_opening_id::text AS slot_opening_id"},
    /*
     * The batch size is written into the statement: with LIMIT as a
     * parameter, the generic plan PostgreSQL settles on after five runs
     * scanned every offer (170 ms at 200,000 offers, against 3 ms).
     */
    [SR_Q_LOOP_EXPIRE_DUE_OFFERS] = {"sr_loop_expire_due_offers",
                                     "WITH due AS (SELECT id FROM slot_offers "
                                     "WHERE status = 'sent' AND expires_at <= now() "
                                     "ORDER BY expires_at LIMIT " SWEEP_BATCH " FOR UPDATE SKIP LOCKED) "
                                     "UPDATE slot_offers f SET status = 'expired' FROM due WHERE f.id = due.id "
                                     "RETURNING f.slot_opening_id::text AS slot_opening_id"},
    /*
     * What the sweep passes on: open slots too close to their start (to
     * expire them, quiet hours or not), then open slots left without a live
     * offer (a lost trigger, quiet hours over) and not waiting for a customer,
     * taken in turns across the shops outside their quiet hours (every shop's
     * earliest, then every shop's second, ...), so that one shop's many slots
     * cannot crowd out the others'. The plan walks the shops, skips those in
     * quiet hours before reading any of their slots, reads the others' on
     * slot_openings_to_offer_idx and drops those with a live offer in one
     * hash anti join (a probe per slot read 20 times the buffers). Arguments:
     * the cutoff, twice. The batch size is written in (see below).
     */
    [SR_Q_LOOP_SLOTS_TO_ADVANCE] =
        {"sr_loop_slots_to_advance",
         "SELECT due.id::text AS id FROM ("
         "SELECT o.id, 0::bigint AS turn, o.starts_at FROM slot_openings o "
         "WHERE o.status = 'open' "
         "AND o.starts_at <= now() + make_interval(secs => %s::integer) "
         "UNION ALL "
         "SELECT o.id, row_number() OVER (PARTITION BY o.shop_id ORDER BY o.starts_at, o.id), "
         "o.starts_at FROM slot_openings o JOIN shops s ON s.id = o.shop_id "
         "WHERE o.status = 'open' AND o.waiting_since IS NULL "
         "AND o.starts_at > now() + make_interval(secs => %s::integer) "
         "AND NOT sr_in_quiet_hours(s.timezone, s.quiet_hours_start, s.quiet_hours_end, "
         "now()) "
         "AND NOT EXISTS (SELECT 1 FROM slot_offers f WHERE f.slot_opening_id = o.id "
         "AND f.status IN ('pending', 'sent'))) due "
         "ORDER BY due.turn, due.starts_at, due.id LIMIT " SWEEP_BATCH},
    /*
     * A Twilio delivery report. An undelivered or failed SMS for a live offer
     * fails the offer so the loop can move on at once. Only forward (issue 16: twilio; migration 011's
     * sr_delivery_rank): Twilio's reports arrive late and out of order, and a late "sent" must not replace "delivered"
     * or "undelivered", nor a late "delivered" revive a failure. The rank is compared with the locked row's own status
     * (two reports at once: the second sees the first's). Arguments: status, error code, message sid.
     */
    [SR_Q_LOOP_DELIVERY_STATUS] = {"sr_loop_delivery_status",
                                   "UPDATE slot_offers f SET "
                                   "delivery_status = CASE WHEN " FORWARD " THEN n.st ELSE f.delivery_status END, "
                                   "delivery_updated_at = CASE WHEN " FORWARD
                                   " THEN now() ELSE f.delivery_updated_at END, "
                                   "status = CASE WHEN " FORWARD
                                   " AND n.st IN ('undelivered', 'failed') AND f.status = 'sent' "
                                   "THEN 'failed' ELSE f.status END, "
                                   "last_error = CASE WHEN " FORWARD
                                   " AND n.st IN ('undelivered', 'failed') AND f.status = 'sent' "
                                   "THEN left('SMS ' || n.st || COALESCE(' (error ' || n.code || ')', ''), 500) "
                                   "ELSE f.last_error END "
                                   "FROM (SELECT %s::text AS st, %s::text AS code) n "
                                   "WHERE f.provider_message_id = %s "
                                   "RETURNING f.slot_opening_id::text AS slot_opening_id, f.status AS status"},

    /* hardening: offers and slots */

    /*
     * Slots waiting for a customer (migration 008). After
     * sr_loop_offer_next_customer, on locked slots (an array): one that got
     * no offer waits, one that got one no longer does. Only rows whose state
     * changes are written.
     */
    [SR_Q_LOOP_SET_WAITING] = {"sr_loop_set_waiting",
                               "UPDATE slot_openings o "
                               "SET waiting_since = CASE WHEN o.waiting_since IS NULL THEN now() END "
                               "WHERE o.id = ANY (%s::bigint[]) AND o.status = 'open' "
                               "AND (o.waiting_since IS NULL) = NOT EXISTS (SELECT 1 FROM slot_offers f "
                               "WHERE f.slot_opening_id = o.id AND f.status IN ('pending', 'sent')) "
                               "RETURNING o.id::text AS id, o.waiting_since IS NOT NULL AS waiting"},
    /*
     * Waking the waiting slots of some shops (an array) when a customer joins
     * the waitlist or opts in again, in that customer's transaction. Every
     * open slot of those shops is locked first: an advance in flight, which
     * cannot see the new customer, commits its "waiting" before the wake
     * reads it (a later one waits for the commit and sees the customer).
     */
    [SR_Q_LOOP_LOCK_OPEN_SLOTS] = {"sr_loop_lock_open_slots",
                                   "SELECT count(*) AS locked FROM (SELECT 1 FROM slot_openings o "
                                   "WHERE o.shop_id = ANY (%s::bigint[]) AND o.status = 'open' "
                                   "ORDER BY o.id FOR UPDATE) l"},
    /* Then the wake itself: the woken slots, earliest first. */
    [SR_Q_LOOP_WAKE_WAITING] = {"sr_loop_wake_waiting",
                                "WITH woken AS (UPDATE slot_openings o SET waiting_since = NULL "
                                "WHERE o.shop_id = ANY (%s::bigint[]) AND o.status = 'open' "
                                "AND o.waiting_since IS NOT NULL RETURNING o.id, o.starts_at) "
                                "SELECT id::text AS id FROM woken ORDER BY starts_at, id"},
    /*
     * The same for a cancelled appointment, after its commit: its customer
     * (if opted in) is free for the shop's open slots at that time. Locked
     * first for the same reason.
     */
    [SR_Q_LOOP_LOCK_OVERLAPPING] = {"sr_loop_lock_overlapping",
                                    "SELECT count(*) AS locked FROM (SELECT 1 FROM slot_openings o "
                                    "JOIN appointments a ON a.shop_id = o.shop_id "
                                    "JOIN customers c ON c.id = a.customer_id AND c.sms_opt_in "
                                    "WHERE a.id = %s::bigint AND o.status = 'open' "
                                    "AND o.starts_at < a.ends_at AND o.ends_at > a.starts_at "
                                    "ORDER BY o.id FOR UPDATE OF o) l"},
    [SR_Q_LOOP_WAKE_OVERLAPPING] = {"sr_loop_wake_overlapping",
                                    "WITH woken AS (UPDATE slot_openings o SET waiting_since = NULL "
                                    "FROM appointments a JOIN customers c ON c.id = a.customer_id AND c.sms_opt_in "
                                    "WHERE a.id = %s::bigint AND o.shop_id = a.shop_id AND o.status = 'open' "
                                    "AND o.waiting_since IS NOT NULL "
                                    "AND o.starts_at < a.ends_at AND o.ends_at > a.starts_at "
                                    "RETURNING o.id, o.starts_at) "
                                    "SELECT id::text AS id FROM woken ORDER BY starts_at, id"},

    /*
     * Inbound SMS. The claim inserts the message first: a concurrent
     * redelivery waits on the primary key, then finds the row and replays the
     * reply recorded with it.
     */
    [SR_Q_INBOUND_CLAIM] = {"sr_inbound_claim",
                            "INSERT INTO inbound_messages (message_sid, from_number, to_number, body) "
                            "VALUES (%s, %s, %s, left(%s, 1600)) ON CONFLICT (message_sid) DO NOTHING "
                            "RETURNING message_sid"},
    [SR_Q_INBOUND_GET] = {"sr_inbound_get",
                          "SELECT action AS action, reply AS reply FROM inbound_messages WHERE message_sid = %s"},
    [SR_Q_INBOUND_RECORD] = {"sr_inbound_record",
                             "UPDATE inbound_messages SET action = %s, reply = %s, customer_id = %s::bigint "
                             "WHERE message_sid = %s"},
    /* The sender as a customer of the shop(s) texting from the number they wrote to. */
    [SR_Q_INBOUND_SENDER] = {"sr_inbound_sender",
                             "SELECT c.id::text AS customer_id, s.id::text AS shop_id, s.name AS shop_name "
                             "FROM customers c JOIN shops s ON s.id = c.shop_id "
                             "WHERE c.phone = %s AND s.sms_from = %s ORDER BY c.id"},
    [SR_Q_INBOUND_LIVE_OFFER] = {"sr_inbound_live_offer",
                                 "SELECT f.id::text AS offer_id, f.slot_opening_id::text AS slot_opening_id, "
                                 "c.id::text AS customer_id FROM slot_offers f "
                                 "JOIN customers c ON c.id = f.customer_id JOIN shops s ON s.id = c.shop_id "
                                 "WHERE c.phone = %s AND s.sms_from = %s AND f.status = 'sent' "
                                 "ORDER BY f.sent_at DESC, f.id DESC LIMIT 1"},
    /*
     * YES: the slot's row lock makes exactly one of concurrent answers the
     * winner. The deposit is the one the offer's SMS named (fixed when it was
     * sent); the shop's is only a fallback for an offer set 'sent' by hand.
     */
    [SR_Q_BOOK_LOCK] = {"sr_book_lock",
                        "SELECT o.status AS slot_status, f.status AS offer_status, "
                        "f.expires_at > now() AS offer_live, "
                        "COALESCE(f.deposit_amount, s.deposit_amount) AS deposit_amount, "
                        "COALESCE(f.currency, s.currency) AS currency, s.name AS shop_name, "
                        "to_char(o.starts_at AT TIME ZONE s.timezone, 'Dy DD Mon HH24:MI') AS slot_time, "
                        "(c.stripe_customer_id IS NOT NULL AND c.stripe_payment_method_id IS NOT NULL) "
                        "AS has_card "
                        "FROM slot_openings o JOIN slot_offers f ON f.slot_opening_id = o.id "
                        "JOIN shops s ON s.id = o.shop_id JOIN customers c ON c.id = f.customer_id "
                        "WHERE o.id = %s::bigint AND f.id = %s::bigint FOR UPDATE OF o, f"},
    [SR_Q_BOOK_ACCEPT_OFFER] = {"sr_book_accept_offer",
                                "UPDATE slot_offers SET status = 'accepted', responded_at = now() "
                                "WHERE id = %s::bigint AND status = 'sent'"},
    /* Arguments: customer, the deposit read by sr_book_lock, slot opening. */
    [SR_Q_BOOK_CREATE_APPOINTMENT] = {"sr_book_create_appointment",
                                      "INSERT INTO appointments (shop_id, customer_id, starts_at, ends_at, status, "
                                      "source_slot_opening_id) "
                                      "SELECT o.shop_id, %s::bigint, o.starts_at, o.ends_at, "
                                      "CASE WHEN %s::bigint > 0 THEN 'awaiting_payment' ELSE 'confirmed' END, "
                                      "o.id FROM slot_openings o "
                                      "WHERE o.id = %s::bigint RETURNING id::text AS id"},
    [SR_Q_BOOK_FILL_SLOT] = {"sr_book_fill_slot",
                             "UPDATE slot_openings SET status = 'filled', filled_by_appointment_id = %s::bigint, "
                             "filled_at = now() WHERE id = %s::bigint AND status = 'open'"},
    /* The deposit read by sr_book_lock: what the offer named. */
    [SR_Q_BOOK_CREATE_PAYMENT] = {"sr_book_create_payment",
                                  "INSERT INTO payments (appointment_id, amount, currency) "
                                  "VALUES (%s::bigint, %s::bigint, %s) RETURNING id::text AS id"},
    [SR_Q_OFFER_DECLINE] = {"sr_offer_decline", "UPDATE slot_offers SET status = 'declined', responded_at = now() "
                                                "WHERE id = %s::bigint AND status IN ('pending', 'sent') "
                                                "RETURNING slot_opening_id::text AS slot_opening_id"},
    [SR_Q_SENDER_SET_OPT_IN] = {"sr_sender_set_opt_in", "UPDATE customers c SET sms_opt_in = %s::boolean FROM shops s "
                                                        "WHERE s.id = c.shop_id AND c.phone = %s AND s.sms_from = %s"},
    [SR_Q_SENDER_DECLINE_LIVE_OFFERS] = {"sr_sender_decline_live_offers",
                                         "UPDATE slot_offers f SET status = 'declined', responded_at = now() "
                                         "FROM customers c JOIN shops s ON s.id = c.shop_id "
                                         "WHERE f.customer_id = c.id AND c.phone = %s AND s.sms_from = %s "
                                         "AND f.status IN ('pending', 'sent') "
                                         "RETURNING f.slot_opening_id::text AS slot_opening_id"},

    /*
     * Deposits. A payment row is claimed (leased) before its PaymentIntent is
     * created, so two processes never call Stripe for it at once; the
     * Idempotency-Key derived from its id makes a repeated call harmless.
     * Never for a cancelled booking or a slot that has started (the sweep
     * settles those first, sr_pay_unsent_to_settle).
     * Arguments: one payment id or NULL for any due, the batch size, the lease.
     */
    [SR_Q_PAY_CLAIM_DUE] = {"sr_pay_claim_due",
                            "WITH due AS (SELECT p.id FROM payments p JOIN appointments a ON a.id = p.appointment_id "
                            "WHERE p.status = 'pending' AND p.stripe_payment_intent_id IS NULL "
                            "AND p.next_attempt_at <= now() AND (%s::bigint IS NULL OR p.id = %s::bigint) "
                            "AND a.status <> 'cancelled' AND a.starts_at > now() "
                            "ORDER BY p.next_attempt_at, p.id LIMIT %s::integer FOR UPDATE OF p SKIP LOCKED) "
                            "UPDATE payments p SET attempts = p.attempts + 1, "
                            "next_attempt_at = now() + make_interval(secs => %s::integer) "
                            "FROM due, appointments a, customers c "
                            "LEFT JOIN installation i ON i.singleton "
                            "WHERE p.id = due.id AND a.id = p.appointment_id AND c.id = a.customer_id "
                            "RETURNING p.id::text AS payment_id, p.amount AS amount, p.currency AS currency, "
                            "p.attempts AS attempts, c.stripe_customer_id AS stripe_customer_id, "
                            "c.stripe_payment_method_id AS stripe_payment_method_id, "
                            "i.id AS installation_id, p.key_token AS key_token, p.key_retry AS key_retry, "
                            "a.id::text AS appointment_id, a.source_slot_opening_id::text AS slot_opening_id"},
    /* What Stripe answered at creation; a final status set by a webhook meanwhile stays. */
    [SR_Q_PAY_RECORD_INTENT] =
        {"sr_pay_record_intent",
         "UPDATE payments SET stripe_payment_intent_id = COALESCE(%s, stripe_payment_intent_id), "
         "status = CASE WHEN status IN ('succeeded', 'failed', 'canceled') THEN status "
         "ELSE %s END, last_error = %s "
         "WHERE id = %s::bigint RETURNING status AS status, appointment_id::text AS appointment_id"},
    [SR_Q_PAY_CONFIRM_APPOINTMENT] = {"sr_pay_confirm_appointment",
                                      "UPDATE appointments SET status = 'confirmed' "
                                      "WHERE id = %s::bigint AND status = 'awaiting_payment'"},
    [SR_Q_PAY_RETRY_LATER] = {"sr_pay_retry_later", "UPDATE payments SET last_error = left(%s, 500), "
                                                    "next_attempt_at = now() + make_interval(secs => "
                                                    "least(3600, %s::integer * power(2, greatest(attempts - 1, 0)))) "
                                                    "WHERE id = %s::bigint AND status = 'pending'"},
    /*
     * A PaymentIntent by its id, or by the payment id put in its metadata when
     * that payment has no intent yet (an event may come before the creation's
     * answer was stored); never another intent's payment. A match by metadata
     * comes with what the caller checks before taking it: the installation id,
     * amount, currency and customer the intent must carry.
     */
    [SR_Q_PAY_FIND] = {"sr_pay_find",
                       "SELECT p.id::text AS payment_id, a.source_slot_opening_id::text AS slot_opening_id, "
                       "(p.stripe_payment_intent_id IS NOT NULL) AS by_intent_id, "
                       "p.amount AS amount, p.currency AS currency, c.stripe_customer_id AS stripe_customer_id, "
                       "(SELECT i.id FROM installation i WHERE i.singleton) AS installation_id "
                       "FROM payments p JOIN appointments a ON a.id = p.appointment_id "
                       "JOIN customers c ON c.id = a.customer_id "
                       "WHERE p.stripe_payment_intent_id = %s "
                       "OR (p.id = %s::bigint AND p.stripe_payment_intent_id IS NULL) "
                       "ORDER BY (p.stripe_payment_intent_id IS NOT NULL) DESC LIMIT 1"},
    /* Lock order as for YES: the slot first, then the payment. */
    [SR_Q_PAY_LOCK_SLOT] = {"sr_pay_lock_slot",
                            "SELECT id::text AS id FROM slot_openings WHERE id = %s::bigint FOR UPDATE"},
    [SR_Q_PAY_LOCK] = {"sr_pay_lock",
                       "SELECT p.id::text AS payment_id, p.status AS status, "
                       "p.stripe_payment_intent_id AS stripe_payment_intent_id, "
                       "a.id::text AS appointment_id, a.customer_id::text AS customer_id, "
                       "a.status AS appointment_status, a.source_slot_opening_id::text AS slot_opening_id "
                       "FROM payments p JOIN appointments a ON a.id = p.appointment_id "
                       "WHERE p.id = %s::bigint FOR UPDATE OF p, a"},
    [SR_Q_PAY_MARK_FAILED] = {"sr_pay_mark_failed",
                              "UPDATE payments SET status = 'failed', last_error = left(%s, 500), "
                              "stripe_payment_intent_id = COALESCE(stripe_payment_intent_id, %s) "
                              "WHERE id = %s::bigint"},
    [SR_Q_PAY_CANCEL_APPOINTMENT] = {"sr_pay_cancel_appointment",
                                     "UPDATE appointments SET status = 'cancelled', cancelled_at = now() "
                                     "WHERE id = %s::bigint AND status <> 'cancelled'"},
    [SR_Q_PAY_REOPEN_SLOT] = {"sr_pay_reopen_slot",
                              "UPDATE slot_openings SET status = 'open', filled_by_appointment_id = NULL, "
                              "filled_at = NULL WHERE id = %s::bigint AND filled_by_appointment_id = %s::bigint"},
    [SR_Q_PAY_DECLINE_OFFER] = {"sr_pay_decline_offer",
                                "UPDATE slot_offers SET status = 'declined', "
                                "last_error = left('deposit failed: ' || %s, 500) "
                                "WHERE slot_opening_id = %s::bigint AND customer_id = %s::bigint "
                                "AND status = 'accepted'"},
    /* A success is kept whatever came before; what a person must look at goes in flagged_reason. */
    [SR_Q_PAY_MARK_SUCCEEDED] = {"sr_pay_mark_succeeded",
                                 "UPDATE payments SET last_error = NULL, status = 'succeeded', "
                                 "flagged_reason = COALESCE(%s, flagged_reason), "
                                 "stripe_payment_intent_id = COALESCE(stripe_payment_intent_id, %s) "
                                 "WHERE id = %s::bigint"},
    [SR_Q_STRIPE_EVENT_CLAIM] = {"sr_stripe_event_claim",
                                 "INSERT INTO stripe_events (id, type, payment_intent_id, outcome) "
                                 "VALUES (%s, %s, %s, 'received') ON CONFLICT (id) DO NOTHING RETURNING id"},
    [SR_Q_STRIPE_EVENT_RECORD] = {"sr_stripe_event_record",
                                  "UPDATE stripe_events SET outcome = %s, payment_id = %s::bigint WHERE id = %s"},

    /* hardening: money */
    /* money: charging, refunds, retries */
    /*
     * Deposits never sent that must not be: the booking was cancelled (even
     * while a charge is in flight: its answer then finds the payment canceled
     * and a success is refunded), or, once due, its slot starts within the
     * cutoff. Settled before the claim below, which skips them too.
     * Arguments: one payment id or NULL, the same, the cutoff.
     */
    [SR_Q_PAY_UNSENT_TO_SETTLE] = {"sr_pay_unsent_to_settle",
                                   "SELECT p.id::text AS payment_id, a.source_slot_opening_id::text AS slot_opening_id "
                                   "FROM payments p JOIN appointments a ON a.id = p.appointment_id "
                                   "WHERE p.status = 'pending' AND p.stripe_payment_intent_id IS NULL "
                                   "AND (%s::bigint IS NULL OR p.id = %s::bigint) "
                                   "AND (a.status = 'cancelled' OR (p.next_attempt_at <= now() "
                                   "AND a.starts_at <= now() + make_interval(secs => %s::integer))) "
                                   "ORDER BY p.next_attempt_at, p.id LIMIT " SWEEP_BATCH},
    /* The same question again, once the payment is locked. Arguments: the cutoff, the payment. */
    [SR_Q_PAY_UNSENT_STATE] = {"sr_pay_unsent_state",
                               "SELECT a.status = 'cancelled' AS cancelled, p.next_attempt_at <= now() "
                               "AND a.starts_at <= now() + make_interval(secs => %s::integer) AS too_close "
                               "FROM payments p JOIN appointments a ON a.id = p.appointment_id "
                               "WHERE p.id = %s::bigint AND p.status = 'pending' "
                               "AND p.stripe_payment_intent_id IS NULL"},
    [SR_Q_PAY_MARK_CANCELED] = {"sr_pay_mark_canceled",
                                "UPDATE payments SET status = 'canceled', last_error = left(%s, 500) "
                                "WHERE id = %s::bigint AND status = 'pending' AND stripe_payment_intent_id IS NULL"},
    [SR_Q_PAY_FLAG] = {"sr_pay_flag", "UPDATE payments SET flagged_reason = left(%s, 500) WHERE id = %s::bigint"},
    /* The whole deposit goes back; one refund per payment, so a redelivered event adds none. */
    [SR_Q_REFUND_DUE] = {"sr_refund_due", "INSERT INTO refunds (payment_id, amount, currency, reason) "
                                          "SELECT p.id, p.amount, p.currency, left(%s, 500) FROM payments p "
                                          "WHERE p.id = %s::bigint AND p.amount > 0 "
                                          "ON CONFLICT (payment_id) DO NOTHING RETURNING id::text AS id"},
    /*
     * Refunds to ask of Stripe (due) or to follow up (pending), claimed with
     * a lease as payments are. Arguments: one payment id or NULL, the same,
     * the batch size, the lease.
     */
    [SR_Q_REFUND_CLAIM_DUE] = {"sr_refund_claim_due",
                               "WITH due AS (SELECT id FROM refunds "
                               "WHERE status IN ('due', 'pending', 'requires_action') AND next_attempt_at <= now() "
                               "AND (%s::bigint IS NULL OR payment_id = %s::bigint) "
                               "ORDER BY next_attempt_at, id LIMIT %s::integer FOR UPDATE SKIP LOCKED) "
                               "UPDATE refunds r SET attempts = r.attempts + 1, "
                               "next_attempt_at = now() + make_interval(secs => %s::integer) "
                               "FROM due, payments p WHERE r.id = due.id AND p.id = r.payment_id "
                               "RETURNING r.id::text AS refund_id, r.payment_id::text AS payment_id, "
                               "r.amount AS amount, r.status AS status, r.stripe_refund_id AS stripe_refund_id, "
                               "r.attempts AS attempts, r.key_retry AS key_retry, "
                               "p.stripe_payment_intent_id AS payment_intent, "
                               "(SELECT id FROM installation) AS installation_id"},
    /*
     * What Stripe said of a refund. Arguments: refund id at Stripe (or NULL),
     * status, amount (or NULL), error, the base delay before the next look
     * (doubling, at most an hour), the refund row.
     */
    [SR_Q_REFUND_RECORD] = {"sr_refund_record",
                            "UPDATE refunds SET stripe_refund_id = COALESCE(%s, stripe_refund_id), status = %s, "
                            "amount = COALESCE(%s::bigint, amount), last_error = left(%s, 500), "
                            "next_attempt_at = now() + make_interval(secs => "
                            "least(3600, %s::integer * power(2, greatest(attempts - 1, 0)))) "
                            "WHERE id = %s::bigint"},
    /*
     * A text to the customer about their deposit, in the transaction that
     * released the booking. The shop name is cut on a character boundary
     * (PostgreSQL counts characters) to keep the text to one segment.
     * Arguments: kind, what happened (the start of the sentence), payment.
     */
    [SR_Q_NOTIFY_ENQUEUE] =
        {"sr_notify_enqueue",
         "INSERT INTO customer_notifications (customer_id, payment_id, kind, to_number, from_number, body) "
         "SELECT c.id, p.id, %s, c.phone, s.sms_from, "
         "CASE WHEN length(s.name) > 40 THEN left(s.name, 37) || '...' ELSE s.name END || ': ' || %s || "
         "', so your ' || to_char(a.starts_at AT TIME ZONE s.timezone, 'Dy DD Mon HH24:MI') || "
         "' booking is released. You have not been charged.' "
         "FROM payments p JOIN appointments a ON a.id = p.appointment_id "
         "JOIN customers c ON c.id = a.customer_id JOIN shops s ON s.id = a.shop_id "
         "WHERE p.id = %s::bigint AND c.sms_opt_in "
         "ON CONFLICT (payment_id) DO NOTHING"},
    /* Arguments: one notification id or NULL, the same, the batch size, the lease. */
    [SR_Q_NOTIFY_CLAIM_DUE] = {"sr_notify_claim_due",
                               "WITH due AS (SELECT id FROM customer_notifications "
                               "WHERE status = 'pending' AND next_attempt_at <= now() "
                               "AND (%s::bigint IS NULL OR id = %s::bigint) "
                               "ORDER BY next_attempt_at, id LIMIT %s::integer FOR UPDATE SKIP LOCKED) "
                               "UPDATE customer_notifications n SET attempts = n.attempts + 1, "
                               "next_attempt_at = now() + make_interval(secs => %s::integer) "
                               "FROM due WHERE n.id = due.id "
                               "RETURNING n.id::text AS id, n.to_number AS to_number, n.from_number AS from_number, "
                               "n.body AS body, n.attempts AS attempts"},
    [SR_Q_NOTIFY_MARK_SENT] = {"sr_notify_mark_sent",
                               "UPDATE customer_notifications SET status = 'sent', provider_message_id = %s, "
                               "sent_at = now(), last_error = NULL WHERE id = %s::bigint AND status = 'pending'"},
    /* As for offers: arguments error, permanent, max attempts, base delay, id. */
    [SR_Q_NOTIFY_MARK_FAILED] = {"sr_notify_mark_failed",
                                 "UPDATE customer_notifications SET last_error = left(%s, 500), "
                                 "status = CASE WHEN %s::boolean OR attempts >= %s::integer "
                                 "THEN 'failed' ELSE 'pending' END, "
                                 "next_attempt_at = now() + make_interval(secs => "
                                 "least(3600, %s::integer * power(2, greatest(attempts - 1, 0)))) "
                                 "WHERE id = %s::bigint AND status = 'pending'"},
    /* A shop's deposit, locked while a PATCH checks it against Stripe's minimum. */
    [SR_Q_SHOP_LOCK_DEPOSIT] = {"sr_shop_lock_deposit",
                                "SELECT deposit_amount AS deposit_amount, currency AS currency FROM shops "
                                "WHERE id = %s::bigint FOR UPDATE"},
    /* The booking page's refund, of the signed-in user's shop only. */
    [SR_Q_DASH_REFUND] = {"sr_dash_refund", "SELECT r.status AS status, r.amount AS amount, r.currency AS currency, "
                                            "r.stripe_refund_id AS stripe_refund_id, r.last_error AS last_error "
                                            "FROM refunds r JOIN payments p ON p.id = r.payment_id "
                                            "JOIN appointments a ON a.id = p.appointment_id "
                                            "WHERE a.id = %s::bigint AND a.shop_id = %s::bigint"},
    /*
     * Stripe answered a 5xx for the deposit's current key, and replays it for
     * that key: attempt N (the first argument) takes the key of its own (see
     * migration 010). Only for a payment still waiting for its intent.
     */
    [SR_Q_PAY_KEY_SPENT] = {"sr_pay_key_spent", "UPDATE payments SET key_retry = %s::integer WHERE id = %s::bigint "
                                                "AND status = 'pending' AND stripe_payment_intent_id IS NULL"},
    /* The same for a refund still without its id at Stripe. */
    [SR_Q_REFUND_KEY_SPENT] = {"sr_refund_key_spent",
                               "UPDATE refunds SET key_retry = %s::integer WHERE id = %s::bigint "
                               "AND status = 'due' AND stripe_refund_id IS NULL"},

    /*
     * The dashboard. Every query names the shop of the signed-in user, so
     * another shop's ids match nothing. Times are shown in the shop's zone.
     * The slot filters: status (or NULL), first and last day of the slot's
     * date in the shop's zone (or NULL).
     */
    /*
     * A login stays with the shop it was given in its scope (server name,
     * realm): a different shop comes back for a 409.
     */
    [SR_Q_SHOP_USER_GRANT] = {"sr_shop_user_grant",
                              "INSERT INTO shop_users (username, server_name, realm, shop_id) "
                              "VALUES (%s, %s, %s, %s::bigint) "
                              "ON CONFLICT (username, server_name, realm) DO UPDATE SET shop_id = shop_users.shop_id "
                              "RETURNING shop_id::text AS shop_id, (xmax = 0) AS created"},
    /*
     * The shop of a login (user name, the request's server name and realm):
     * the most specific grant, an exact server name before '*', then an exact
     * realm before '*'. The CSRF key of the forms comes in the same round trip.
     */
    [SR_Q_DASH_SHOP_FOR_USER] = {"sr_dash_shop_for_user",
                                 "SELECT s.id::text AS id, s.name AS name, s.timezone AS timezone, "
                                 "s.currency AS currency, "
                                 "(SELECT i.csrf_key FROM installation i WHERE i.singleton) AS csrf_key "
                                 "FROM shop_users u JOIN shops s ON s.id = u.shop_id "
                                 "WHERE u.username = %s AND u.server_name IN (%s, '*') AND u.realm IN (%s, '*') "
                                 "ORDER BY u.server_name = '*', u.realm = '*' LIMIT 1"},
    [SR_Q_DASH_UPCOMING] = {"sr_dash_upcoming",
                            "SELECT a.id::text AS id, "
                            "to_char(a.starts_at AT TIME ZONE s.timezone, 'Dy DD Mon YYYY HH24:MI') AS starts, "
                            "to_char(a.ends_at AT TIME ZONE s.timezone, 'HH24:MI') AS ends, a.status AS status, "
                            "c.name AS customer, a.source_slot_opening_id::text AS slot_opening_id "
                            "FROM appointments a JOIN customers c ON c.id = a.customer_id "
                            "JOIN shops s ON s.id = a.shop_id "
                            "WHERE a.shop_id = %s::bigint AND a.starts_at >= now() AND a.status <> 'cancelled' "
                            "ORDER BY a.starts_at, a.id LIMIT 50"},
#define SLOT_FILTERS                                                                                                   \
    "AND (%s::text IS NULL OR o.status = %s) "                                                                         \
    "AND (%s::date IS NULL OR o.starts_at >= (%s::date)::timestamp AT TIME ZONE s.timezone) "                          \
    "AND (%s::date IS NULL OR o.starts_at < ((%s::date) + 1)::timestamp AT TIME ZONE s.timezone) "
    /*
     * Deposits by a subquery per filled opening: as a join, the planner
     * hashed the whole payments table (18 ms at 50,000 payments) instead
     * of probing its unique index (3 ms).
     */
    [SR_Q_DASH_FIGURES] = {"sr_dash_figures",
                           "SELECT count(*) AS opened, count(*) FILTER (WHERE o.status = 'filled') AS filled, "
                           "count(*) FILTER (WHERE o.status = 'expired') AS expired, "
                           "round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM "
                           "o.filled_at - o.created_at)) FILTER (WHERE o.status = 'filled'))::bigint "
                           "AS median_fill_seconds, "
                           "COALESCE(sum(CASE WHEN o.status = 'filled' THEN (SELECT p.amount FROM payments p "
                           "WHERE p.appointment_id = o.filled_by_appointment_id AND p.status = 'succeeded') END), 0) "
                           "AS deposits "
                           "FROM slot_openings o JOIN shops s ON s.id = o.shop_id "
                           "WHERE o.shop_id = %s::bigint " SLOT_FILTERS},
    [SR_Q_DASH_SLOT_LIST] = {"sr_dash_slot_list",
                             "SELECT o.id::text AS id, "
                             "to_char(o.starts_at AT TIME ZONE s.timezone, 'Dy DD Mon YYYY HH24:MI') AS starts, "
                             "to_char(o.ends_at AT TIME ZONE s.timezone, 'HH24:MI') AS ends, o.status AS status, "
                             "to_char(o.created_at AT TIME ZONE s.timezone, 'DD Mon YYYY HH24:MI') AS created, "
                             "o.filled_by_appointment_id::text AS booking_id, "
                             "(o.status = 'open' AND o.waiting_since IS NOT NULL) AS waiting "
                             "FROM slot_openings o JOIN shops s ON s.id = o.shop_id "
                             "WHERE o.shop_id = %s::bigint " SLOT_FILTERS
                             "ORDER BY o.created_at DESC, o.id DESC LIMIT %s::integer OFFSET %s::integer"},
    /*
     * One chunk of the CSV: the rows after the keyset (created_at, id) of the
     * last row sent ('infinity' and the largest id before the first), newest
     * first, at most the given number.
     */
    [SR_Q_DASH_SLOT_CSV] = {"sr_dash_slot_csv",
                            "SELECT o.id::text AS id, o.created_at::text AS after_at, "
                            "to_char(o.starts_at AT TIME ZONE s.timezone, 'YYYY-MM-DD HH24:MI') AS starts, "
                            "to_char(o.ends_at AT TIME ZONE s.timezone, 'YYYY-MM-DD HH24:MI') AS ends, "
                            "o.status AS status, "
                            "to_char(o.created_at AT TIME ZONE s.timezone, 'YYYY-MM-DD HH24:MI') AS created, "
                            "(SELECT count(*) FROM slot_offers f WHERE f.slot_opening_id = o.id "
                            "AND f.sent_at IS NOT NULL) AS offers_sent, "
                            "fc.name AS filled_by, o.filled_by_appointment_id::text AS booking_id, "
                            "round(extract(epoch FROM o.filled_at - o.created_at))::bigint AS fill_seconds, "
                            "p.amount AS deposit_amount, p.currency AS deposit_currency, p.status AS deposit_status "
                            "FROM slot_openings o JOIN shops s ON s.id = o.shop_id "
                            "LEFT JOIN appointments fa ON fa.id = o.filled_by_appointment_id "
                            "LEFT JOIN customers fc ON fc.id = fa.customer_id "
                            "LEFT JOIN payments p ON p.appointment_id = fa.id "
                            "WHERE o.shop_id = %s::bigint " SLOT_FILTERS
                            "AND (o.created_at, o.id) < (%s::timestamptz, %s::bigint) "
                            "ORDER BY o.created_at DESC, o.id DESC LIMIT %s::integer"},
#undef SLOT_FILTERS
    [SR_Q_DASH_SLOT_DETAIL] = {"sr_dash_slot_detail",
                               "SELECT o.id::text AS id, o.status AS status, o.expired_reason AS expired_reason, "
                               "to_char(o.starts_at AT TIME ZONE s.timezone, 'Dy DD Mon YYYY HH24:MI') AS starts, "
                               "to_char(o.ends_at AT TIME ZONE s.timezone, 'HH24:MI') AS ends, "
                               "to_char(o.created_at AT TIME ZONE s.timezone, 'DD Mon YYYY HH24:MI') AS created, "
                               "src.id::text AS source_id, sc.name AS source_customer, "
                               "o.filled_by_appointment_id::text AS booking_id, fc.name AS booked_customer, "
                               "(o.status = 'open' AND o.waiting_since IS NOT NULL) AS waiting "
                               "FROM slot_openings o JOIN shops s ON s.id = o.shop_id "
                               "JOIN appointments src ON src.id = o.source_appointment_id "
                               "JOIN customers sc ON sc.id = src.customer_id "
                               "LEFT JOIN appointments fa ON fa.id = o.filled_by_appointment_id "
                               "LEFT JOIN customers fc ON fc.id = fa.customer_id "
                               "WHERE o.id = %s::bigint AND o.shop_id = %s::bigint"},
    [SR_Q_DASH_SLOT_OFFERS] = {"sr_dash_slot_offers",
                               "SELECT f.id::text AS id, c.name AS customer, f.status AS status, "
                               "to_char(f.sent_at AT TIME ZONE s.timezone, 'DD Mon HH24:MI:SS') AS sent, "
                               "to_char(f.expires_at AT TIME ZONE s.timezone, 'DD Mon HH24:MI:SS') AS expires, "
                               "f.attempts AS attempts, f.last_error AS last_error "
                               "FROM slot_offers f JOIN customers c ON c.id = f.customer_id "
                               "JOIN slot_openings o ON o.id = f.slot_opening_id JOIN shops s ON s.id = o.shop_id "
                               "WHERE f.slot_opening_id = %s::bigint AND o.shop_id = %s::bigint ORDER BY f.id"},
    [SR_Q_DASH_APPOINTMENT] = {"sr_dash_appointment",
                               "SELECT a.id::text AS id, a.status AS status, "
                               "to_char(a.starts_at AT TIME ZONE s.timezone, 'Dy DD Mon YYYY HH24:MI') AS starts, "
                               "to_char(a.ends_at AT TIME ZONE s.timezone, 'HH24:MI') AS ends, "
                               "to_char(a.created_at AT TIME ZONE s.timezone, 'DD Mon YYYY HH24:MI') AS created, "
                               "c.name AS customer, c.phone AS phone, c.email AS email, "
                               "a.source_slot_opening_id::text AS slot_opening_id, "
                               "p.status AS payment_status, p.amount AS payment_amount, "
                               "p.currency AS payment_currency, p.stripe_payment_intent_id AS payment_intent, "
                               "p.last_error AS payment_error, p.flagged_reason AS payment_flag "
                               "FROM appointments a JOIN customers c ON c.id = a.customer_id "
                               "JOIN shops s ON s.id = a.shop_id LEFT JOIN payments p ON p.appointment_id = a.id "
                               "WHERE a.id = %s::bigint AND a.shop_id = %s::bigint"},

    /* hardening: dashboard */

    /* issue 16: twilio */

    /*
     * Twilio refused this server's account SID or auth token (401/403, see
     * migration 011). Arguments: account SID, HTTP status, Twilio's error
     * code or NULL, the error. A problem that had been resolved starts again.
     */
    [SR_Q_TWILIO_CREDENTIALS_REFUSED] =
        {"sr_twilio_credentials_refused",
         "INSERT INTO twilio_credential_problems AS t (account_sid, http_status, error_code, message) "
         "VALUES (%s, %s::integer, %s::integer, left(%s, 500)) "
         "ON CONFLICT (account_sid) DO UPDATE SET http_status = EXCLUDED.http_status, "
         "error_code = EXCLUDED.error_code, message = EXCLUDED.message, last_seen_at = now(), "
         "first_seen_at = CASE WHEN t.resolved_at IS NULL THEN t.first_seen_at ELSE now() END, resolved_at = NULL"},
    /* Twilio accepted a message of this account again. Writes nothing when there was no problem. */
    [SR_Q_TWILIO_CREDENTIALS_OK] = {"sr_twilio_credentials_ok",
                                    "UPDATE twilio_credential_problems SET resolved_at = now() "
                                    "WHERE account_sid = %s AND resolved_at IS NULL"},
    /*
     * An offer Twilio could not take because it refused our credentials: it
     * waits as pending, the attempt its claim counted given back, and is
     * tried again after the base delay (no backoff: the fix is a reload).
     * Arguments: error, base delay, offer id.
     */
    [SR_Q_LOOP_SEND_WAIT_CREDENTIALS] = {"sr_loop_send_wait_credentials",
                                         "UPDATE slot_offers SET last_error = left(%s, 500), "
                                         "attempts = greatest(attempts - 1, 0), "
                                         "next_attempt_at = now() + make_interval(secs => %s::integer) "
                                         "WHERE id = %s::bigint AND status = 'pending'"},
    /* The same for a customer notification. */
    [SR_Q_NOTIFY_WAIT_CREDENTIALS] = {"sr_notify_wait_credentials",
                                      "UPDATE customer_notifications SET last_error = left(%s, 500), "
                                      "attempts = greatest(attempts - 1, 0), "
                                      "next_attempt_at = now() + make_interval(secs => %s::integer) "
                                      "WHERE id = %s::bigint AND status = 'pending'"},
    /* The dashboard's notice: Twilio refuses this server's account. Arguments: the shop's time zone, the SID. */
    [SR_Q_DASH_TWILIO_PROBLEM] = {"sr_dash_twilio_problem",
                                  "SELECT http_status::text AS http_status, error_code::text AS error_code, "
                                  "message AS message, "
                                  "to_char(first_seen_at AT TIME ZONE %s, 'Dy DD Mon YYYY HH24:MI') AS since, "
                                  "to_char(last_seen_at AT TIME ZONE %s, 'Dy DD Mon YYYY HH24:MI') AS last "
                                  "FROM twilio_credential_problems WHERE account_sid = %s AND resolved_at IS NULL"},
    /* issue 12: outbox */
    /*
     * The worker's poll, every SlotRecoveryWorkerInterval: which kinds of
     * side effect have a row due, each an index probe on its partial
     * next_attempt_at index (migrations 001, 003, 006), so an idle poll reads
     * a few index pages and nothing else.
     */
    [SR_Q_OUTBOX_DUE] = {"sr_outbox_due",
                         "SELECT EXISTS (SELECT 1 FROM slot_offers WHERE status = 'pending' "
                         "AND next_attempt_at <= now()) AS offers, "
                         "EXISTS (SELECT 1 FROM payments WHERE status = 'pending' "
                         "AND stripe_payment_intent_id IS NULL AND next_attempt_at <= now()) AS payments, "
                         "EXISTS (SELECT 1 FROM refunds WHERE status IN ('due', 'pending', 'requires_action') "
                         "AND next_attempt_at <= now()) AS refunds, "
                         "EXISTS (SELECT 1 FROM customer_notifications WHERE status = 'pending' "
                         "AND next_attempt_at <= now()) AS notifications"},
};
