/* SPDX-License-Identifier: Apache-2.0 */
/* GET /app/appointments: upcoming appointments, the Slot Recovery figures and the filtered slot openings. */
#include "sr_format.h"
#include "sr_page.h"

#define SR_PAGE_SIZE 20

typedef struct {
    dash_t *d;
    const sr_filter_t *f;
    sr_result_t *upcoming, *figures, *slots;
} list_work_t;

static const sr_statement_t stmt_dash_upcoming = {
    "sr_dash_upcoming",
    "SELECT a.id::text AS id, "
    "to_char(a.starts_at AT TIME ZONE s.timezone, 'Dy DD Mon YYYY HH24:MI') AS starts, "
    "to_char(a.ends_at AT TIME ZONE s.timezone, 'HH24:MI') AS ends, a.status AS status, "
    "c.name AS customer, a.source_slot_opening_id::text AS slot_opening_id "
    "FROM appointments a JOIN customers c ON c.id = a.customer_id "
    "JOIN shops s ON s.id = a.shop_id "
    "WHERE a.shop_id = %s::bigint AND a.starts_at >= now() AND a.status <> 'cancelled' "
    "ORDER BY a.starts_at, a.id LIMIT 50",
    "id,starts,ends,status,customer,slot_opening_id"};
static sr_result_t *q_dash_upcoming(sr_db_t *db, const char *shop_id)
{
    return sr_db_select(db, &stmt_dash_upcoming, SR_ARGS(shop_id));
}

/*
 * Deposits by a subquery per filled opening: as a join, the planner
 * hashed the whole payments table (18 ms at 50,000 payments) instead
 * of probing its unique index (3 ms).
 */
static const sr_statement_t stmt_dash_figures = {
    "sr_dash_figures",
    "SELECT count(*) AS opened, count(*) FILTER (WHERE o.status = 'filled') AS filled, "
    "count(*) FILTER (WHERE o.status = 'expired') AS expired, "
    "round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM "
    "o.filled_at - o.created_at)) FILTER (WHERE o.status = 'filled'))::bigint "
    "AS median_fill_seconds, "
    "COALESCE(sum(CASE WHEN o.status = 'filled' THEN (SELECT p.amount FROM payments p "
    "WHERE p.appointment_id = o.filled_by_appointment_id AND p.status = 'succeeded') END), 0) "
    "AS deposits "
    "FROM slot_openings o JOIN shops s ON s.id = o.shop_id "
    "WHERE o.shop_id = %s::bigint " SR_SLOT_FILTERS,
    "opened,filled,expired,median_fill_seconds,deposits"};
static sr_result_t *q_dash_figures(sr_db_t *db, const char *shop_id, const char *status, const char *from,
                                   const char *to)
{
    return sr_db_select(db, &stmt_dash_figures, SR_ARGS(shop_id, status, status, from, from, to, to));
}

static const sr_statement_t stmt_dash_slot_list = {
    "sr_dash_slot_list",
    "SELECT o.id::text AS id, "
    "to_char(o.starts_at AT TIME ZONE s.timezone, 'Dy DD Mon YYYY HH24:MI') AS starts, "
    "to_char(o.ends_at AT TIME ZONE s.timezone, 'HH24:MI') AS ends, o.status AS status, "
    "to_char(o.created_at AT TIME ZONE s.timezone, 'DD Mon YYYY HH24:MI') AS created, "
    "o.filled_by_appointment_id::text AS booking_id, "
    "(o.status = 'open' AND o.waiting_since IS NOT NULL) AS waiting "
    "FROM slot_openings o JOIN shops s ON s.id = o.shop_id "
    "WHERE o.shop_id = %s::bigint " SR_SLOT_FILTERS
    "ORDER BY o.created_at DESC, o.id DESC LIMIT %s::integer OFFSET %s::integer",
    "id,starts,ends,status,created,booking_id,waiting"};
static sr_result_t *q_dash_slot_list(sr_db_t *db, const char *shop_id, const char *status, const char *from,
                                     const char *to, const char *limit, const char *offset)
{
    return sr_db_select(db, &stmt_dash_slot_list, SR_ARGS(shop_id, status, status, from, from, to, to, limit, offset));
}

static sr_status_t list_work(sr_db_t *db, void *baton)
{
    list_work_t *w = baton;
    const sr_filter_t *f = w->f;
    apr_pool_t *p = sr_db_pool(db);
    const char *shop = w->d->shop_id;

    w->upcoming = q_dash_upcoming(db, shop);
    /* The figures cover the chosen dates, whatever the status filter. */
    w->figures = q_dash_figures(db, shop, NULL, f->from, f->to);
    /* One row more than a page says whether there is a next page. */
    w->slots = q_dash_slot_list(db, shop, f->status, f->from, f->to, apr_itoa(p, SR_PAGE_SIZE + 1),
                                apr_itoa(p, (f->page - 1) * SR_PAGE_SIZE));
    return sr_db_failed(db) ? SR_UNAVAILABLE : SR_OK;
}

static void render_figures(request_rec *r, const dash_t *d, const sr_result_t *fig)
{
    apr_int64_t opened = apr_atoi64(sr_result_get(fig, 0, "opened"));
    apr_int64_t filled = apr_atoi64(sr_result_get(fig, 0, "filled"));
    const char *median = sr_result_get(fig, 0, "median_fill_seconds");
    const char *rate =
        opened ? apr_psprintf(r->pool, "%" APR_INT64_T_FMT "%%", (filled * 100 + opened / 2) / opened) : NULL;
    const struct {
        const char *label, *value;
    } cards[] = {
        {"Slots opened", sr_result_get(fig, 0, "opened")},
        {"Filled", sr_result_get(fig, 0, "filled")},
        {"Expired", sr_result_get(fig, 0, "expired")},
        {"Recovery rate", rate},
        {"Median time to fill", median ? sr_format_duration(r->pool, apr_atoi64(median)) : NULL},
        {"Deposits collected", sr_format_money(r->pool, sr_result_get(fig, 0, "deposits"), d->currency)},
    };
    apr_size_t i;

    ap_rputs("<dl class=\"figures\">\n", r);
    for (i = 0; i < sizeof(cards) / sizeof(cards[0]); i++) {
        ap_rputs("<div><dt>", r);
        sr_html_text(r, cards[i].label);
        ap_rputs("</dt><dd>", r);
        sr_html_text(r, cards[i].value);
        ap_rputs("</dd></div>\n", r);
    }
    ap_rputs("</dl>\n", r);
}

static void render_filters(request_rec *r, const dash_t *d, const sr_filter_t *f)
{
    static const char *const statuses[] = {"open", "filled", "expired"};
    apr_size_t i;

    ap_rvputs(r, "<form class=\"filters\" method=\"get\" action=\"",
              sr_html_escape(r->pool, sr_page_url(d, "/appointments")),
              "\">\n<label>Status <select name=\"status\"><option value=\"\">any</option>", (char *)NULL);
    for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        ap_rvputs(r, "<option", f->status && !strcmp(f->status, statuses[i]) ? " selected" : "", ">", statuses[i],
                  "</option>", (char *)NULL);
    }
    ap_rvputs(r, "</select></label>\n<label>From <input type=\"date\" name=\"from\" value=\"",
              f->from ? sr_html_escape(r->pool, f->from) : "",
              "\"></label>\n<label>To <input type=\"date\" name=\"to\" value=\"",
              f->to ? sr_html_escape(r->pool, f->to) : "", "\"></label>\n<button type=\"submit\">Apply</button>\n",
              (char *)NULL);
    sr_html_link(r,
                 apr_pstrcat(r->pool, sr_page_url(d, "/slot-openings.csv?"), sr_filter_query(r->pool, f), (char *)NULL),
                 "Export CSV");
    ap_rputs("\n</form>\n", r);
}

static void render_upcoming(request_rec *r, const dash_t *d, const sr_result_t *res)
{
    int i;

    ap_rputs("<section>\n<h2>Upcoming appointments</h2>\n", r);
    if (res->nrows == 0) {
        ap_rputs("<p class=\"empty\">No upcoming appointments</p>\n</section>\n", r);
        return;
    }
    ap_rputs("<table>\n<thead><tr><th>When</th><th>Customer</th><th>Status</th><th></th></tr></thead>\n<tbody>\n", r);
    for (i = 0; i < res->nrows; i++) {
        const char *id = sr_result_get(res, i, "id");

        ap_rputs("<tr><td>", r);
        sr_html_text(r, sr_page_time_range(r->pool, res, i));
        ap_rputs("</td><td>", r);
        sr_html_text(r, sr_result_get(res, i, "customer"));
        ap_rputs("</td><td>", r);
        sr_html_badge(r, sr_result_get(res, i, "status"));
        ap_rputs("</td><td class=\"actions\">", r);
        sr_html_link(r, sr_page_url(d, apr_pstrcat(r->pool, "/appointments/", id, (char *)NULL)), "View");
        sr_page_cancel_form(r, d, id);
        ap_rputs("</td></tr>\n", r);
    }
    ap_rputs("</tbody>\n</table>\n</section>\n", r);
}

static void render_slot_openings(request_rec *r, const dash_t *d, const sr_filter_t *f, const sr_result_t *res)
{
    int i, rows = res->nrows > SR_PAGE_SIZE ? SR_PAGE_SIZE : res->nrows;
    const char *query = sr_filter_query(r->pool, f);

    if (rows == 0) {
        ap_rputs(f->page > 1 || f->status || f->from || f->to ? "<p class=\"empty\">No slot openings match</p>\n"
                                                              : "<p class=\"empty\">No slot openings yet</p>\n",
                 r);
    }
    else {
        ap_rputs("<table class=\"slots\">\n<thead><tr><th>Time</th><th>Status</th><th>Created</th>"
                 "<th>Booking</th><th></th></tr></thead>\n<tbody>\n",
                 r);
        for (i = 0; i < rows; i++) {
            const char *id = sr_result_get(res, i, "id");
            const char *booking = sr_result_get(res, i, "booking_id");

            ap_rputs("<tr><td>", r);
            sr_html_text(r, sr_page_time_range(r->pool, res, i));
            ap_rputs("</td><td>", r);
            sr_html_badge(r, sr_result_get(res, i, "status"));
            if (sr_result_bool(res, i, "waiting")) {
                ap_rputs(" <span class=\"waiting\">" SR_WAITING_TEXT "</span>", r);
            }
            ap_rputs("</td><td>", r);
            sr_html_text(r, sr_result_get(res, i, "created"));
            ap_rputs("</td><td>", r);
            if (booking) {
                sr_html_link(r, sr_page_url(d, apr_pstrcat(r->pool, "/appointments/", booking, (char *)NULL)),
                             "View booking");
            }
            else {
                sr_html_text(r, NULL);
            }
            ap_rputs("</td><td>", r);
            sr_html_link(r, sr_page_url(d, apr_pstrcat(r->pool, "/slot-openings/", id, (char *)NULL)), "Details");
            ap_rputs("</td></tr>\n", r);
        }
        ap_rputs("</tbody>\n</table>\n", r);
    }
    ap_rputs("<nav class=\"pages\">", r);
    if (f->page > 1) {
        sr_html_link(r, apr_psprintf(r->pool, "%s?%s&page=%d", sr_page_url(d, "/appointments"), query, f->page - 1),
                     "\xe2\x86\x90 Newer");
    }
    if (res->nrows > SR_PAGE_SIZE) {
        sr_html_link(r, apr_psprintf(r->pool, "%s?%s&page=%d", sr_page_url(d, "/appointments"), query, f->page + 1),
                     "Older \xe2\x86\x92");
    }
    ap_rputs("</nav>\n", r);
}

int sr_dashboard_appointments(sr_req_t *req)
{
    request_rec *r = req->r;
    sr_filter_t f;
    dash_t d;
    list_work_t w;
    int rc = sr_page_open_filtered(req, &d, &f);

    if (rc != OK) {
        return rc;
    }
    memset(&w, 0, sizeof(w));
    w.d = &d;
    w.f = &f;
    if (sr_db_read(d.db, list_work, &w) != SR_OK) {
        return sr_page_error(req, HTTP_SERVICE_UNAVAILABLE, "The database is unavailable. Try again shortly.");
    }
    sr_html_begin(r, req->mount, "Appointments", d.shop_name);
    sr_page_notices(r, &d);
    render_upcoming(r, &d, w.upcoming);
    ap_rputs("<section>\n<h2>Slot Recovery</h2>\n", r);
    render_figures(r, &d, w.figures);
    render_filters(r, &d, &f);
    render_slot_openings(r, &d, &f, w.slots);
    ap_rputs("</section>\n", r);
    sr_html_end(r);
    return OK;
}

const sr_statement_t *const sr_page_appointments_statements[] = {&stmt_dash_upcoming, &stmt_dash_figures,
                                                                 &stmt_dash_slot_list, NULL};
