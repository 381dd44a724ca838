/* SPDX-License-Identifier: Apache-2.0 */
/* The offer loop. */
#include <apr_hash.h>
#include <apr_lib.h>

#include "sr_format.h"
#include "sr_offer_loop.h"
#include "sr_payments.h"
#include "sr_sms.h"
#include "sr_twilio.h"

#define SR_SEND_BATCH 100
/* Recording sent SMS: up to 15 tries a second apart, enough for a PostgreSQL restart and well inside the
 * send lease (60 s longer than the HTTP timeout), without holding a request thread for long. */
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

/* --- Twilio refusing our credentials (issue 16: twilio) ------------------------ */

const sr_twilio_send_t *sr_loop_note_credentials(sr_db_t *db, const sr_server_conf_t *conf, int n,
                                                 const sr_twilio_send_t *out, sr_status_t *status)
{
    apr_pool_t *p = sr_db_pool(db);
    const sr_twilio_send_t *refused = NULL;
    int i, accepted = 0;

    *status = SR_OK;
    for (i = 0; i < n; i++) {
        if (out[i].auth_refused && !refused) {
            refused = &out[i];
        }
        accepted += out[i].message_sid != NULL;
    }
    if (refused) {
        if (sr_db_exec(db, SR_Q_TWILIO_CREDENTIALS_REFUSED,
                       SR_ARGS(conf->twilio_account_sid, apr_itoa(p, refused->http_status),
                               refused->code ? apr_psprintf(p, "%" APR_INT64_T_FMT, refused->code) : NULL,
                               refused->error)) < 0) {
            *status = SR_UNAVAILABLE;
        }
    }
    else if (accepted > 0 && sr_db_exec(db, SR_Q_TWILIO_CREDENTIALS_OK, SR_ARGS(conf->twilio_account_sid)) < 0) {
        *status = SR_UNAVAILABLE;
    }
    return refused;
}

void sr_loop_log_refused(server_rec *s, const sr_server_conf_t *conf, int n, const sr_twilio_send_t *out,
                         const char *what)
{
    const char *error = NULL;
    int i, refused = 0;

    for (i = 0; i < n; i++) {
        if (out[i].auth_refused) {
            refused++;
            error = out[i].error;
        }
    }
    /* The SID only, never the token: the error is Twilio's answer (status, code, message). */
    if (refused) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     SR_LOG_PREFIX "Twilio refused the credentials of account %s (%s): %d %s wait, their attempts "
                                   "not counted, until SlotRecoveryTwilioAccountSid / SlotRecoveryTwilioAuthToken "
                                   "are fixed and httpd reloaded",
                     conf->twilio_account_sid, error, refused, what);
    }
}

/* --- advancing one slot ------------------------------------------------------- */

typedef struct {
    sr_ctx_t *ctx;
    const char *slot_id;
    sr_advance_t *out;
} advance_work_t;

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

static sr_status_t expire_slot(sr_db_t *db, const char *slot_id, const char *reason, sr_advance_t *out)
{
    if (!expire_slots(db, one_id_array(sr_db_pool(db), slot_id), reason)) {
        return SR_UNAVAILABLE;
    }
    out->action = SR_ADVANCE_EXPIRED;
    out->reason = reason;
    return SR_OK;
}

static sr_status_t advance_work(sr_db_t *db, void *baton)
{
    advance_work_t *w = baton;
    sr_advance_t *out = w->out;
    apr_pool_t *p = sr_db_pool(db);
    sr_result_t *res, *live;
    const char *status;

    memset(out, 0, sizeof(*out));
    res = sr_db_select(db, SR_Q_LOOP_LOCK_SLOT, SR_ARGS(seconds_arg(p, w->ctx->conf->offer_cutoff), w->slot_id));
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        return SR_NOT_FOUND;
    }
    status = sr_result_get(res, 0, "status");
    out->action = SR_ADVANCE_NOOP;
    if (strcmp(status, "open")) {
        out->reason = apr_pstrcat(p, "slot opening is ", status, (char *)NULL);
        return SR_OK;
    }
    if (sr_result_bool(res, 0, "too_late")) {
        return expire_slot(db, w->slot_id, expiry_reason(sr_result_bool(res, 0, "waiting")), out);
    }
    live = sr_db_select(db, SR_Q_LOOP_HAS_LIVE_OFFER, SR_ARGS(w->slot_id));
    if (!live) {
        return SR_UNAVAILABLE;
    }
    if (sr_result_bool(live, 0, "has_live_offer")) {
        out->reason = "slot opening already has a live offer";
        return SR_OK;
    }
    if (sr_result_bool(res, 0, "quiet")) {
        out->reason = apr_pstrcat(p, "quiet hours until ", sr_result_get(res, 0, "quiet_until"), (char *)NULL);
        return SR_OK;
    }
    res = sr_db_select(db, SR_Q_LOOP_OFFER_NEXT_CUSTOMER, SR_ARGS(one_id_array(p, w->slot_id)));
    if (!res || sr_db_exec(db, SR_Q_LOOP_SET_WAITING, SR_ARGS(one_id_array(p, w->slot_id))) < 0) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        /* Not the end: the slot stays open until its cutoff, and a customer who joins wakes it. */
        out->reason = "nobody on the waitlist can take it yet: waiting for a customer";
        return SR_OK;
    }
    out->action = SR_ADVANCE_OFFERED;
    out->reason = "offered to the next customer on the waitlist";
    out->offer_id = sr_result_get(res, 0, "id");
    out->customer_id = sr_result_get(res, 0, "customer_id");
    return SR_OK;
}

/* --- sending offers ------------------------------------------------------------- */

/* The offer text: one GSM-7 segment, or two UCS-2 ones, the shop's name cut to fit (sr_sms_text). */
static const char *offer_sms_body(apr_pool_t *p, const sr_result_t *res, int row)
{
    const char *shop = sr_result_get(res, row, "shop_name");
    /* The deposit fixed on the offer by its claim: what YES will charge. */
    const char *deposit = sr_result_get(res, row, "offer_deposit_amount");
    const char *pay = "";

    if (apr_atoi64(deposit) > 0) {
        pay = apr_pstrcat(p, " (", sr_format_money(p, deposit, sr_result_get(res, row, "offer_currency")), " deposit)",
                          (char *)NULL);
    }
    return sr_sms_text(p, "", shop,
                       apr_pstrcat(p, ": a slot opened on ", sr_result_get(res, row, "slot_time"),
                                   ". Reply YES to book it", pay, " or NO to pass. Offer ends in ",
                                   sr_format_duration(p, apr_atoi64(sr_result_get(res, row, "ttl"))), ".",
                                   (char *)NULL));
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
    sr_loop_note_credentials(db, w->conf, w->claimed->nrows, w->sent, &status);
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
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ctx->s,
                         SR_LOG_PREFIX "offer %s waits (attempt not counted): %s", id, sent[i].error);
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ctx->s, SR_LOG_PREFIX "offer %s: attempt %s failed: %s", id,
                         sr_result_get(claimed, i, "attempts"), sent[i].error);
        }
    }
    sr_loop_log_refused(ctx->s, ctx->conf, claimed->nrows, sent, "offers");
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

static sr_status_t advance_once(sr_ctx_t *ctx, const char *slot_id, sr_advance_t *out,
                                apr_array_header_t *failed_slots)
{
    advance_work_t w = {ctx, slot_id, out};
    sr_status_t status = sr_db_transaction(ctx->db, advance_work, &w);

    if (status != SR_OK) {
        return status;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ctx->s, SR_LOG_PREFIX "slot opening %s: %s", slot_id, out->reason);
    if (out->action == SR_ADVANCE_OFFERED) {
        send_due_offers(ctx, out->offer_id, failed_slots, out);
    }
    return SR_OK;
}

sr_status_t sr_offer_loop_advance(sr_ctx_t *ctx, const char *slot_opening_id, sr_advance_t *out)
{
    apr_array_header_t *failed = apr_array_make(ctx->pool, 1, sizeof(const char *));
    apr_array_header_t *others = apr_array_make(ctx->pool, 1, sizeof(const char *));
    sr_status_t status = advance_once(ctx, slot_opening_id, out, failed);
    int hops, i, again;

    /* An offer that failed for good passes the slot to the next customer at once. */
    for (hops = 0; status == SR_OK && failed->nelts > 0 && hops < SR_ADVANCE_MAX_HOPS; hops++) {
        /* Other slots may come back too (a 21610 declined the customer's other offers). */
        for (i = again = 0; i < failed->nelts; i++) {
            const char *id = APR_ARRAY_IDX(failed, i, const char *);

            if (!strcmp(id, slot_opening_id)) {
                again = 1;
            }
            else {
                APR_ARRAY_PUSH(others, const char *) = id;
            }
        }
        failed->nelts = 0;
        if (!again) {
            break;
        }
        status = advance_once(ctx, slot_opening_id, out, failed);
    }
    /* Those move on once each now; should their next offer fail too, the sweep carries on. */
    for (i = 0; status == SR_OK && i < others->nelts && i < SR_ADVANCE_MAX_HOPS; i++) {
        sr_advance_t other = {0};

        failed->nelts = 0;
        advance_once(ctx, APR_ARRAY_IDX(others, i, const char *), &other, failed);
    }
    return status;
}

/* --- the sweep ------------------------------------------------------------------ */

/*
 * The sweep works in batches, each in a subpool of its own (10,000 slots must
 * not pile up in one request's pool), and moves many slots per transaction:
 * one commit per batch rather than three per slot, and the SMS of a batch
 * sent at once.
 */

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

typedef struct {
    const sr_ctx_t *ctx;
    const char *slot_ids; /* array literal */
    int offered, expired;
} advance_batch_work_t;

static sr_status_t advance_batch_work(sr_db_t *db, void *baton)
{
    advance_batch_work_t *w = baton;
    apr_pool_t *p = sr_db_pool(db);
    apr_array_header_t *too_late[2] = {apr_array_make(p, 4, sizeof(const char *)),
                                       apr_array_make(p, 4, sizeof(const char *))}; /* offered, waiting */
    apr_array_header_t *ready = apr_array_make(p, 64, sizeof(const char *));
    sr_result_t *locked, *offered;
    int i, waiting;

    w->offered = w->expired = 0;
    locked = sr_db_select(db, SR_Q_LOOP_LOCK_SLOTS, SR_ARGS(seconds_arg(p, w->ctx->conf->offer_cutoff), w->slot_ids));
    if (!locked) {
        return SR_UNAVAILABLE;
    }
    for (i = 0; i < locked->nrows; i++) {
        const char *id = sr_result_get(locked, i, "id");

        if (sr_result_bool(locked, i, "too_late")) {
            APR_ARRAY_PUSH(too_late[sr_result_bool(locked, i, "waiting")], const char *) = id;
        }
        else if (!sr_result_bool(locked, i, "quiet")) {
            APR_ARRAY_PUSH(ready, const char *) = id;
        }
    }
    for (waiting = 0; waiting < 2; waiting++) {
        if (too_late[waiting]->nelts > 0) {
            if (!expire_slots(db, id_array(p, too_late[waiting]), expiry_reason(waiting))) {
                return SR_UNAVAILABLE;
            }
            w->expired += too_late[waiting]->nelts;
        }
    }
    if (ready->nelts == 0) {
        return SR_OK;
    }
    /* The new offers wait as pending: the sweep sends them in batches next. The
     * slots nobody can take yet wait for a customer (and drop out of the sweep). */
    offered = sr_db_select(db, SR_Q_LOOP_OFFER_NEXT_CUSTOMER, SR_ARGS(id_array(p, ready)));
    if (!offered || sr_db_exec(db, SR_Q_LOOP_SET_WAITING, SR_ARGS(id_array(p, ready))) < 0) {
        return SR_UNAVAILABLE;
    }
    w->offered = offered->nrows;
    return SR_OK;
}

/* Moves on every slot opening of `slots` (ids), SR_SWEEP_BATCH at a time. */
static sr_status_t advance_slots(sr_ctx_t *ctx, const apr_array_header_t *slots, sr_sweep_report_t *report)
{
    apr_pool_t *parent = ctx->pool;
    sr_status_t status = SR_OK;
    int from;

    for (from = 0; status == SR_OK && from < slots->nelts; from += SR_SWEEP_BATCH) {
        int n = slots->nelts - from < SR_SWEEP_BATCH ? slots->nelts - from : SR_SWEEP_BATCH;
        apr_array_header_t chunk = *slots;
        advance_batch_work_t w = {ctx, NULL, 0, 0};
        apr_pool_t *sub, *old;

        apr_pool_create(&sub, parent);
        old = sr_db_use_pool(ctx->db, sub);
        chunk.elts = slots->elts + (apr_size_t)from * sizeof(const char *);
        chunk.nelts = chunk.nalloc = n;
        w.slot_ids = id_array(sub, &chunk);
        status = sr_db_transaction(ctx->db, advance_batch_work, &w);
        report->slots_advanced += w.offered;
        report->slots_expired += w.expired;
        sr_db_use_pool(ctx->db, old);
        apr_pool_destroy(sub);
    }
    return status;
}

/*
 * Sends every offer whose SMS is due, a batch at a time, and passes on the
 * slots whose offer failed for good (a bounded number of rounds).
 */
static sr_status_t send_all_due(sr_ctx_t *ctx, sr_sweep_report_t *report)
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
        } while (sent > 0);
        if (failed->nelts == 0) {
            break;
        }
        report->offers_failed += failed->nelts;
        if (advance_slots(ctx, failed, report) != SR_OK) {
            return SR_UNAVAILABLE;
        }
        failed->nelts = 0;
    }
    return SR_OK;
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
    if (advance_slots(ctx, slots, report) != SR_OK) {
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
    if (advance_slots(ctx, slots, report) != SR_OK) {
        return SR_UNAVAILABLE;
    }

    /* 3. Offers whose SMS is due: just made, Twilio was down, or quiet hours ended. */
    if (send_all_due(ctx, report) != SR_OK) {
        return SR_UNAVAILABLE;
    }

    /* 4. Deposits whose PaymentIntent Stripe has not answered yet, refunds due, texts to customers. */
    sr_payments_sweep(ctx);
    return SR_OK;
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
    int i;

    for (i = 0; i < woken->nrows && i < SR_WAKE_AT_ONCE; i++) {
        sr_advance_t adv = {0};

        sr_offer_loop_advance(ctx, sr_result_get(woken, i, "id"), &adv);
    }
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
