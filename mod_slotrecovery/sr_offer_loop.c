/* The offer loop. */
#include <apr_hash.h>
#include <apr_lib.h>

#include "sr_format.h"
#include "sr_offer_loop.h"
#include "sr_payments.h"
#include "sr_twilio.h"

#define SR_SWEEP_BATCH 500
#define SR_SEND_BATCH 100
/* Bounds the work one trigger may do when sends fail for good one after another. */
#define SR_ADVANCE_MAX_HOPS 10
#define SR_SHOP_NAME_IN_SMS 40

static const char *seconds_arg(apr_pool_t *p, apr_interval_time_t t)
{
    return apr_psprintf(p, "%" APR_TIME_T_FMT, apr_time_sec(t));
}

void sr_offer_loop_for_request(sr_loop_t *loop, request_rec *r, const sr_server_conf_t *conf, sr_db_t *db)
{
    loop->db = db;
    loop->conf = conf;
    loop->s = r->server;
    loop->pool = r->pool;
}

/* --- advancing one slot ------------------------------------------------------- */

typedef struct {
    sr_loop_t *loop;
    const char *slot_id;
    sr_advance_t *out;
} advance_work_t;

static sr_status_t expire_slot(sr_db_t *db, const char *slot_id, const char *reason, sr_advance_t *out)
{
    if (sr_db_exec(db, SR_Q_LOOP_EXPIRE_SLOT, SR_ARGS(reason, slot_id)) < 0 ||
        sr_db_exec(db, SR_Q_LOOP_EXPIRE_LIVE_OFFERS, SR_ARGS(slot_id)) < 0) {
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
    res = sr_db_select(db, SR_Q_LOOP_LOCK_SLOT, SR_ARGS(seconds_arg(p, w->loop->conf->offer_cutoff), w->slot_id));
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
        return expire_slot(db, w->slot_id, "too_close_to_start", out);
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
    res = sr_db_select(db, SR_Q_LOOP_OFFER_NEXT_CUSTOMER, SR_ARGS(w->slot_id));
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        return expire_slot(db, w->slot_id, "no_eligible_customer", out);
    }
    out->action = SR_ADVANCE_OFFERED;
    out->reason = "offered to the next customer on the waitlist";
    out->offer_id = sr_result_get(res, 0, "id");
    out->customer_id = sr_result_get(res, 0, "customer_id");
    return SR_OK;
}

/* --- sending offers ------------------------------------------------------------- */

/* The offer text: kept to one SMS segment for ordinary shop names. */
static const char *offer_sms_body(apr_pool_t *p, const sr_result_t *res, int row)
{
    const char *shop = sr_result_get(res, row, "shop_name");
    const char *deposit = sr_result_get(res, row, "deposit_amount");
    const char *pay = "";

    if (strlen(shop) > SR_SHOP_NAME_IN_SMS) {
        shop = apr_pstrcat(p, apr_pstrmemdup(p, shop, SR_SHOP_NAME_IN_SMS - 3), "...", (char *)NULL);
    }
    if (apr_atoi64(deposit) > 0) {
        pay = apr_pstrcat(p, " (", sr_format_money(p, deposit, sr_result_get(res, row, "currency")), " deposit)",
                          (char *)NULL);
    }
    return apr_pstrcat(p, shop, ": a slot opened on ", sr_result_get(res, row, "slot_time"), ". Reply YES to book it",
                       pay, " or NO to pass. Offer ends in ",
                       sr_format_duration(p, apr_atoi64(sr_result_get(res, row, "ttl"))), ".", (char *)NULL);
}

typedef struct {
    const char *offer_id;
    const sr_twilio_send_t *sent;
    const sr_server_conf_t *conf;
    const char *failed_slot_id; /* set when the offer failed for good */
} record_work_t;

static sr_status_t record_send_work(sr_db_t *db, void *baton)
{
    record_work_t *w = baton;
    apr_pool_t *p = sr_db_pool(db);
    sr_result_t *res;

    w->failed_slot_id = NULL;
    if (w->sent->message_sid) {
        return sr_db_exec(db, SR_Q_LOOP_MARK_SENT, SR_ARGS(w->sent->message_sid, w->offer_id)) < 0 ? SR_UNAVAILABLE
                                                                                                   : SR_OK;
    }
    res = sr_db_select(db, SR_Q_LOOP_MARK_SEND_FAILED,
                       SR_ARGS(w->sent->error, w->sent->permanent ? "true" : "false",
                               apr_psprintf(p, "%d", w->conf->offer_max_attempts),
                               seconds_arg(p, w->conf->offer_retry_delay), w->offer_id));
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows > 0 && !strcmp(sr_result_get(res, 0, "status"), "failed")) {
        w->failed_slot_id = sr_result_get(res, 0, "slot_opening_id");
    }
    return SR_OK;
}

/*
 * Claims due offers (one, or a batch) and sends their SMS after the claim has
 * committed. Slots whose offer failed for good are added to `failed_slots`.
 */
static int send_due_offers(sr_loop_t *loop, const char *offer_id, apr_array_header_t *failed_slots, sr_advance_t *one)
{
    apr_pool_t *p = loop->pool;
    sr_result_t *claimed = sr_db_claim(loop->db, SR_Q_LOOP_CLAIM_DUE_OFFERS, offer_id, offer_id ? 1 : SR_SEND_BATCH,
                                       loop->conf->http_timeout + apr_time_from_sec(60));
    int i, sent = 0;

    if (!claimed) {
        return -1;
    }
    for (i = 0; i < claimed->nrows; i++) {
        const sr_result_t *c = claimed;
        const char *id = sr_result_get(c, i, "id");
        const char *prefix = sr_result_get(c, i, "public_url_prefix");
        const char *callback = prefix ? apr_pstrcat(p, prefix, "/api/twilio/status", (char *)NULL) : NULL;
        sr_twilio_send_t result;
        record_work_t record = {id, &result, loop->conf, NULL};

        sr_twilio_send_sms(p, loop->conf, sr_result_get(c, i, "phone"), sr_result_get(c, i, "sms_from"),
                           offer_sms_body(p, c, i), callback, &result);
        if (result.message_sid) {
            sent++;
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, loop->s, SR_LOG_PREFIX "offer %s sent as %s", id,
                         result.message_sid);
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, loop->s, SR_LOG_PREFIX "offer %s: attempt %s failed: %s", id,
                         sr_result_get(c, i, "attempts"), result.error);
        }
        if (one) {
            one->sms_sent = result.message_sid != NULL;
            one->send_error = result.error;
        }
        /* If this fails the lease runs out and the sweep sends the offer again. */
        if (sr_db_transaction(loop->db, record_send_work, &record) == SR_OK && record.failed_slot_id) {
            APR_ARRAY_PUSH(failed_slots, const char *) = record.failed_slot_id;
        }
    }
    return sent;
}

static sr_status_t advance_once(sr_loop_t *loop, const char *slot_id, sr_advance_t *out,
                                apr_array_header_t *failed_slots)
{
    advance_work_t w = {loop, slot_id, out};
    sr_status_t status = sr_db_transaction(loop->db, advance_work, &w);

    if (status != SR_OK) {
        return status;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, loop->s, SR_LOG_PREFIX "slot opening %s: %s", slot_id, out->reason);
    if (out->action == SR_ADVANCE_OFFERED) {
        send_due_offers(loop, out->offer_id, failed_slots, out);
    }
    return SR_OK;
}

sr_status_t sr_offer_loop_advance(sr_loop_t *loop, const char *slot_opening_id, sr_advance_t *out)
{
    apr_array_header_t *failed = apr_array_make(loop->pool, 1, sizeof(const char *));
    sr_status_t status = advance_once(loop, slot_opening_id, out, failed);
    int hops;

    /* An offer that failed for good passes the slot to the next customer at once. */
    for (hops = 0; status == SR_OK && failed->nelts > 0 && hops < SR_ADVANCE_MAX_HOPS; hops++) {
        failed->nelts = 0;
        status = advance_once(loop, slot_opening_id, out, failed);
    }
    return status;
}

/* --- the sweep ------------------------------------------------------------------ */

typedef struct {
    sr_query_t query;
    const char *arg1, *arg2;
    sr_result_t *res;
} batch_work_t;

static sr_status_t batch_work(sr_db_t *db, void *baton)
{
    batch_work_t *w = baton;

    w->res =
        w->arg2 ? sr_db_select(db, w->query, SR_ARGS(w->arg1, w->arg2)) : sr_db_select(db, w->query, SR_ARGS(w->arg1));
    return w->res ? SR_OK : SR_UNAVAILABLE;
}

static void advance_counted(sr_loop_t *loop, const char *slot_id, sr_sweep_report_t *report)
{
    sr_advance_t adv = {0};

    if (sr_offer_loop_advance(loop, slot_id, &adv) != SR_OK) {
        return;
    }
    report->slots_advanced += adv.action == SR_ADVANCE_OFFERED;
    report->slots_expired += adv.action == SR_ADVANCE_EXPIRED;
    report->offers_sent += adv.sms_sent;
}

sr_status_t sr_offer_loop_sweep(sr_loop_t *loop, sr_sweep_report_t *report)
{
    apr_pool_t *p = loop->pool;
    apr_hash_t *slots = apr_hash_make(p);
    apr_hash_index_t *hi;
    apr_array_header_t *failed = apr_array_make(p, 4, sizeof(const char *));
    batch_work_t w;
    int i, sent;

    memset(report, 0, sizeof(*report));

    /* 1. Offers past their expiry: expire in batches, then move their slots on. */
    do {
        w = (batch_work_t){SR_Q_LOOP_EXPIRE_DUE_OFFERS, apr_itoa(p, SR_SWEEP_BATCH), NULL, NULL};
        if (sr_db_transaction(loop->db, batch_work, &w) != SR_OK) {
            return SR_UNAVAILABLE;
        }
        report->offers_expired += w.res->nrows;
        for (i = 0; i < w.res->nrows; i++) {
            const char *id = sr_result_get(w.res, i, "slot_opening_id");

            apr_hash_set(slots, id, APR_HASH_KEY_STRING, id);
        }
    } while (w.res->nrows == SR_SWEEP_BATCH);
    for (hi = apr_hash_first(p, slots); hi; hi = apr_hash_next(hi)) {
        advance_counted(loop, apr_hash_this_val(hi), report);
    }

    /* 2. Offers whose SMS is due (again): Twilio was down, or quiet hours ended. */
    while ((sent = send_due_offers(loop, NULL, failed, NULL)) > 0) {
        report->offers_sent += sent;
    }
    report->offers_failed += failed->nelts;
    for (i = 0; i < failed->nelts; i++) {
        advance_counted(loop, APR_ARRAY_IDX(failed, i, const char *), report);
    }

    /* 3. Deposits whose PaymentIntent Stripe has not answered yet. */
    while (sr_payments_charge_due(loop, NULL, NULL) > 0) {
    }

    /* 4. Open slots left without a live offer, and slots too close to their start. */
    w = (batch_work_t){SR_Q_LOOP_SLOTS_TO_ADVANCE, seconds_arg(p, loop->conf->offer_cutoff),
                       apr_itoa(p, SR_SWEEP_BATCH), NULL};
    if (sr_db_read(loop->db, batch_work, &w) != SR_OK) {
        return SR_UNAVAILABLE;
    }
    for (i = 0; i < w.res->nrows; i++) {
        advance_counted(loop, sr_result_get(w.res, i, "id"), report);
    }
    return SR_OK;
}

typedef struct {
    const char *sid, *status, *error_code;
    sr_result_t *res;
} delivery_work_t;

static sr_status_t delivery_work(sr_db_t *db, void *baton)
{
    delivery_work_t *w = baton;

    w->res = sr_db_select(db, SR_Q_LOOP_DELIVERY_STATUS,
                          SR_ARGS(w->status, w->status, w->status, w->status, w->error_code, w->sid));
    return w->res ? SR_OK : SR_UNAVAILABLE;
}

sr_status_t sr_offer_loop_delivery_report(sr_loop_t *loop, const char *message_sid, const char *status,
                                          const char *error_code)
{
    delivery_work_t w = {message_sid, status, error_code, NULL};
    sr_status_t rc = sr_db_transaction(loop->db, delivery_work, &w);
    sr_advance_t adv = {0};

    if (rc != SR_OK) {
        return rc;
    }
    if (w.res->nrows == 0) {
        return SR_NOT_FOUND;
    }
    if (!strcmp(sr_result_get(w.res, 0, "status"), "failed")) {
        /* Not an error if the loop has moved on already: advancing is idempotent. */
        sr_offer_loop_advance(loop, sr_result_get(w.res, 0, "slot_opening_id"), &adv);
    }
    return SR_OK;
}
