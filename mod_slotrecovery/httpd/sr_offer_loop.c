/* SPDX-License-Identifier: Apache-2.0 */
/* The offer loop. */
#include <apr_hash.h>
#include <apr_lib.h>

#include "sr_offer_loop.h"
#include "sr_texts.h"
#include "sr_twilio.h"
#include "sr_twilio_credentials.h"

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

/* Expires the slot openings of an id array, and their live offers. */
static int expire_slots(sr_db_t *db, const char *slot_ids, const char *reason)
{
    return sr_db_exec(db, SR_Q_LOOP_EXPIRE_SLOT, SR_ARGS(reason, slot_ids)) >= 0 &&
           sr_db_exec(db, SR_Q_LOOP_EXPIRE_LIVE_OFFERS, SR_ARGS(slot_ids)) >= 0;
}

/* A slot reaches its cutoff: still waiting, nobody could have taken it; else time ran out. */
static const char *expiry_reason(int waiting)
{
    return waiting ? "no_eligible_customer" : "too_close_to_start";
}

typedef struct {
    const sr_ctx_t *ctx;
    const char *slot_ids; /* array literal */
    int wait;             /* wait for each slot's lock (a trigger), or skip those another process holds (the sweep) */
    sr_advance_t *one;    /* a batch of one: what happened to it, in words */
    int offered, expired;
} advance_batch_work_t;

/* Why a batch of one made no offer, once the batch has run: a live offer, or nobody to offer it to yet. */
static sr_status_t explain_no_offer(sr_db_t *db, advance_batch_work_t *w, const char *slot_id, const char *quiet_until)
{
    /* A statement of its own, after the lock: its snapshot sees what the previous holder committed. */
    sr_result_t *live = sr_db_select(db, SR_Q_LOOP_HAS_LIVE_OFFER, SR_ARGS(slot_id));

    if (!live) {
        return SR_UNAVAILABLE;
    }
    if (sr_result_bool(live, 0, "has_live_offer")) {
        w->one->reason = "slot opening already has a live offer";
    }
    else if (quiet_until) {
        w->one->reason = apr_pstrcat(sr_db_pool(db), "quiet hours until ", quiet_until, (char *)NULL);
    }
    else {
        /* Not the end: the slot stays open until its cutoff, and a customer who joins wakes it. */
        w->one->reason = "nobody on the waitlist can take it yet: waiting for a customer";
    }
    return SR_OK;
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
    const char *quiet_until = NULL;
    sr_result_t *locked, *offered;
    int i, waiting;

    w->offered = w->expired = 0;
    if (w->one) {
        memset(w->one, 0, sizeof(*w->one));
        w->one->action = SR_ADVANCE_NOOP;
    }
    locked = sr_db_select(db, w->wait ? SR_Q_LOOP_LOCK_SLOTS_WAIT : SR_Q_LOOP_LOCK_SLOTS,
                          SR_ARGS(seconds_arg(p, w->ctx->conf->offer_cutoff), w->slot_ids));
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
        /* The slots nobody can take yet wait for a customer (and drop out of the sweep). */
        offered = sr_db_select(db, SR_Q_LOOP_OFFER_NEXT_CUSTOMER, SR_ARGS(id_array(p, ready)));
        if (!offered || sr_db_exec(db, SR_Q_LOOP_SET_WAITING, SR_ARGS(id_array(p, ready))) < 0) {
            return SR_UNAVAILABLE;
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
    if (w->one && (ready->nelts > 0 || quiet_until)) {
        return explain_no_offer(db, w, sr_result_get(locked, 0, "id"), quiet_until);
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
        advance_batch_work_t w = {ctx, NULL, wait, NULL, 0, 0};
        apr_pool_t *sub, *old;

        apr_pool_create(&sub, parent);
        old = sr_db_use_pool(ctx->db, sub);
        chunk.elts = slots->elts + (apr_size_t)from * sizeof(const char *);
        chunk.nelts = chunk.nalloc = n;
        w.slot_ids = id_array(sub, &chunk);
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
    advance_batch_work_t w = {ctx, one_id_array(ctx->pool, slot_opening_id), 1, out, 0, 0};
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

    if (sr_db_exec(db, SR_Q_SENDER_SET_OPT_IN, SR_ARGS("false", phone, from)) < 0 ||
        !(res = sr_db_select(db, SR_Q_SENDER_DECLINE_LIVE_OFFERS, SR_ARGS(phone, from)))) {
        return 0;
    }
    for (i = 0; i < res->nrows; i++) {
        APR_ARRAY_PUSH(slots, const char *) = sr_result_get(res, i, "slot_opening_id");
    }
    return 1;
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
            if (sr_db_exec(db, SR_Q_LOOP_MARK_SENT,
                           SR_ARGS(seconds_arg(p, w->conf->offer_cutoff), sent->message_sid, id)) < 0) {
                return SR_UNAVAILABLE;
            }
            continue;
        }
        if (sent->auth_refused) {
            /* Not this offer's fault: it waits, its attempt not counted, until the credentials work. */
            if (sr_db_exec(db, SR_Q_LOOP_SEND_WAIT_CREDENTIALS,
                           SR_ARGS(sent->error, seconds_arg(p, w->conf->offer_retry_delay), id)) < 0) {
                return SR_UNAVAILABLE;
            }
            continue;
        }
        res = sr_db_select(db, SR_Q_LOOP_MARK_SEND_FAILED,
                           SR_ARGS(sent->error, sent->permanent ? "true" : "false",
                                   apr_psprintf(p, "%d", w->conf->offer_max_attempts),
                                   seconds_arg(p, w->conf->offer_retry_delay), id));
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

/* Like sr_db_claim, with the cutoff: an offer whose slot is past it is not sent. */
static sr_status_t claim_work(sr_db_t *db, void *baton)
{
    claim_work_t *w = baton;

    w->claimed = sr_db_select(db, SR_Q_LOOP_CLAIM_DUE_OFFERS,
                              SR_ARGS(w->offer_id, w->offer_id, w->cutoff, w->limit, w->lease, w->cutoff));
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

/* The sweep works in batches (advance_slots), in the database only: what it offers, the worker sends. */

typedef struct {
    sr_query_t query;
    const char *arg1, *arg2;
    sr_result_t *res;
} batch_work_t;

static sr_status_t batch_work(sr_db_t *db, void *baton)
{
    batch_work_t *w = baton;

    w->res = w->arg2   ? sr_db_select(db, w->query, SR_ARGS(w->arg1, w->arg2))
             : w->arg1 ? sr_db_select(db, w->query, SR_ARGS(w->arg1))
                       : sr_db_select(db, w->query, SR_NO_ARGS);
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
        w = (batch_work_t){SR_Q_LOOP_EXPIRE_DUE_OFFERS, NULL, NULL, NULL};
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
    w = (batch_work_t){SR_Q_LOOP_SLOTS_TO_ADVANCE, seconds_arg(p, ctx->conf->offer_cutoff),
                       seconds_arg(p, ctx->conf->offer_cutoff), NULL};
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

sr_result_t *sr_offer_loop_wake(sr_db_t *db, const apr_array_header_t *shop_ids)
{
    const char *shops = id_array(sr_db_pool(db), shop_ids);

    if (!sr_db_select(db, SR_Q_LOOP_LOCK_OPEN_SLOTS, SR_ARGS(shops))) {
        return NULL;
    }
    return sr_db_select(db, SR_Q_LOOP_WAKE_WAITING, SR_ARGS(shops));
}

typedef struct {
    const char *appointment_id;
    sr_result_t *woken;
} wake_work_t;

static sr_status_t wake_overlapping_work(sr_db_t *db, void *baton)
{
    wake_work_t *w = baton;

    if (!sr_db_select(db, SR_Q_LOOP_LOCK_OVERLAPPING, SR_ARGS(w->appointment_id))) {
        return SR_UNAVAILABLE;
    }
    w->woken = sr_db_select(db, SR_Q_LOOP_WAKE_OVERLAPPING, SR_ARGS(w->appointment_id));
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

static sr_status_t delivery_work(sr_db_t *db, void *baton)
{
    delivery_work_t *w = baton;

    w->res = sr_db_select(db, SR_Q_LOOP_DELIVERY_STATUS, SR_ARGS(w->status, w->error_code, w->sid));
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
