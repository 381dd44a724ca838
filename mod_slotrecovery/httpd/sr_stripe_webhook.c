/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stripe webhook. An event that acts is recorded by id in the same
 * transaction as what it changes, so a redelivery finds it and does nothing;
 * 200 is only answered once that transaction committed, 503 when PostgreSQL
 * is away (Stripe retries). An event that changes nothing (a type we do not
 * use, an intent that is not ours) is answered without a write.
 */
#include "sr_json.h"
#include "sr_offer_loop.h"
#include "sr_payments.h"
#include "sr_stripe.h"
#include "sr_stripe_webhook.h"

typedef struct {
    const char *event_id;
    const char *type;
    const char *intent_id;
    const char *failure_message;
    const sr_stripe_event_t *event;
    const char *mismatch;   /* why an intent naming our payment is not ours */
    const char *payment_id; /* ours, found by the read before the transaction */
    const char *slot_id;    /* its booking's slot opening */
    sr_payment_change_t change;
    int duplicate;
} event_work_t;

static const sr_statement_t stmt_stripe_event_claim = {
    "sr_stripe_event_claim",
    "INSERT INTO stripe_events (id, type, payment_intent_id, outcome) "
    "VALUES (%s, %s, %s, 'received') ON CONFLICT (id) DO NOTHING RETURNING id",
    "id"};
static sr_result_t *q_stripe_event_claim(sr_db_t *db, const char *event_id, const char *type, const char *intent_id)
{
    return sr_db_select(db, &stmt_stripe_event_claim, SR_ARGS(event_id, type, intent_id));
}

static const sr_statement_t stmt_stripe_event_record = {
    "sr_stripe_event_record", "UPDATE stripe_events SET outcome = %s, payment_id = %s::bigint WHERE id = %s", NULL};
static int q_stripe_event_record(sr_db_t *db, const char *outcome, const char *payment_id, const char *event_id)
{
    return sr_db_exec(db, &stmt_stripe_event_record, SR_ARGS(outcome, payment_id, event_id));
}

static const char *not_ours_outcome(apr_pool_t *p, const char *mismatch)
{
    return mismatch ? apr_pstrcat(p, "ignored: not a slot-recovery payment (", mismatch, ")", (char *)NULL)
                    : "ignored: not a slot-recovery payment";
}

static sr_status_t event_work(sr_db_t *db, void *baton)
{
    event_work_t *w = baton;
    sr_result_t *res;
    sr_status_t status;
    int failed = !strcmp(w->type, "payment_intent.payment_failed");

    memset(&w->change, 0, sizeof(w->change));
    w->duplicate = 0;
    res = q_stripe_event_claim(db, w->event_id, w->type, w->intent_id);
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        w->duplicate = 1;
        return SR_OK;
    }
    /*
     * The payment the read before found; the lock checks its intent is still this one (other_intent): if
     * not, a failure changes nothing and a success is a second intent's, refunded (sr_payment_succeed).
     */
    if (failed) {
        status = sr_payment_fail(db, w->payment_id, w->slot_id, w->intent_id, w->failure_message, &w->change);
    }
    else {
        status = sr_payment_succeed(db, w->payment_id, w->slot_id, w->intent_id, &w->change);
    }
    if (status != SR_OK) {
        return status;
    }
    return q_stripe_event_record(db, w->change.outcome, w->change.other_intent ? NULL : w->payment_id, w->event_id) < 0
               ? SR_UNAVAILABLE
               : SR_OK;
}

/* An event for a PaymentIntent that is not ours: read only, nothing to record. */
static sr_status_t lookup_work(sr_db_t *db, void *baton)
{
    event_work_t *w = baton;

    return sr_payment_find(db, w->event, &w->payment_id, &w->slot_id, &w->mismatch);
}

int sr_stripe_webhook(sr_req_t *req)
{
    request_rec *r = req->r;
    const char *body, *problem;
    apr_size_t len;
    sr_stripe_event_t event;
    event_work_t w;
    sr_json_t *doc;
    sr_db_t *db = NULL;
    sr_status_t status;
    int rc;

    if (!req->conf->stripe_webhook_secret) {
        return sr_send_error(req, HTTP_SERVICE_UNAVAILABLE,
                             "Stripe webhook disabled: SlotRecoveryStripeWebhookSecret is not configured");
    }
    if ((rc = sr_read_body(req, &body, &len)) != OK) {
        return rc;
    }
    problem = sr_stripe_signature_problem(r->pool, req->conf->stripe_webhook_secret,
                                          apr_table_get(r->headers_in, "Stripe-Signature"), body, len,
                                          req->conf->stripe_webhook_tolerance, apr_time_now());
    if (problem) {
        return sr_send_error(req, HTTP_BAD_REQUEST, "%s", problem);
    }
    memset(&w, 0, sizeof(w));
    if ((problem = sr_stripe_parse_event(r->pool, body, len, &event))) {
        return sr_send_error(req, HTTP_BAD_REQUEST, "%s", problem);
    }
    w.event_id = event.id;
    w.type = event.type;
    w.intent_id = event.intent_id;
    w.failure_message = event.failure_message;
    w.event = &event;
    /*
     * Only an event that acts is recorded (exactly once, in the transaction
     * of what it changes). A type we do not use, or an intent that is not
     * ours, changes nothing: it is answered without a write (issue 13), and a
     * redelivery gets the same answer.
     */
    if (strcmp(w.type, "payment_intent.payment_failed") && strcmp(w.type, "payment_intent.succeeded")) {
        w.change.outcome = "ignored: event type not used";
    }
    else if (!(db = sr_db_acquire(r))) {
        return sr_send_status(req, SR_UNAVAILABLE, NULL);
    }
    else if ((status = sr_db_read(db, lookup_work, &w)) != SR_OK) {
        return sr_send_status(req, status, "event");
    }
    else if (!w.payment_id) {
        w.change.outcome = not_ours_outcome(r->pool, w.mismatch);
    }
    else if ((status = sr_db_transaction(db, event_work, &w)) != SR_OK) {
        return sr_send_status(req, status, "event");
    }
    else if (w.change.other_intent) {
        /* A failure found by metadata before the read, its own intent recorded by the time of the lock. */
        w.mismatch = "its payment has another PaymentIntent";
    }
    if (w.mismatch) {
        /* Another integration on the account, or an intent someone made to look like ours. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      SR_LOG_PREFIX "Stripe event %s for %s ignored: not this installation's PaymentIntent (%s)",
                      w.event_id, w.intent_id ? w.intent_id : "(no id)", w.mismatch);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SR_LOG_PREFIX "Stripe event %s (%s)%s: %s", w.event_id, w.type,
                  w.intent_id ? apr_pstrcat(r->pool, " for ", w.intent_id, (char *)NULL) : "",
                  w.duplicate ? "already handled" : w.change.outcome);
    if (w.change.reopened_slot_id) {
        sr_ctx_t ctx;
        sr_advance_t adv = {0};

        /* Committed: the slot goes to the next customer on the waitlist. */
        sr_ctx_for_request(&ctx, r, req->conf, db);
        sr_offer_loop_advance(&ctx, w.change.reopened_slot_id, &adv);
    }
    doc = sr_json_object(r->pool);
    sr_json_set_bool(doc, "received", 1);
    sr_json_set_bool(doc, "duplicate", w.duplicate);
    sr_json_set_string(doc, "outcome", w.duplicate ? "already handled" : w.change.outcome);
    return sr_send_json(req, HTTP_OK, doc);
}

const sr_statement_t *const sr_stripe_webhook_statements[] = {&stmt_stripe_event_claim, &stmt_stripe_event_record,
                                                              NULL};
