/* SPDX-License-Identifier: Apache-2.0 */
/* The offer loop. */
#include <apr_hash.h>
#include <apr_lib.h>

#include "sr_offer_loop.h"
#include "sr_texts.h"
#include "sr_twilio.h"
#include "sr_twilio_credentials.h"

/* issue 16: twilio. A delivery report moves the offer forward only (sr_loop_delivery_status). */
#define FORWARD "sr_delivery_rank(n.st) > sr_delivery_rank(f.delivery_status)"

/* Locking slot openings to advance them; the caller branches on status, too_late, quiet, waiting. */
#define SR_LOCK_SLOTS_SELECT                                                                                           \
    "SELECT o.id::text AS id, o.status AS status, "                                                                    \
    "o.starts_at <= now() + make_interval(secs => %s::integer) AS too_late, "                                          \
    "sr_in_quiet_hours(s.timezone, s.quiet_hours_start, s.quiet_hours_end, now()) AS quiet, "                          \
    "to_char(s.quiet_hours_end, 'HH24:MI') AS quiet_until, o.waiting_since IS NOT NULL AS waiting "                    \
    "FROM slot_openings o JOIN shops s ON s.id = o.shop_id "
#define SR_LOCK_SLOTS_SQL SR_LOCK_SLOTS_SELECT "WHERE o.id = ANY (%s::bigint[]) ORDER BY o.id FOR UPDATE OF o"
#define SR_LOCK_SLOTS_COLUMNS "id,status,too_late,quiet,quiet_until,waiting"

#define REASON_LIVE_OFFER "slot opening already has a live offer"

#define SR_SEND_BATCH 100
/* Recording sent SMS (the worker's, never a request's): up to 15 tries a second apart, enough for a
 * PostgreSQL restart and well inside the send lease (60 s longer than the HTTP timeout). */
#define SR_RECORD_TRIES 15
#define SR_RECORD_RETRY_DELAY apr_time_from_sec(1)
/* Bounds the work one trigger may do when sends fail for good one after another. */
#define SR_ADVANCE_MAX_HOPS 10

static const char *seconds_arg(apr_pool_t *p, apr_interval_time_t t)
{
    return apr_psprintf(p, "%" APR_TIME_T_FMT, apr_time_sec(t));
}

/* A PostgreSQL array literal of ids ("{1,2,3}"); the ids come from the database. */
static const char *id_array(apr_pool_t *p, const apr_array_header_t *ids)
{
    return apr_pstrcat(p, "{", apr_array_pstrcat(p, ids, ','), "}", (char *)NULL);
}

/* The same for a trigger's one slot opening: the loop's statements take arrays. */
static const char *one_id_array(apr_pool_t *p, const char *id)
{
    return apr_pstrcat(p, "{", id, "}", (char *)NULL);
}

/* --- advancing slots: one implementation, a batch of one is a batch --------------- */

/* Expiring slot openings (an array of them) with a reason, and their live offers. */
static const sr_statement_t stmt_loop_expire_slot = {
    "sr_loop_expire_slot",
    "UPDATE slot_openings SET status = 'expired', expired_at = now(), "
    "expired_reason = %s WHERE id = ANY (%s::bigint[]) AND status = 'open'",
    NULL};
static int q_loop_expire_slot(sr_db_t *db, const char *reason, const char *slot_ids)
{
    return sr_db_exec(db, &stmt_loop_expire_slot, SR_ARGS(reason, slot_ids));
}

static const sr_statement_t stmt_loop_expire_live_offers = {
    "sr_loop_expire_live_offers",
    "UPDATE slot_offers SET status = 'expired' "
    "WHERE slot_opening_id = ANY (%s::bigint[]) AND status IN ('pending', 'sent')",
    NULL};
static int q_loop_expire_live_offers(sr_db_t *db, const char *slot_ids)
{
    return sr_db_exec(db, &stmt_loop_expire_live_offers, SR_ARGS(slot_ids));
}

/* Expires the slot openings of an id array, and their live offers. */
static int expire_slots(sr_db_t *db, const char *slot_ids, const char *reason)
{
    return q_loop_expire_slot(db, reason, slot_ids) >= 0 && q_loop_expire_live_offers(db, slot_ids) >= 0;
}

/* A slot reaches its cutoff: still waiting, nobody could have taken it; else time ran out. */
static const char *expiry_reason(int waiting)
{
    return waiting ? "no_eligible_customer" : "too_close_to_start";
}

typedef struct {
    const sr_ctx_t *ctx;
    const char *slot_ids; /* array literal */
    const char *slot_id;  /* a batch of one (a trigger): its id, locked by the statement for one */
    int wait;             /* wait for each slot's lock (a trigger), or skip those another process holds (the sweep) */
    sr_advance_t *one;    /* a batch of one: what happened to it, in words */
    int offered, expired;
} advance_batch_work_t;

/*
 * The offer loop. Advancing a slot locks its row first, so two servers
 * advancing the same slot take turns; the partial unique index on live
 * offers is the last word if anything slips through.
 */
/* A statement of its own, after the lock: its snapshot sees what the previous holder committed. */
static const sr_statement_t stmt_loop_has_live_offer = {
    "sr_loop_has_live_offer",
    "SELECT EXISTS (SELECT 1 FROM slot_offers f WHERE f.slot_opening_id = %s::bigint "
    "AND f.status IN ('pending', 'sent')) AS has_live_offer",
    "has_live_offer"};
static sr_result_t *q_loop_has_live_offer(sr_db_t *db, const char *slot_id)
{
    return sr_db_select(db, &stmt_loop_has_live_offer, SR_ARGS(slot_id));
}

/* Why a batch of one in quiet hours made no offer: it has one already, or the offer waits for the morning. */
static sr_status_t explain_quiet(sr_db_t *db, advance_batch_work_t *w, const char *slot_id, const char *quiet_until)
{
    /* A statement of its own, after the lock: its snapshot sees what the previous holder committed. */
    sr_result_t *live = q_loop_has_live_offer(db, slot_id);

    if (!live) {
        return SR_UNAVAILABLE;
    }
    w->one->reason = sr_result_bool(live, 0, "has_live_offer")
                         ? REASON_LIVE_OFFER
                         : apr_pstrcat(sr_db_pool(db), "quiet hours until ", quiet_until, (char *)NULL);
    return SR_OK;
}

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
#define SR_OFFER_NEXT_CUSTOMER_SQL(slots)                                                                              \
    "INSERT INTO slot_offers (slot_opening_id, customer_id) "                                                          \
    "SELECT o.id, candidate.id FROM slot_openings o "                                                                  \
    "JOIN appointments src ON src.id = o.source_appointment_id "                                                       \
    "CROSS JOIN LATERAL (SELECT c.id FROM customers c "                                                                \
    "WHERE c.shop_id = o.shop_id AND c.sms_opt_in AND c.id <> src.customer_id "                                        \
    "AND NOT EXISTS (SELECT 1 FROM slot_offers f "                                                                     \
    "WHERE f.slot_opening_id = o.id AND f.customer_id = c.id) "                                                        \
    "AND NOT EXISTS (SELECT 1 FROM appointments a "                                                                    \
    "WHERE a.customer_id = c.id AND a.status <> 'cancelled' "                                                          \
    "AND a.starts_at < o.ends_at AND a.ends_at > o.starts_at) "                                                        \
    "ORDER BY c.waitlist_joined_at, c.id LIMIT 1) candidate "                                                          \
    "WHERE " slots " "                                                                                                 \
    "AND NOT EXISTS (SELECT 1 FROM slot_offers l WHERE l.slot_opening_id = o.id "                                      \
    "AND l.status IN ('pending', 'sent')) "                                                                            \
    "RETURNING id::text AS id, slot_opening_id::text AS slot_opening_id, "                                             \
    "customer_id::text AS customer_id"
#define SR_OFFER_NEXT_CUSTOMER_COLUMNS "id,slot_opening_id,customer_id"

static const sr_statement_t stmt_loop_offer_next_customer = {"sr_loop_offer_next_customer",
                                                             SR_OFFER_NEXT_CUSTOMER_SQL("o.id = ANY (%s::bigint[])"),
                                                             SR_OFFER_NEXT_CUSTOMER_COLUMNS};
static sr_result_t *q_loop_offer_next_customer(sr_db_t *db, const char *slot_ids)
{
    return sr_db_select(db, &stmt_loop_offer_next_customer, SR_ARGS(slot_ids));
}

/* For a batch of one, by its id: the array form is planned anew at every execution (see sr_loop_lock_slot_wait). */
static const sr_statement_t stmt_loop_offer_next_customer_one = {
    "sr_loop_offer_next_customer_one", SR_OFFER_NEXT_CUSTOMER_SQL("o.id = %s::bigint"), SR_OFFER_NEXT_CUSTOMER_COLUMNS};
static sr_result_t *q_loop_offer_next_customer_one(sr_db_t *db, const char *slot_id)
{
    return sr_db_select(db, &stmt_loop_offer_next_customer_one, SR_ARGS(slot_id));
}

/*
 * Advancing slot openings (an array, one for a trigger) locks them first,
 * in id order, so two servers advancing the same slot take turns and
 * batches never deadlock. The sweep skips those another process holds
 * (whoever holds one is advancing it); a trigger waits for them.
 */
static const sr_statement_t stmt_loop_lock_slots = {"sr_loop_lock_slots", SR_LOCK_SLOTS_SQL " SKIP LOCKED",
                                                    SR_LOCK_SLOTS_COLUMNS};
static sr_result_t *q_loop_lock_slots(sr_db_t *db, const char *cutoff_seconds, const char *slot_ids)
{
    return sr_db_select(db, &stmt_loop_lock_slots, SR_ARGS(cutoff_seconds, slot_ids));
}

static const sr_statement_t stmt_loop_lock_slots_wait = {"sr_loop_lock_slots_wait", SR_LOCK_SLOTS_SQL,
                                                         SR_LOCK_SLOTS_COLUMNS};
static sr_result_t *q_loop_lock_slots_wait(sr_db_t *db, const char *cutoff_seconds, const char *slot_ids)
{
    return sr_db_select(db, &stmt_loop_lock_slots_wait, SR_ARGS(cutoff_seconds, slot_ids));
}

/*
 * A batch of one (a trigger) is locked by its id: with "= ANY (array)" the
 * generic plan's estimate (ten rows, a hash join and a sort) is dearer than
 * a custom one, so PostgreSQL planned the statement anew at every execution
 * (measured: 1,418-1,473 against 2,036-2,165 tps for lock and live-offer probe).
 */
static const sr_statement_t stmt_loop_lock_slot_wait = {
    "sr_loop_lock_slot_wait", SR_LOCK_SLOTS_SELECT "WHERE o.id = %s::bigint FOR UPDATE OF o", SR_LOCK_SLOTS_COLUMNS};
static sr_result_t *q_loop_lock_slot_wait(sr_db_t *db, const char *cutoff_seconds, const char *slot_id)
{
    return sr_db_select(db, &stmt_loop_lock_slot_wait, SR_ARGS(cutoff_seconds, slot_id));
}

/*
 * Slots waiting for a customer (migration 008). After
 * sr_loop_offer_next_customer, on locked slots (an array): one that got
 * no offer waits, one that got one no longer does. Only rows whose state
 * changes are written.
 */
#define SR_SET_WAITING_SQL(slots)                                                                                      \
    "UPDATE slot_openings o "                                                                                          \
    "SET waiting_since = CASE WHEN o.waiting_since IS NULL THEN now() END "                                            \
    "WHERE " slots " AND o.status = 'open' "                                                                           \
    "AND (o.waiting_since IS NULL) = NOT EXISTS (SELECT 1 FROM slot_offers f "                                         \
    "WHERE f.slot_opening_id = o.id AND f.status IN ('pending', 'sent')) "                                             \
    "RETURNING o.id::text AS id, o.waiting_since IS NOT NULL AS waiting"

static const sr_statement_t stmt_loop_set_waiting = {"sr_loop_set_waiting",
                                                     SR_SET_WAITING_SQL("o.id = ANY (%s::bigint[])"), "id,waiting"};
static int q_loop_set_waiting(sr_db_t *db, const char *slot_ids)
{
    return sr_db_exec(db, &stmt_loop_set_waiting, SR_ARGS(slot_ids));
}

static const sr_statement_t stmt_loop_set_waiting_one = {"sr_loop_set_waiting_one",
                                                         SR_SET_WAITING_SQL("o.id = %s::bigint"), "id,waiting"};
static int q_loop_set_waiting_one(sr_db_t *db, const char *slot_id)
{
    return sr_db_exec(db, &stmt_loop_set_waiting_one, SR_ARGS(slot_id));
}

/*
 * Moves on the slot openings of an id array, all in the caller's
 * transaction: locks them (in id order), expires those within the cutoff,
 * offers each of the others outside quiet hours to its next eligible customer
 * (the new offers wait as pending: the outbox the worker sends from), and
 * marks those nobody can take yet as waiting for a customer.
 */
static sr_status_t advance_batch_work(sr_db_t *db, void *baton)
{
    advance_batch_work_t *w = baton;
    apr_pool_t *p = sr_db_pool(db);
    apr_array_header_t *too_late[2] = {apr_array_make(p, 4, sizeof(const char *)),
                                       apr_array_make(p, 4, sizeof(const char *))}; /* offered, waiting */
    apr_array_header_t *ready = apr_array_make(p, 64, sizeof(const char *));
    const char *quiet_until = NULL, *cutoff;
    sr_result_t *locked, *offered;
    int i, waiting;

    w->offered = w->expired = 0;
    if (w->one) {
        memset(w->one, 0, sizeof(*w->one));
        w->one->action = SR_ADVANCE_NOOP;
    }
    cutoff = seconds_arg(p, w->ctx->conf->offer_cutoff);
    if (w->slot_id) {
        locked = q_loop_lock_slot_wait(db, cutoff, w->slot_id);
    }
    else {
        locked = w->wait ? q_loop_lock_slots_wait(db, cutoff, w->slot_ids) : q_loop_lock_slots(db, cutoff, w->slot_ids);
    }
    if (!locked) {
        return SR_UNAVAILABLE;
    }
    if (w->one && locked->nrows == 0) {
        return w->wait ? SR_NOT_FOUND : SR_OK;
    }
    for (i = 0; i < locked->nrows; i++) {
        const char *id = sr_result_get(locked, i, "id"), *status = sr_result_get(locked, i, "status");

        if (strcmp(status, "open")) {
            if (w->one) {
                w->one->reason = apr_pstrcat(p, "slot opening is ", status, (char *)NULL);
            }
        }
        else if (sr_result_bool(locked, i, "too_late")) {
            APR_ARRAY_PUSH(too_late[sr_result_bool(locked, i, "waiting")], const char *) = id;
        }
        else if (sr_result_bool(locked, i, "quiet")) {
            quiet_until = sr_result_get(locked, i, "quiet_until");
        }
        else {
            APR_ARRAY_PUSH(ready, const char *) = id;
        }
    }
    for (waiting = 0; waiting < 2; waiting++) {
        if (too_late[waiting]->nelts > 0) {
            if (!expire_slots(db, id_array(p, too_late[waiting]), expiry_reason(waiting))) {
                return SR_UNAVAILABLE;
            }
            w->expired += too_late[waiting]->nelts;
            if (w->one) {
                w->one->action = SR_ADVANCE_EXPIRED;
                w->one->reason = expiry_reason(waiting);
            }
        }
    }
    if (ready->nelts > 0) {
        /* A batch of one whose slot has its offer already (a repeat, a race lost) stops at one index probe. */
        if (w->slot_id) {
            sr_result_t *live = q_loop_has_live_offer(db, w->slot_id);

            if (!live) {
                return SR_UNAVAILABLE;
            }
            if (sr_result_bool(live, 0, "has_live_offer")) {
                if (w->one) {
                    w->one->reason = REASON_LIVE_OFFER;
                }
                return SR_OK;
            }
        }
        /* The slots nobody can take yet wait for a customer (and drop out of the sweep). */
        if (w->slot_id) {
            offered = q_loop_offer_next_customer_one(db, w->slot_id);
            if (!offered || q_loop_set_waiting_one(db, w->slot_id) < 0) {
                return SR_UNAVAILABLE;
            }
        }
        else {
            offered = q_loop_offer_next_customer(db, id_array(p, ready));
            if (!offered || q_loop_set_waiting(db, id_array(p, ready)) < 0) {
                return SR_UNAVAILABLE;
            }
        }
        w->offered = offered->nrows;
        if (w->one && offered->nrows > 0) {
            w->one->action = SR_ADVANCE_OFFERED;
            w->one->reason = "offered to the next customer on the waitlist";
            w->one->offer_id = sr_result_get(offered, 0, "id");
            w->one->customer_id = sr_result_get(offered, 0, "customer_id");
            return SR_OK;
        }
    }
    if (w->one && ready->nelts > 0) {
        /* Not the end: the slot stays open until its cutoff, and a customer who joins wakes it. */
        w->one->reason = "nobody on the waitlist can take it yet: waiting for a customer";
    }
    else if (w->one && quiet_until) {
        return explain_quiet(db, w, sr_result_get(locked, 0, "id"), quiet_until);
    }
    return SR_OK;
}

/*
 * Moves on every slot opening of `slots` (ids), SR_SWEEP_BATCH to a
 * transaction, each batch in a subpool of its own (10,000 slots must not pile
 * up in one pool): one commit per batch rather than several per slot.
 */
static sr_status_t advance_slots(sr_ctx_t *ctx, const apr_array_header_t *slots, int wait, sr_sweep_report_t *report)
{
    apr_pool_t *parent = ctx->pool;
    sr_status_t status = SR_OK;
    int from;

    for (from = 0; status == SR_OK && from < slots->nelts; from += SR_SWEEP_BATCH) {
        int n = slots->nelts - from < SR_SWEEP_BATCH ? slots->nelts - from : SR_SWEEP_BATCH;
        apr_array_header_t chunk = *slots;
        advance_batch_work_t w = {ctx, NULL, NULL, wait, NULL, 0, 0};
        apr_pool_t *sub, *old;

        apr_pool_create(&sub, parent);
        old = sr_db_use_pool(ctx->db, sub);
        chunk.elts = slots->elts + (apr_size_t)from * sizeof(const char *);
        chunk.nelts = chunk.nalloc = n;
        w.slot_ids = id_array(sub, &chunk);
        w.slot_id = wait && n == 1 ? APR_ARRAY_IDX(&chunk, 0, const char *) : NULL; /* locked by its id */
        status = sr_db_transaction(ctx->db, advance_batch_work, &w);
        if (report) {
            report->slots_advanced += w.offered;
            report->slots_expired += w.expired;
        }
        sr_db_use_pool(ctx->db, old);
        apr_pool_destroy(sub);
    }
    return status;
}

sr_status_t sr_offer_loop_advance(sr_ctx_t *ctx, const char *slot_opening_id, sr_advance_t *out)
{
    advance_batch_work_t w = {ctx, one_id_array(ctx->pool, slot_opening_id), slot_opening_id, 1, out, 0, 0};
    sr_status_t status = sr_db_transaction(ctx->db, advance_batch_work, &w);

    if (status == SR_OK) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ctx->s, SR_LOG_PREFIX "slot opening %s: %s", slot_opening_id,
                     out->reason);
    }
    return status;
}

sr_status_t sr_offer_loop_advance_all(sr_ctx_t *ctx, const apr_array_header_t *slot_opening_ids)
{
    return advance_slots(ctx, slot_opening_ids, 1, NULL);
}

/* --- sending offers ------------------------------------------------------------- */

/* The offer text (core/sr_texts), with the deposit fixed on the offer by its claim: what YES will charge. */
static const char *offer_sms_body(apr_pool_t *p, const sr_result_t *res, int row)
{
    return sr_text_offer(p, sr_result_get(res, row, "shop_name"), sr_result_get(res, row, "slot_time"),
                         sr_result_get(res, row, "offer_deposit_amount"), sr_result_get(res, row, "offer_currency"),
                         apr_atoi64(sr_result_get(res, row, "ttl")));
}

typedef struct {
    const sr_result_t *claimed;
    const sr_twilio_send_t *sent; /* one per claimed row */
    const sr_server_conf_t *conf;
    apr_array_header_t *failed_slots; /* slots whose offer failed for good */
} record_work_t;

static const sr_statement_t stmt_sender_set_opt_in = {"sr_sender_set_opt_in",
                                                      "UPDATE customers c SET sms_opt_in = %s::boolean FROM shops s "
                                                      "WHERE s.id = c.shop_id AND c.phone = %s AND s.sms_from = %s",
                                                      NULL};
int sr_q_sender_set_opt_in(sr_db_t *db, const char *opt_in, const char *phone, const char *sms_from)
{
    return sr_db_exec(db, &stmt_sender_set_opt_in, SR_ARGS(opt_in, phone, sms_from));
}

static const sr_statement_t stmt_sender_decline_live_offers = {
    "sr_sender_decline_live_offers",
    "UPDATE slot_offers f SET status = 'declined', responded_at = now() "
    "FROM customers c JOIN shops s ON s.id = c.shop_id "
    "WHERE f.customer_id = c.id AND c.phone = %s AND s.sms_from = %s "
    "AND f.status IN ('pending', 'sent') "
    "RETURNING f.slot_opening_id::text AS slot_opening_id",
    "slot_opening_id"};
sr_result_t *sr_q_sender_decline_live_offers(sr_db_t *db, const char *phone, const char *sms_from)
{
    return sr_db_select(db, &stmt_sender_decline_live_offers, SR_ARGS(phone, sms_from));
}

/*
 * Twilio's 21610: the customer replied STOP to the shop's number (Twilio's
 * own opt-out), so no message reaches them until they text START. That is an
 * opt-out like an inbound STOP: the same consent record (customers.sms_opt_in
 * of that phone at the shops of that number), and their other live offers are
 * declined, their slots passed on at once (added to slots). 0 when the
 * database failed.
 */
static int opt_out_unsubscribed(sr_db_t *db, const sr_result_t *claimed, int row, apr_array_header_t *slots)
{
    const char *phone = sr_result_get(claimed, row, "phone"), *from = sr_result_get(claimed, row, "sms_from");
    sr_result_t *res;
    int i;

    if (sr_q_sender_set_opt_in(db, "false", phone, from) < 0 ||
        !(res = sr_q_sender_decline_live_offers(db, phone, from))) {
        return 0;
    }
    for (i = 0; i < res->nrows; i++) {
        APR_ARRAY_PUSH(slots, const char *) = sr_result_get(res, i, "slot_opening_id");
    }
    return 1;
}

/* An offer never outlives its slot: it ends at the cutoff (argument 1) if that comes first. */
static const sr_statement_t stmt_loop_mark_sent = {"sr_loop_mark_sent",
                                                   "UPDATE slot_offers f SET status = 'sent', sent_at = now(), "
                                                   "expires_at = least(now() + "
                                                   "make_interval(secs => s.offer_ttl_seconds), "
                                                   "o.starts_at - make_interval(secs => %s::integer)), "
                                                   "provider_message_id = %s, last_error = NULL "
                                                   "FROM slot_openings o, shops s "
                                                   "WHERE f.id = %s::bigint AND f.status = 'pending' "
                                                   "AND o.id = f.slot_opening_id AND s.id = o.shop_id",
                                                   NULL};
static int q_loop_mark_sent(sr_db_t *db, const char *cutoff_seconds, const char *message_sid, const char *offer_id)
{
    return sr_db_exec(db, &stmt_loop_mark_sent, SR_ARGS(cutoff_seconds, message_sid, offer_id));
}

/*
 * A failed attempt: the offer fails for good when the error is permanent
 * or the attempts are used up, else it waits base * 2^(attempts-1)
 * seconds (at most an hour). Arguments: error, permanent, max attempts,
 * base delay, offer id.
 */
static const sr_statement_t stmt_loop_mark_send_failed = {
    "sr_loop_mark_send_failed",
    "UPDATE slot_offers SET last_error = left(%s, 500), "
    "status = CASE WHEN %s::boolean OR attempts >= %s::integer "
    "THEN 'failed' ELSE 'pending' END, "
    "next_attempt_at = now() + make_interval(secs => "
    "least(3600, %s::integer * power(2, greatest(attempts - 1, 0)))) "
    "WHERE id = %s::bigint AND status = 'pending' "
    "RETURNING status AS status, slot_opening_id::text AS slot_opening_id",
    "status,slot_opening_id"};
static sr_result_t *q_loop_mark_send_failed(sr_db_t *db, const char *error, const char *permanent,
                                            const char *max_attempts, const char *base_delay_seconds,
                                            const char *offer_id)
{
    return sr_db_select(db, &stmt_loop_mark_send_failed,
                        SR_ARGS(error, permanent, max_attempts, base_delay_seconds, offer_id));
}

/*
 * An offer Twilio could not take because it refused our credentials: it
 * waits as pending, the attempt its claim counted given back, and is
 * tried again after the base delay (no backoff: the fix is a reload).
 * Arguments: error, base delay, offer id.
 */
static const sr_statement_t stmt_loop_send_wait_credentials = {
    "sr_loop_send_wait_credentials",
    "UPDATE slot_offers SET last_error = left(%s, 500), "
    "attempts = greatest(attempts - 1, 0), "
    "next_attempt_at = now() + make_interval(secs => %s::integer) "
    "WHERE id = %s::bigint AND status = 'pending'",
    NULL};
static int q_loop_send_wait_credentials(sr_db_t *db, const char *error, const char *delay_seconds, const char *offer_id)
{
    return sr_db_exec(db, &stmt_loop_send_wait_credentials, SR_ARGS(error, delay_seconds, offer_id));
}

/* Records what Twilio said of each claimed offer, all in one transaction. */
static sr_status_t record_sends_work(sr_db_t *db, void *baton)
{
    record_work_t *w = baton;
    apr_pool_t *p = sr_db_pool(db);
    sr_status_t status;
    int i;

    w->failed_slots->nelts = 0; /* the work may run again after a reconnect */
    for (i = 0; i < w->claimed->nrows; i++) {
        const char *id = sr_result_get(w->claimed, i, "id");
        const sr_twilio_send_t *sent = &w->sent[i];
        sr_result_t *res;

        if (sent->message_sid) {
            if (q_loop_mark_sent(db, seconds_arg(p, w->conf->offer_cutoff), sent->message_sid, id) < 0) {
                return SR_UNAVAILABLE;
            }
            continue;
        }
        if (sent->auth_refused) {
            /* Not this offer's fault: it waits, its attempt not counted, until the credentials work. */
            if (q_loop_send_wait_credentials(db, sent->error, seconds_arg(p, w->conf->offer_retry_delay), id) < 0) {
                return SR_UNAVAILABLE;
            }
            continue;
        }
        res = q_loop_mark_send_failed(db, sent->error, sent->permanent ? "true" : "false",
                                      apr_psprintf(p, "%d", w->conf->offer_max_attempts),
                                      seconds_arg(p, w->conf->offer_retry_delay), id);
        if (!res) {
            return SR_UNAVAILABLE;
        }
        if (res->nrows > 0 && !strcmp(sr_result_get(res, 0, "status"), "failed")) {
            APR_ARRAY_PUSH(w->failed_slots, const char *) = sr_result_get(res, 0, "slot_opening_id");
        }
        if (sent->code == SR_TWILIO_UNSUBSCRIBED && !opt_out_unsubscribed(db, w->claimed, i, w->failed_slots)) {
            return SR_UNAVAILABLE;
        }
    }
    sr_twilio_credentials_note(db, w->conf, w->claimed->nrows, w->sent, &status);
    return status;
}

/*
 * The SMS are out: what Twilio said must reach the database, or the leases run
 * out and the offers are sent again. A PostgreSQL restart takes seconds, so
 * keep trying for a while (well within the lease) before giving up.
 */
static sr_status_t record_sends(sr_ctx_t *ctx, record_work_t *record)
{
    int tries;

    for (tries = 1;; tries++) {
        if (sr_db_transaction(ctx->db, record_sends_work, record) == SR_OK) {
            return SR_OK;
        }
        if (tries == SR_RECORD_TRIES) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, ctx->s,
                         SR_LOG_PREFIX "could not record %d SMS after %d tries: their offers will be sent again "
                                       "when their lease ends",
                         record->claimed->nrows, tries);
            return SR_UNAVAILABLE;
        }
        apr_sleep(SR_RECORD_RETRY_DELAY);
    }
}

#define SR_TWILIO_NOT_CONFIGURED                                                                                       \
    "Twilio is not configured for this server (SlotRecoveryTwilioAccountSid / SlotRecoveryTwilioAuthToken): "          \
    "the offer waits for a sweep that can send it"

typedef struct {
    const char *offer_id, *cutoff, *limit, *lease;
    sr_result_t *claimed;
} claim_work_t;

/*
 * Claims pending offers whose (next) attempt is due, outside their shop's
 * quiet hours and before the slot's offer cutoff: counts the attempt and
 * leases the offer until the lease ends, so no other process sends it
 * meanwhile. The ttl is what the SMS promises: the shop's, or less when
 * the cutoff comes first. Arguments: one offer id or NULL for any (twice),
 * the cutoff, the batch size, the lease in seconds, the cutoff again.
 */
static const sr_statement_t stmt_loop_claim_due_offers = {
    "sr_loop_claim_due_offers",
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
    "AS slot_time",
    "id,slot_opening_id,offer_deposit_amount,offer_currency,public_url_prefix,attempts,phone,sms_from,shop_name,"
    "deposit_amount,currency,ttl,slot_time"};
static sr_result_t *q_loop_claim_due_offers(sr_db_t *db, const char *offer_id, const char *cutoff_seconds,
                                            const char *limit, const char *lease_seconds)
{
    return sr_db_select(db, &stmt_loop_claim_due_offers,
                        SR_ARGS(offer_id, offer_id, cutoff_seconds, limit, lease_seconds, cutoff_seconds));
}

/* Like sr_db_claim, with the cutoff: an offer whose slot is past it is not sent. */
static sr_status_t claim_work(sr_db_t *db, void *baton)
{
    claim_work_t *w = baton;

    w->claimed = q_loop_claim_due_offers(db, w->offer_id, w->cutoff, w->limit, w->lease);
    return w->claimed ? SR_OK : SR_UNAVAILABLE;
}

/*
 * Claims due offers (one, or a batch) and sends their SMS, all at once, after
 * the claim has committed. Slots whose offer failed for good are added to
 * `failed_slots`. Returns the number of SMS Twilio accepted, -1 when the
 * database failed, 0 when nothing was due or nothing can be sent.
 */
static int send_due_offers(sr_ctx_t *ctx, const char *offer_id, apr_array_header_t *failed_slots, sr_advance_t *one)
{
    apr_pool_t *p = ctx->pool;
    claim_work_t claim = {offer_id, seconds_arg(p, ctx->conf->offer_cutoff), apr_itoa(p, offer_id ? 1 : SR_SEND_BATCH),
                          seconds_arg(p, ctx->conf->http_timeout + apr_time_from_sec(60)), NULL};
    sr_result_t *claimed;
    sr_twilio_sms_t *sms;
    sr_twilio_send_t *sent;
    record_work_t record;
    int i, accepted = 0;

    /* A claim counts an attempt: a server that cannot send must not use up the offer's tries. */
    if (!sr_twilio_configured(ctx->conf)) {
        if (one) {
            one->send_error = SR_TWILIO_NOT_CONFIGURED;
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ctx->s, SR_LOG_PREFIX "offer %s: %s", offer_id,
                         SR_TWILIO_NOT_CONFIGURED);
        }
        return 0;
    }
    claimed = sr_db_transaction(ctx->db, claim_work, &claim) == SR_OK ? claim.claimed : NULL;
    if (!claimed) {
        return -1;
    }
    if (claimed->nrows == 0) {
        return 0;
    }
    sms = apr_pcalloc(p, (apr_size_t)claimed->nrows * sizeof(*sms));
    sent = apr_pcalloc(p, (apr_size_t)claimed->nrows * sizeof(*sent));
    for (i = 0; i < claimed->nrows; i++) {
        const char *prefix = sr_result_get(claimed, i, "public_url_prefix");

        sms[i].to = sr_result_get(claimed, i, "phone");
        sms[i].from = sr_result_get(claimed, i, "sms_from");
        sms[i].body = offer_sms_body(p, claimed, i);
        sms[i].status_callback = prefix ? apr_pstrcat(p, prefix, "/api/twilio/status", (char *)NULL) : NULL;
    }
    sr_twilio_send_all(p, ctx->conf, claimed->nrows, sms, sent);
    for (i = 0; i < claimed->nrows; i++) {
        const char *id = sr_result_get(claimed, i, "id");

        if (sent[i].message_sid) {
            accepted++;
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, ctx->s, SR_LOG_PREFIX "offer %s sent as %s", id,
                         sent[i].message_sid);
        }
        else if (sent[i].auth_refused) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ctx->s, SR_LOG_PREFIX "offer %s waits (attempt not counted): %s",
                         id, sent[i].error);
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ctx->s, SR_LOG_PREFIX "offer %s: attempt %s failed: %s", id,
                         sr_result_get(claimed, i, "attempts"), sent[i].error);
        }
    }
    sr_twilio_credentials_log_refused(ctx->s, ctx->conf, claimed->nrows, sent, "offers");
    if (one) {
        one->sms_sent = sent[0].message_sid != NULL;
        one->send_error = sent[0].error;
    }
    record = (record_work_t){claimed, sent, ctx->conf, apr_array_make(p, 1, sizeof(const char *))};
    if (record_sends(ctx, &record) == SR_OK) {
        apr_array_cat(failed_slots, record.failed_slots);
    }
    return accepted;
}

/* --- the sweep ------------------------------------------------------------------ */

/*
 * The batch size is written into the statement: with LIMIT as a
 * parameter, the generic plan PostgreSQL settles on after five runs
 * scanned every offer (170 ms at 200,000 offers, against 3 ms).
 */
static const sr_statement_t stmt_loop_expire_due_offers = {
    "sr_loop_expire_due_offers",
    "WITH due AS (SELECT id FROM slot_offers "
    "WHERE status = 'sent' AND expires_at <= now() "
    "ORDER BY expires_at LIMIT " SR_SWEEP_BATCH_SQL " FOR UPDATE SKIP LOCKED) "
    "UPDATE slot_offers f SET status = 'expired' FROM due WHERE f.id = due.id "
    "RETURNING f.slot_opening_id::text AS slot_opening_id",
    "slot_opening_id"};
static sr_result_t *q_loop_expire_due_offers(sr_db_t *db)
{
    return sr_db_select(db, &stmt_loop_expire_due_offers, SR_NO_ARGS);
}

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
static const sr_statement_t stmt_loop_slots_to_advance = {
    "sr_loop_slots_to_advance",
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
    "ORDER BY due.turn, due.starts_at, due.id LIMIT " SR_SWEEP_BATCH_SQL,
    "id"};
static sr_result_t *q_loop_slots_to_advance(sr_db_t *db, const char *cutoff_seconds)
{
    return sr_db_select(db, &stmt_loop_slots_to_advance, SR_ARGS(cutoff_seconds, cutoff_seconds));
}

/* The sweep works in batches (advance_slots), in the database only: what it offers, the worker sends. */

typedef struct {
    const char *cutoff; /* NULL: expire due offers; else the slots to advance, with this cutoff */
    sr_result_t *res;
} batch_work_t;

static sr_status_t batch_work(sr_db_t *db, void *baton)
{
    batch_work_t *w = baton;

    w->res = w->cutoff ? q_loop_slots_to_advance(db, w->cutoff) : q_loop_expire_due_offers(db);
    return w->res ? SR_OK : SR_UNAVAILABLE;
}

sr_status_t sr_offer_loop_send_all_due(sr_ctx_t *ctx, apr_time_t deadline, sr_sweep_report_t *report)
{
    apr_pool_t *parent = ctx->pool;
    apr_array_header_t *failed = apr_array_make(parent, 4, sizeof(const char *));
    int hops, sent;

    for (hops = 0; hops <= SR_ADVANCE_MAX_HOPS; hops++) {
        do {
            apr_array_header_t *batch_failed;
            apr_pool_t *sub, *old;
            int i;

            apr_pool_create(&sub, parent);
            old = sr_db_use_pool(ctx->db, sub);
            ctx->pool = sub;
            batch_failed = apr_array_make(sub, 4, sizeof(const char *));
            sent = send_due_offers(ctx, NULL, batch_failed, NULL);
            for (i = 0; i < batch_failed->nelts; i++) {
                APR_ARRAY_PUSH(failed, const char *) =
                    apr_pstrdup(parent, APR_ARRAY_IDX(batch_failed, i, const char *));
            }
            ctx->pool = parent;
            sr_db_use_pool(ctx->db, old);
            apr_pool_destroy(sub);
            if (sent < 0) {
                return SR_UNAVAILABLE;
            }
            report->offers_sent += sent;
        } while (sent > 0 && apr_time_now() < deadline);
        if (failed->nelts == 0) {
            break;
        }
        /* Failed for good: their slots go to the next customer now, whose offers the next round sends. */
        report->offers_failed += failed->nelts;
        if (advance_slots(ctx, failed, 0, report) != SR_OK) {
            return SR_UNAVAILABLE;
        }
        failed->nelts = 0;
        if (apr_time_now() >= deadline) {
            break;
        }
    }
    return SR_OK;
}

sr_status_t sr_offer_loop_send_offer(sr_ctx_t *ctx, const char *offer_id, sr_advance_t *out)
{
    apr_array_header_t *failed = apr_array_make(ctx->pool, 1, sizeof(const char *));

    if (send_due_offers(ctx, offer_id, failed, out) < 0) {
        return SR_UNAVAILABLE;
    }
    /* Failed for good (or a 21610 declined the customer's other offers): those slots move on now. */
    return failed->nelts > 0 ? advance_slots(ctx, failed, 1, NULL) : SR_OK;
}

sr_status_t sr_offer_loop_sweep(sr_ctx_t *ctx, sr_sweep_report_t *report)
{
    apr_pool_t *p = ctx->pool;
    apr_hash_t *seen = apr_hash_make(p);
    apr_array_header_t *slots = apr_array_make(p, 64, sizeof(const char *));
    batch_work_t w;
    int i;

    memset(report, 0, sizeof(*report));

    /* 1. Offers past their expiry: expire in batches, then move their slots on. */
    do {
        w = (batch_work_t){NULL, NULL};
        if (sr_db_transaction(ctx->db, batch_work, &w) != SR_OK) {
            return SR_UNAVAILABLE;
        }
        report->offers_expired += w.res->nrows;
        for (i = 0; i < w.res->nrows; i++) {
            const char *id = sr_result_get(w.res, i, "slot_opening_id");

            if (!apr_hash_get(seen, id, APR_HASH_KEY_STRING)) {
                apr_hash_set(seen, id, APR_HASH_KEY_STRING, id);
                APR_ARRAY_PUSH(slots, const char *) = id;
            }
        }
    } while (w.res->nrows == SR_SWEEP_BATCH);
    if (advance_slots(ctx, slots, 0, report) != SR_OK) {
        return SR_UNAVAILABLE;
    }

    /* 2. Open slots left without a live offer, and slots too close to their start. */
    w = (batch_work_t){seconds_arg(p, ctx->conf->offer_cutoff), NULL};
    if (sr_db_read(ctx->db, batch_work, &w) != SR_OK) {
        return SR_UNAVAILABLE;
    }
    slots = apr_array_make(p, w.res->nrows, sizeof(const char *));
    for (i = 0; i < w.res->nrows; i++) {
        APR_ARRAY_PUSH(slots, const char *) = sr_result_get(w.res, i, "id");
    }
    return advance_slots(ctx, slots, 0, report);
}

/* --- waking slots that wait for a customer ------------------------------------ */

/*
 * Waking the waiting slots of some shops (an array) when a customer joins
 * the waitlist or opts in again, in that customer's transaction. Every
 * open slot of those shops is locked first: an advance in flight, which
 * cannot see the new customer, commits its "waiting" before the wake
 * reads it (a later one waits for the commit and sees the customer).
 */
static const sr_statement_t stmt_loop_lock_open_slots = {
    "sr_loop_lock_open_slots",
    "SELECT count(*) AS locked FROM (SELECT 1 FROM slot_openings o "
    "WHERE o.shop_id = ANY (%s::bigint[]) AND o.status = 'open' "
    "ORDER BY o.id FOR UPDATE) l",
    "locked"};
static sr_result_t *q_loop_lock_open_slots(sr_db_t *db, const char *shop_ids)
{
    return sr_db_select(db, &stmt_loop_lock_open_slots, SR_ARGS(shop_ids));
}

/* Then the wake itself: the woken slots, earliest first. */
static const sr_statement_t stmt_loop_wake_waiting = {"sr_loop_wake_waiting",
                                                      "WITH woken AS (UPDATE slot_openings o SET waiting_since = NULL "
                                                      "WHERE o.shop_id = ANY (%s::bigint[]) AND o.status = 'open' "
                                                      "AND o.waiting_since IS NOT NULL RETURNING o.id, o.starts_at) "
                                                      "SELECT id::text AS id FROM woken ORDER BY starts_at, id",
                                                      "id"};
static sr_result_t *q_loop_wake_waiting(sr_db_t *db, const char *shop_ids)
{
    return sr_db_select(db, &stmt_loop_wake_waiting, SR_ARGS(shop_ids));
}

sr_result_t *sr_offer_loop_wake(sr_db_t *db, const apr_array_header_t *shop_ids)
{
    const char *shops = id_array(sr_db_pool(db), shop_ids);

    if (!q_loop_lock_open_slots(db, shops)) {
        return NULL;
    }
    return q_loop_wake_waiting(db, shops);
}

typedef struct {
    const char *appointment_id;
    sr_result_t *woken;
} wake_work_t;

/*
 * The same for a cancelled appointment, after its commit: its customer
 * (if opted in) is free for the shop's open slots at that time. Locked
 * first for the same reason.
 */
static const sr_statement_t stmt_loop_lock_overlapping = {
    "sr_loop_lock_overlapping",
    "SELECT count(*) AS locked FROM (SELECT 1 FROM slot_openings o "
    "JOIN appointments a ON a.shop_id = o.shop_id "
    "JOIN customers c ON c.id = a.customer_id AND c.sms_opt_in "
    "WHERE a.id = %s::bigint AND o.status = 'open' "
    "AND o.starts_at < a.ends_at AND o.ends_at > a.starts_at "
    "ORDER BY o.id FOR UPDATE OF o) l",
    "locked"};
static sr_result_t *q_loop_lock_overlapping(sr_db_t *db, const char *appointment_id)
{
    return sr_db_select(db, &stmt_loop_lock_overlapping, SR_ARGS(appointment_id));
}

static const sr_statement_t stmt_loop_wake_overlapping = {
    "sr_loop_wake_overlapping",
    "WITH woken AS (UPDATE slot_openings o SET waiting_since = NULL "
    "FROM appointments a JOIN customers c ON c.id = a.customer_id AND c.sms_opt_in "
    "WHERE a.id = %s::bigint AND o.shop_id = a.shop_id AND o.status = 'open' "
    "AND o.waiting_since IS NOT NULL "
    "AND o.starts_at < a.ends_at AND o.ends_at > a.starts_at "
    "RETURNING o.id, o.starts_at) "
    "SELECT id::text AS id FROM woken ORDER BY starts_at, id",
    "id"};
static sr_result_t *q_loop_wake_overlapping(sr_db_t *db, const char *appointment_id)
{
    return sr_db_select(db, &stmt_loop_wake_overlapping, SR_ARGS(appointment_id));
}

static sr_status_t wake_overlapping_work(sr_db_t *db, void *baton)
{
    wake_work_t *w = baton;

    if (!q_loop_lock_overlapping(db, w->appointment_id)) {
        return SR_UNAVAILABLE;
    }
    w->woken = q_loop_wake_overlapping(db, w->appointment_id);
    return w->woken ? SR_OK : SR_UNAVAILABLE;
}

sr_status_t sr_offer_loop_wake_for_cancellation(sr_ctx_t *ctx, const char *appointment_id)
{
    wake_work_t w = {appointment_id, NULL};
    sr_status_t status = sr_db_transaction(ctx->db, wake_overlapping_work, &w);

    if (status == SR_OK) {
        sr_offer_loop_advance_woken(ctx, w.woken);
    }
    return status;
}

void sr_offer_loop_advance_woken(sr_ctx_t *ctx, const sr_result_t *woken)
{
    apr_array_header_t *now = apr_array_make(ctx->pool, SR_WAKE_AT_ONCE, sizeof(const char *));
    int i;

    for (i = 0; i < woken->nrows && i < SR_WAKE_AT_ONCE; i++) {
        APR_ARRAY_PUSH(now, const char *) = sr_result_get(woken, i, "id");
    }
    sr_offer_loop_advance_all(ctx, now);
    if (woken->nrows > 0) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ctx->s,
                     SR_LOG_PREFIX "%d waiting slot openings woken, %d of them advanced now, the rest by the sweep",
                     woken->nrows, i);
    }
}

typedef struct {
    const char *sid, *status, *error_code;
    sr_result_t *res;
} delivery_work_t;

/*
 * A Twilio delivery report. An undelivered or failed SMS for a live offer
 * fails the offer so the loop can move on at once. Only forward (issue 16: twilio; migration 011's
 * sr_delivery_rank): Twilio's reports arrive late and out of order, and a late "sent" must not replace "delivered"
 * or "undelivered", nor a late "delivered" revive a failure. The rank is compared with the locked row's own status
 * (two reports at once: the second sees the first's). Arguments: status, error code, message sid.
 */
static const sr_statement_t stmt_loop_delivery_status = {
    "sr_loop_delivery_status",
    "UPDATE slot_offers f SET "
    "delivery_status = CASE WHEN " FORWARD " THEN n.st ELSE f.delivery_status END, "
    "delivery_updated_at = CASE WHEN " FORWARD " THEN now() ELSE f.delivery_updated_at END, "
    "status = CASE WHEN " FORWARD " AND n.st IN ('undelivered', 'failed') AND f.status = 'sent' "
    "THEN 'failed' ELSE f.status END, "
    "last_error = CASE WHEN " FORWARD " AND n.st IN ('undelivered', 'failed') AND f.status = 'sent' "
    "THEN left('SMS ' || n.st || COALESCE(' (error ' || n.code || ')', ''), 500) "
    "ELSE f.last_error END "
    "FROM (SELECT %s::text AS st, %s::text AS code) n "
    "WHERE f.provider_message_id = %s "
    "RETURNING f.slot_opening_id::text AS slot_opening_id, f.status AS status",
    "slot_opening_id,status"};
static sr_result_t *q_loop_delivery_status(sr_db_t *db, const char *status, const char *error_code,
                                           const char *message_sid)
{
    return sr_db_select(db, &stmt_loop_delivery_status, SR_ARGS(status, error_code, message_sid));
}

static sr_status_t delivery_work(sr_db_t *db, void *baton)
{
    delivery_work_t *w = baton;

    w->res = q_loop_delivery_status(db, w->status, w->error_code, w->sid);
    return w->res ? SR_OK : SR_UNAVAILABLE;
}

sr_status_t sr_offer_loop_delivery_report(sr_ctx_t *ctx, const char *message_sid, const char *status,
                                          const char *error_code)
{
    delivery_work_t w = {message_sid, status, error_code, NULL};
    sr_status_t rc = sr_db_transaction(ctx->db, delivery_work, &w);
    sr_advance_t adv = {0};

    if (rc != SR_OK) {
        return rc;
    }
    if (w.res->nrows == 0) {
        return SR_NOT_FOUND;
    }
    if (!strcmp(sr_result_get(w.res, 0, "status"), "failed")) {
        /* Not an error if the loop has moved on already: advancing is idempotent. */
        sr_offer_loop_advance(ctx, sr_result_get(w.res, 0, "slot_opening_id"), &adv);
    }
    return SR_OK;
}

const sr_statement_t *const sr_offer_loop_statements[] = {&stmt_loop_has_live_offer,
                                                          &stmt_loop_offer_next_customer,
                                                          &stmt_loop_offer_next_customer_one,
                                                          &stmt_loop_expire_slot,
                                                          &stmt_loop_expire_live_offers,
                                                          &stmt_loop_lock_slots,
                                                          &stmt_loop_lock_slots_wait,
                                                          &stmt_loop_lock_slot_wait,
                                                          &stmt_loop_claim_due_offers,
                                                          &stmt_loop_mark_sent,
                                                          &stmt_loop_mark_send_failed,
                                                          &stmt_loop_expire_due_offers,
                                                          &stmt_loop_slots_to_advance,
                                                          &stmt_loop_delivery_status,
                                                          &stmt_loop_set_waiting,
                                                          &stmt_loop_set_waiting_one,
                                                          &stmt_loop_lock_open_slots,
                                                          &stmt_loop_wake_waiting,
                                                          &stmt_loop_lock_overlapping,
                                                          &stmt_loop_wake_overlapping,
                                                          &stmt_sender_set_opt_in,
                                                          &stmt_sender_decline_live_offers,
                                                          &stmt_loop_send_wait_credentials,
                                                          NULL};
