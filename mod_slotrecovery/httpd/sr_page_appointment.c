/* SPDX-License-Identifier: Apache-2.0 */
/* GET /app/appointments/{id}: one appointment, with its Cancel form; POST /app/appointments/{id}/cancel. */
#include "sr_format.h"
#include "sr_page.h"
#include "sr_slots.h"

/*
 * The booking page's refunds, of the signed-in user's shop only: the
 * payment's own, then those of second PaymentIntents (payment_intent_id).
 */
static const sr_statement_t stmt_dash_refund = {
    "sr_dash_refund",
    "SELECT r.status AS status, r.amount AS amount, r.currency AS currency, "
    "r.stripe_refund_id AS stripe_refund_id, r.last_error AS last_error, "
    "r.payment_intent_id AS payment_intent_id "
    "FROM refunds r JOIN payments p ON p.id = r.payment_id "
    "JOIN appointments a ON a.id = p.appointment_id "
    "WHERE a.id = %s::bigint AND a.shop_id = %s::bigint "
    "ORDER BY r.payment_intent_id IS NOT NULL, r.id",
    "status,amount,currency,stripe_refund_id,last_error,payment_intent_id"};
static sr_result_t *q_dash_refund(sr_db_t *db, const char *appointment_id, const char *shop_id)
{
    return sr_db_select(db, &stmt_dash_refund, SR_ARGS(appointment_id, shop_id));
}

static const sr_statement_t stmt_dash_appointment = {
    "sr_dash_appointment",
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
    "WHERE a.id = %s::bigint AND a.shop_id = %s::bigint",
    "id,status,starts,ends,created,customer,phone,email,slot_opening_id,payment_status,payment_amount,payment_currency,"
    "payment_intent,payment_error,payment_flag"};
static sr_result_t *q_dash_appointment(sr_db_t *db, const char *appointment_id, const char *shop_id)
{
    return sr_db_select(db, &stmt_dash_appointment, SR_ARGS(appointment_id, shop_id));
}

static sr_status_t appointment_detail_work(sr_db_t *db, void *baton)
{
    detail_work_t *w = baton;

    w->main = q_dash_appointment(db, w->id, w->d->shop_id);
    w->rows = q_dash_refund(db, w->id, w->d->shop_id);
    return w->main && w->rows ? SR_OK : SR_UNAVAILABLE;
}

int sr_dashboard_appointment(sr_req_t *req)
{
    request_rec *r = req->r;
    detail_work_t w;
    dash_t d;
    const sr_result_t *m;
    const char *slot, *amount, *status;
    int i, rc = sr_page_load_detail(req, &d, &w, appointment_detail_work, "appointment");

    if (rc != OK) {
        return rc;
    }
    m = w.main;
    slot = sr_result_get(m, 0, "slot_opening_id");
    amount = sr_result_get(m, 0, "payment_amount");
    status = sr_result_get(m, 0, "status");
    sr_page_detail_begin(r, &d, apr_pstrcat(r->pool, "Appointment ", req->id, (char *)NULL));
    ap_rputs("<h1>", r);
    sr_html_text(r, slot ? "Recovered booking " : "Appointment ");
    sr_html_text(r, req->id);
    ap_rputs(" ", r);
    sr_html_badge(r, status);
    ap_rputs("</h1>\n<table class=\"fields\">\n", r);
    sr_page_field_row(r, "Time", sr_page_time_range(r->pool, m, 0));
    sr_page_field_row(r, "Customer", sr_result_get(m, 0, "customer"));
    sr_page_field_row(r, "Phone", sr_result_get(m, 0, "phone"));
    sr_page_field_row(r, "Email", sr_result_get(m, 0, "email"));
    sr_page_field_row(r, "Status", status);
    sr_page_field_row(r, "Booked", sr_result_get(m, 0, "created"));
    ap_rputs("<tr><th>Payment</th><td>", r);
    if (amount) {
        sr_html_badge(r, sr_result_get(m, 0, "payment_status"));
        ap_rputs(" ", r);
        sr_html_text(r, sr_format_money(r->pool, amount, sr_result_get(m, 0, "payment_currency")));
    }
    else {
        sr_html_text(r, NULL);
    }
    ap_rputs("</td></tr>\n", r);
    if (amount) {
        sr_page_field_row(r, "Stripe PaymentIntent", sr_result_get(m, 0, "payment_intent"));
        if (sr_result_get(m, 0, "payment_error")) {
            sr_page_field_row(r, "Payment error", sr_result_get(m, 0, "payment_error"));
        }
        if (sr_result_get(m, 0, "payment_flag")) {
            sr_page_field_row(r, "Needs attention", sr_result_get(m, 0, "payment_flag"));
        }
    }
    for (i = 0; i < w.rows->nrows; i++) {
        /* A deposit given back automatically: its status, amount, Stripe's id and why it failed, if it did. */
        const sr_result_t *f = w.rows;
        const char *refund_id = sr_result_get(f, i, "stripe_refund_id"), *error = sr_result_get(f, i, "last_error");
        const char *second = sr_result_get(f, i, "payment_intent_id");

        /* A second PaymentIntent charged for the same deposit: the page names it, it is not the one above. */
        ap_rputs(second ? "<tr><th>Refund of a second PaymentIntent</th><td>" : "<tr><th>Refund</th><td>", r);
        sr_html_badge(r, sr_result_get(f, i, "status"));
        ap_rputs(" ", r);
        sr_html_text(r, sr_format_money(r->pool, sr_result_get(f, i, "amount"), sr_result_get(f, i, "currency")));
        if (refund_id) {
            ap_rputs(" ", r);
            sr_html_text(r, refund_id);
        }
        if (second) {
            ap_rputs(" ", r);
            sr_html_text(r, apr_pstrcat(r->pool, "of ", second, (char *)NULL));
        }
        if (error) {
            ap_rputs(" ", r);
            sr_html_text(r, apr_pstrcat(r->pool, "(", error, ")", (char *)NULL));
        }
        ap_rputs("</td></tr>\n", r);
    }
    ap_rputs("<tr><th>Recovered from</th><td>", r);
    if (slot) {
        sr_html_link(r, sr_page_url(&d, apr_pstrcat(r->pool, "/slot-openings/", slot, (char *)NULL)),
                     apr_pstrcat(r->pool, "Slot opening ", slot, (char *)NULL));
    }
    else {
        sr_html_text(r, NULL);
    }
    ap_rputs("</td></tr>\n</table>\n", r);
    if (strcmp(status, "cancelled")) {
        sr_page_cancel_form(r, &d, req->id);
    }
    sr_html_end(r);
    return OK;
}

/* --- POST /app/appointments/{id}/cancel -------------------------------------------------- */

int sr_dashboard_cancel(sr_req_t *req)
{
    request_rec *r = req->r;
    apr_array_header_t *params = NULL;
    const char *token = NULL;
    sr_cancellation_t c = {0};
    sr_status_t status;
    sr_csrf_t csrf;
    detail_work_t w;
    sr_ctx_t ctx;
    dash_t d;
    int rc = sr_page_load_detail(req, &d, &w, appointment_detail_work, "appointment");

    if (rc != OK) {
        return rc;
    }
    if (!d.csrf_key) {
        return sr_page_error(req, HTTP_SERVICE_UNAVAILABLE,
                             "Cancelling from the dashboard needs the database's CSRF key (run scripts/migrate).");
    }
    if ((rc = sr_read_form(req, &params)) != OK) {
        return rc;
    }
    token = sr_form_get(params, "csrf");
    if ((csrf = sr_page_csrf_check(&d, token)) != SR_CSRF_OK) {
        return sr_page_error(req, HTTP_FORBIDDEN,
                             csrf == SR_CSRF_STALE ? "The form has expired. Reload the page and try again."
                                                   : "The form has expired or did not come from this dashboard.");
    }
    sr_ctx_for_request(&ctx, r, req->conf, d.db);
    status = sr_slots_cancel_and_offer(&ctx, req->id, sr_public_prefix(req), &c);
    if (status != SR_OK) {
        return sr_page_error(req, sr_status_to_http(status), "The appointment could not be cancelled.");
    }
    apr_table_setn(r->headers_out, "Location", sr_page_url(&d, "/appointments"));
    return HTTP_SEE_OTHER;
}

const sr_statement_t *const sr_page_appointment_statements[] = {&stmt_dash_refund, &stmt_dash_appointment, NULL};
