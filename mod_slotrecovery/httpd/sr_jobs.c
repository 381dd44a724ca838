/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Job endpoints: the offer loop, the sweep and the worker, on demand (cron,
 * drills, tests). These are the worker's own work run in the request, so they
 * are the only requests that wait on Twilio or Stripe; every other request
 * only writes rows for the worker.
 */
#include "sr_jobs.h"
#include "sr_offer_loop.h"
#include "sr_validate.h"
#include "sr_worker.h"

static const char *action_name(sr_advance_action_t action)
{
    switch (action) {
    case SR_ADVANCE_OFFERED:
        return "offered";
    case SR_ADVANCE_EXPIRED:
        return "expired";
    default:
        return "noop";
    }
}

int sr_jobs_offer_loop(sr_req_t *req)
{
    sr_json_t *body = NULL, *doc;
    sr_fields_t f;
    const char *slot_id = NULL;
    sr_advance_t adv = {0};
    sr_ctx_t ctx;
    sr_db_t *db;
    sr_status_t status;
    int rc = sr_read_json_object(req, &body);

    if (rc != OK) {
        return rc;
    }
    sr_fields_init(&f, req->r->pool, body);
    if (!sr_field_id(&f, "slotOpeningId", 1, &slot_id)) {
        return sr_send_error(req, HTTP_BAD_REQUEST, "%s", f.error);
    }
    if (!(db = sr_db_acquire(req->r))) {
        return sr_send_status(req, SR_UNAVAILABLE, NULL);
    }
    sr_ctx_for_request(&ctx, req->r, req->conf, db);
    status = sr_offer_loop_advance(&ctx, slot_id, &adv);
    if (status != SR_OK) {
        return sr_send_status(req, status, "slot opening");
    }
    /* The offer it made is sent now, as the answer says (smsSent, sendError); later tries are the worker's. */
    if (adv.action == SR_ADVANCE_OFFERED) {
        sr_offer_loop_send_offer(&ctx, adv.offer_id, &adv);
    }
    doc = sr_json_object(req->r->pool);
    sr_json_set_string(doc, "slotOpeningId", slot_id);
    sr_json_set_string(doc, "action", action_name(adv.action));
    sr_json_set_string(doc, "reason", adv.reason);
    sr_json_set_string(doc, "offerId", adv.offer_id);
    sr_json_set_string(doc, "customerId", adv.customer_id);
    sr_json_set_bool(doc, "smsSent", adv.sms_sent);
    sr_json_set_string(doc, "sendError", adv.send_error);
    return sr_send_json(req, HTTP_OK, doc);
}

/* A job without a body: the request's context with a database connection, else the answer sent. */
static int bodiless_job_context(sr_req_t *req, sr_ctx_t *ctx)
{
    sr_db_t *db;
    int rc = ap_discard_request_body(req->r);

    if (rc != OK) {
        return rc;
    }
    if (!(db = sr_db_acquire(req->r))) {
        return sr_send_status(req, SR_UNAVAILABLE, NULL);
    }
    sr_ctx_for_request(ctx, req->r, req->conf, db);
    return OK;
}

int sr_jobs_sweep(sr_req_t *req)
{
    sr_sweep_report_t report;
    sr_worker_report_t work;
    sr_json_t *doc;
    sr_ctx_t ctx;
    int rc = bodiless_job_context(req, &ctx);

    if (rc != OK) {
        return rc;
    }
    /* The sweep, then what it made due: one call does what the watchdog's sweep and worker do. */
    if (sr_offer_loop_sweep(&ctx, &report) != SR_OK || sr_worker_run(&ctx, SR_WORKER_BUDGET, &work) != SR_OK) {
        return sr_send_status(req, SR_UNAVAILABLE, NULL);
    }
    report.offers_sent += work.offers.offers_sent;
    report.offers_failed += work.offers.offers_failed;
    report.slots_advanced += work.offers.slots_advanced;
    report.slots_expired += work.offers.slots_expired;
    doc = sr_json_object(req->r->pool);
    sr_json_set_int(doc, "offersExpired", report.offers_expired);
    sr_json_set_int(doc, "offersSent", report.offers_sent);
    sr_json_set_int(doc, "offersFailed", report.offers_failed);
    sr_json_set_int(doc, "slotsAdvanced", report.slots_advanced);
    sr_json_set_int(doc, "slotsExpired", report.slots_expired);
    return sr_send_json(req, HTTP_OK, doc);
}

int sr_jobs_outbox(sr_req_t *req)
{
    sr_worker_report_t work;
    sr_json_t *doc;
    sr_ctx_t ctx;
    int rc = bodiless_job_context(req, &ctx);

    if (rc != OK) {
        return rc;
    }
    if (sr_worker_run(&ctx, SR_WORKER_BUDGET, &work) != SR_OK) {
        return sr_send_status(req, SR_UNAVAILABLE, NULL);
    }
    doc = sr_json_object(req->r->pool);
    sr_json_set_int(doc, "offersSent", work.offers.offers_sent);
    sr_json_set_int(doc, "offersFailed", work.offers.offers_failed);
    sr_json_set_int(doc, "slotsAdvanced", work.offers.slots_advanced);
    sr_json_set_int(doc, "slotsExpired", work.offers.slots_expired);
    sr_json_set_int(doc, "payments", work.payments);
    sr_json_set_int(doc, "refunds", work.refunds);
    sr_json_set_int(doc, "notifications", work.notifications);
    return sr_send_json(req, HTTP_OK, doc);
}
