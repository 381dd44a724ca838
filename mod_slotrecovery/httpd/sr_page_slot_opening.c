/* SPDX-License-Identifier: Apache-2.0 */
/* GET /app/slot-openings/{id}: one slot opening and its offers. */
#include "sr_page.h"

static const sr_statement_t stmt_dash_slot_detail = {
    "sr_dash_slot_detail",
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
    "WHERE o.id = %s::bigint AND o.shop_id = %s::bigint",
    "id,status,expired_reason,starts,ends,created,source_id,source_customer,booking_id,booked_customer,waiting"};
static sr_result_t *q_dash_slot_detail(sr_db_t *db, const char *slot_opening_id, const char *shop_id)
{
    return sr_db_select(db, &stmt_dash_slot_detail, SR_ARGS(slot_opening_id, shop_id));
}

static const sr_statement_t stmt_dash_slot_offers = {
    "sr_dash_slot_offers",
    "SELECT f.id::text AS id, c.name AS customer, f.status AS status, "
    "to_char(f.sent_at AT TIME ZONE s.timezone, 'DD Mon HH24:MI:SS') AS sent, "
    "to_char(f.expires_at AT TIME ZONE s.timezone, 'DD Mon HH24:MI:SS') AS expires, "
    "f.attempts AS attempts, f.last_error AS last_error "
    "FROM slot_offers f JOIN customers c ON c.id = f.customer_id "
    "JOIN slot_openings o ON o.id = f.slot_opening_id JOIN shops s ON s.id = o.shop_id "
    "WHERE f.slot_opening_id = %s::bigint AND o.shop_id = %s::bigint ORDER BY f.id",
    "id,customer,status,sent,expires,attempts,last_error"};
static sr_result_t *q_dash_slot_offers(sr_db_t *db, const char *slot_opening_id, const char *shop_id)
{
    return sr_db_select(db, &stmt_dash_slot_offers, SR_ARGS(slot_opening_id, shop_id));
}

static sr_status_t slot_detail_work(sr_db_t *db, void *baton)
{
    detail_work_t *w = baton;

    w->main = q_dash_slot_detail(db, w->id, w->d->shop_id);
    w->rows = q_dash_slot_offers(db, w->id, w->d->shop_id);
    return sr_db_failed(db) ? SR_UNAVAILABLE : SR_OK;
}

int sr_dashboard_slot_opening(sr_req_t *req)
{
    request_rec *r = req->r;
    detail_work_t w;
    dash_t d;
    const sr_result_t *m;
    const char *booking;
    int i, rc = sr_page_load_detail(req, &d, &w, slot_detail_work, "slot opening");

    if (rc != OK) {
        return rc;
    }
    m = w.main;
    booking = sr_result_get(m, 0, "booking_id");
    sr_page_detail_begin(r, &d, apr_pstrcat(r->pool, "Slot opening ", req->id, (char *)NULL));
    ap_rputs("<h1>Slot opening ", r);
    sr_html_text(r, req->id);
    ap_rputs(" ", r);
    sr_html_badge(r, sr_result_get(m, 0, "status"));
    ap_rputs("</h1>\n<table class=\"fields\">\n", r);
    sr_page_field_row(r, "Time", sr_page_time_range(r->pool, m, 0));
    sr_page_field_row(r, "Status", sr_result_get(m, 0, "status"));
    if (sr_result_bool(m, 0, "waiting")) {
        sr_page_field_row(r, "Waiting", SR_WAITING_TEXT ": nobody on the waitlist can take it yet");
    }
    if (sr_result_get(m, 0, "expired_reason")) {
        sr_page_field_row(r, "Why it expired", sr_result_get(m, 0, "expired_reason"));
    }
    sr_page_field_row(r, "Created", sr_result_get(m, 0, "created"));
    ap_rputs("<tr><th>Cancelled appointment</th><td>", r);
    sr_html_link(
        r, sr_page_url(&d, apr_pstrcat(r->pool, "/appointments/", sr_result_get(m, 0, "source_id"), (char *)NULL)),
        apr_pstrcat(r->pool, "#", sr_result_get(m, 0, "source_id"), " ", sr_result_get(m, 0, "source_customer"),
                    (char *)NULL));
    ap_rputs("</td></tr>\n<tr><th>Recovered booking</th><td>", r);
    if (booking) {
        sr_html_link(r, sr_page_url(&d, apr_pstrcat(r->pool, "/appointments/", booking, (char *)NULL)),
                     apr_pstrcat(r->pool, "View booking (", sr_result_get(m, 0, "booked_customer"), ")", (char *)NULL));
    }
    else {
        sr_html_text(r, NULL);
    }
    ap_rputs("</td></tr>\n</table>\n<h2>Offers</h2>\n", r);
    if (w.rows->nrows == 0) {
        ap_rputs("<p class=\"empty\">No offers sent yet</p>\n", r);
    }
    else {
        ap_rputs("<table>\n<thead><tr><th>#</th><th>Customer</th><th>Status</th><th>Sent at</th><th>Expires at</th>"
                 "<th>Attempts</th><th>Last error</th></tr></thead>\n<tbody>\n",
                 r);
        for (i = 0; i < w.rows->nrows; i++) {
            ap_rvputs(r, "<tr><td>", apr_itoa(r->pool, i + 1), "</td><td>", (char *)NULL);
            sr_html_text(r, sr_result_get(w.rows, i, "customer"));
            ap_rputs("</td><td>", r);
            sr_html_badge(r, sr_result_get(w.rows, i, "status"));
            ap_rputs("</td><td>", r);
            sr_html_text(r, sr_result_get(w.rows, i, "sent"));
            ap_rputs("</td><td>", r);
            sr_html_text(r, sr_result_get(w.rows, i, "expires"));
            ap_rputs("</td><td>", r);
            sr_html_text(r, sr_result_get(w.rows, i, "attempts"));
            ap_rputs("</td><td>", r);
            sr_html_text(r, sr_result_get(w.rows, i, "last_error"));
            ap_rputs("</td></tr>\n", r);
        }
        ap_rputs("</tbody>\n</table>\n", r);
    }
    sr_html_end(r);
    return OK;
}

const sr_statement_t *const sr_page_slot_opening_statements[] = {&stmt_dash_slot_detail, &stmt_dash_slot_offers, NULL};
