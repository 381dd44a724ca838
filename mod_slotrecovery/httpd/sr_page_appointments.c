/* SPDX-License-Identifier: Apache-2.0 */
/* GET /app/appointments: upcoming appointments, the Slot Recovery figures and the filtered slot openings. */
#include "sr_format.h"
#include "sr_page.h"

#include <util_script.h> /* after httpd.h: ap_args_to_table */

#define SR_PAGE_SIZE 20

/*
 * The whole page in one statement, one row per thing shown, in order of
 * part: 0 the shop of the login (as sr_dash_shop_for_user) with this
 * server's Twilio problem (as sr_dash_twilio_problem) and the figures, 1 the
 * upcoming appointments, 2 the page of slot openings. No shop for the login:
 * no row. The figures are migration 013's, kept by triggers as openings and
 * payments change: the counts and deposits sum the days of the date filter
 * (slot_figures_daily), so a view reads O(days), never every opening. The
 * median is percentile_cont(0.5) over the times to fill, as the scan computed
 * it: the two middle times (CTE mid: lo, hi) in seconds as double precision,
 * interpolated the same way.
 *
 * Two statements, with and without a date filter: one that had both medians
 * behind a CASE looked dear as a generic plan, so PostgreSQL planned it anew
 * at every execution (1.5 ms). The page's LIMIT is a constant for the same
 * reason (a parameter's generic estimate is a tenth of the rows).
 */
#define SR_PAGE_LIMIT_SQL "21" /* SR_PAGE_SIZE + 1: one more says there is a next page */
_Static_assert(SR_PAGE_SIZE + 1 == 21, "SR_PAGE_LIMIT_SQL is SR_PAGE_SIZE + 1");

/* Arguments: user name, server name, realm. */
#define SR_PAGE_SHOP_CTE                                                                                               \
    "WITH shop AS MATERIALIZED (SELECT s.id, s.name, s.timezone, s.currency, "                                         \
    "(SELECT i.csrf_key FROM installation i WHERE i.singleton) AS csrf_key "                                           \
    "FROM shop_users u JOIN shops s ON s.id = u.shop_id "                                                              \
    "WHERE u.username = %s AND u.server_name IN (%s, '*') AND u.realm IN (%s, '*') "                                   \
    "ORDER BY u.server_name = '*', u.realm = '*' LIMIT 1) "

/*
 * All days: the whole second that holds each middle time, from
 * slot_fill_seconds (a row per distinct second), then the exact times of
 * that second only (slot_fill_times_usec_idx).
 */
#define SR_PAGE_MEDIAN_ALL                                                                                             \
    ", sec AS (SELECT b.fill_second, b.n::bigint AS n, (sum(b.n) OVER (ORDER BY b.fill_second))::bigint AS upto, "     \
    "(sum(b.n) OVER ())::bigint AS total FROM slot_fill_seconds b, shop WHERE b.shop_id = shop.id), "                  \
    "pos AS (SELECT DISTINCT unnest(ARRAY[(t.total - 1) / 2, t.total / 2]) AS p "                                      \
    "FROM (SELECT total FROM sec LIMIT 1) t), "                                                                        \
    "val AS (SELECT (SELECT x.fill_usec FROM (SELECT t.fill_usec, sum(t.n) OVER (ORDER BY t.fill_usec) AS upto "       \
    "FROM slot_fill_times_daily t, shop WHERE t.shop_id = shop.id AND t.fill_usec >= b.fill_second * 1000000 "         \
    "AND t.fill_usec < (b.fill_second + 1) * 1000000) x WHERE x.upto > pos.p - (b.upto - b.n) "                        \
    "ORDER BY x.fill_usec LIMIT 1) AS usec "                                                                           \
    "FROM pos CROSS JOIN LATERAL (SELECT * FROM sec WHERE sec.upto > pos.p ORDER BY sec.fill_second LIMIT 1) b), "     \
    "mid AS (SELECT (min(usec)::numeric / 1000000)::float8 AS lo, (max(usec)::numeric / 1000000)::float8 AS hi "       \
    "FROM val) "

/* The chosen days: their exact times. Arguments: from, from, to, to. */
#define SR_PAGE_DAYS "(%s::date IS NULL OR f.day >= %s::date) AND (%s::date IS NULL OR f.day <= %s::date) "
#define SR_PAGE_MEDIAN_DAYS                                                                                            \
    ", hist AS (SELECT f.fill_usec, sum(f.n)::bigint AS n FROM slot_fill_times_daily f, shop "                         \
    "WHERE f.shop_id = shop.id AND " SR_PAGE_DAYS "GROUP BY f.fill_usec), "                                            \
    "cum AS (SELECT fill_usec, (sum(n) OVER (ORDER BY fill_usec))::bigint AS upto, "                                   \
    "(sum(n) OVER ())::bigint AS total FROM hist), "                                                                   \
    "mid AS (SELECT (min(fill_usec) FILTER (WHERE upto > (total - 1) / 2)::numeric / 1000000)::float8 AS lo, "         \
    "(min(fill_usec) FILTER (WHERE upto > total / 2)::numeric / 1000000)::float8 AS hi FROM cum) "

/* The shop's row (part 0). Arguments: the Twilio account SID, then those of days (a condition on f.day). */
#define SR_PAGE_HEAD(days)                                                                                             \
    "SELECT 0 AS part, 0::bigint AS n, sh.id::text AS id, sh.name AS name, sh.timezone AS timezone, "                  \
    "sh.currency AS currency, sh.csrf_key AS csrf_key, "                                                               \
    "tp.http_status::text AS http_status, tp.error_code::text AS error_code, tp.message AS message, "                  \
    "to_char(tp.first_seen_at AT TIME ZONE sh.timezone, 'Dy DD Mon YYYY HH24:MI') AS since, "                          \
    "to_char(tp.last_seen_at AT TIME ZONE sh.timezone, 'Dy DD Mon YYYY HH24:MI') AS last, "                            \
    "fig.opened AS opened, fig.filled AS filled, fig.expired AS expired, "                                             \
    "(SELECT round(m.lo + (m.hi - m.lo) * 0.5)::bigint FROM mid m) AS median_fill_seconds, "                           \
    "fig.deposits AS deposits, "                                                                                       \
    "NULL AS starts, NULL AS ends, NULL AS status, NULL AS customer, NULL AS slot_opening_id, "                        \
    "NULL AS created, NULL AS booking_id, NULL::boolean AS waiting "                                                   \
    "FROM shop sh LEFT JOIN twilio_credential_problems tp ON tp.account_sid = %s AND tp.resolved_at IS NULL "          \
    "CROSS JOIN LATERAL (SELECT COALESCE(sum(f.opened), 0) AS opened, COALESCE(sum(f.filled), 0) AS filled, "          \
    "COALESCE(sum(f.expired), 0) AS expired, COALESCE(sum(f.deposits), 0) AS deposits "                                \
    "FROM slot_figures_daily f WHERE f.shop_id = sh.id " days ") fig "

/* The upcoming appointments (part 1). */
#define SR_PAGE_UPCOMING                                                                                               \
    "UNION ALL "                                                                                                       \
    "SELECT 1, up.n, up.id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "      \
    "up.starts, up.ends, up.status, up.customer, up.slot_opening_id, NULL, NULL, NULL "                                \
    "FROM shop sh CROSS JOIN LATERAL (SELECT row_number() OVER (ORDER BY a.starts_at, a.id) AS n, "                    \
    "a.id::text AS id, "                                                                                               \
    "to_char(a.starts_at AT TIME ZONE sh.timezone, 'Dy DD Mon YYYY HH24:MI') AS starts, "                              \
    "to_char(a.ends_at AT TIME ZONE sh.timezone, 'HH24:MI') AS ends, a.status AS status, "                             \
    "c.name AS customer, a.source_slot_opening_id::text AS slot_opening_id "                                           \
    "FROM appointments a JOIN customers c ON c.id = a.customer_id "                                                    \
    "WHERE a.shop_id = sh.id AND a.starts_at >= now() AND a.status <> 'cancelled' "                                    \
    "ORDER BY a.starts_at, a.id LIMIT 50) up "

/*
 * The page of slot openings (part 2). Arguments: those of filters, then the
 * offset. The offset is a condition on the row number, not OFFSET: the
 * generic plan of an OFFSET parameter counts a tenth of the shop's openings
 * skipped, which made PostgreSQL plan the statement anew at every execution.
 * The rows come in the order of the inner ORDER BY (a subquery scan keeps
 * it); the final ORDER BY part, n puts them in it anyway.
 */
#define SR_PAGE_SLOTS(filters)                                                                                         \
    "UNION ALL "                                                                                                       \
    "SELECT 2, sl.n, sl.id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "      \
    "sl.starts, sl.ends, sl.status, NULL, NULL, sl.created, sl.booking_id, sl.waiting "                                \
    "FROM shop sh CROSS JOIN LATERAL (SELECT * FROM (SELECT row_number() OVER "                                        \
    "(ORDER BY o.created_at DESC, o.id DESC) AS n, o.id::text AS id, "                                                 \
    "to_char(o.starts_at AT TIME ZONE s.timezone, 'Dy DD Mon YYYY HH24:MI') AS starts, "                               \
    "to_char(o.ends_at AT TIME ZONE s.timezone, 'HH24:MI') AS ends, o.status AS status, "                              \
    "to_char(o.created_at AT TIME ZONE s.timezone, 'DD Mon YYYY HH24:MI') AS created, "                                \
    "o.filled_by_appointment_id::text AS booking_id, "                                                                 \
    "(o.status = 'open' AND o.waiting_since IS NOT NULL) AS waiting "                                                  \
    "FROM slot_openings o JOIN shops s ON s.id = o.shop_id "                                                           \
    "WHERE o.shop_id = sh.id " filters "ORDER BY o.created_at DESC, o.id DESC) w "                                     \
    "WHERE w.n > %s::bigint LIMIT " SR_PAGE_LIMIT_SQL ") sl "                                                          \
    "ORDER BY part, n"

#define SR_PAGE_COLUMNS                                                                                                \
    "part,id,name,timezone,currency,csrf_key,http_status,error_code,message,since,last,"                               \
    "opened,filled,expired,median_fill_seconds,deposits,"                                                              \
    "starts,ends,status,customer,slot_opening_id,created,booking_id,waiting"

static const sr_statement_t stmt_dash_appointments_page = {
    "sr_dash_appointments_page",
    SR_PAGE_SHOP_CTE SR_PAGE_MEDIAN_ALL SR_PAGE_HEAD("")
        SR_PAGE_UPCOMING SR_PAGE_SLOTS("AND (%s::text IS NULL OR o.status = %s) "),
    SR_PAGE_COLUMNS};
static sr_result_t *q_dash_appointments_page(sr_db_t *db, const char *username, const char *server_name,
                                             const char *realm, const char *twilio_account_sid, const char *status,
                                             const char *offset)
{
    return sr_db_select(db, &stmt_dash_appointments_page,
                        SR_ARGS(username, server_name, realm, twilio_account_sid, status, status, offset));
}

static const sr_statement_t stmt_dash_appointments_page_dates = {
    "sr_dash_appointments_page_dates",
    SR_PAGE_SHOP_CTE SR_PAGE_MEDIAN_DAYS SR_PAGE_HEAD("AND " SR_PAGE_DAYS)
        SR_PAGE_UPCOMING SR_PAGE_SLOTS(SR_SLOT_FILTERS),
    SR_PAGE_COLUMNS};
static sr_result_t *q_dash_appointments_page_dates(sr_db_t *db, const char *username, const char *server_name,
                                                   const char *realm, const char *twilio_account_sid,
                                                   const char *status, const char *from, const char *to,
                                                   const char *offset)
{
    return sr_db_select(db, &stmt_dash_appointments_page_dates,
                        SR_ARGS(username, server_name, realm, from, from, to, to, twilio_account_sid, from, from, to,
                                to, status, status, from, from, to, to, offset));
}

typedef struct {
    dash_t *d;
    const sr_filter_t *f;
    sr_result_t *shop, *upcoming, *slots;
} list_work_t;

/* The rows of one part of the page's result, as a result of their own (cells shared). */
static sr_result_t *page_part(apr_pool_t *p, const sr_result_t *res, const char *part)
{
    sr_result_t *out = apr_pmemdup(p, res, sizeof(*res));
    int first = 0, n = 0;

    while (first < res->nrows && strcmp(sr_result_get(res, first, "part"), part)) {
        first++;
    }
    while (first + n < res->nrows && !strcmp(sr_result_get(res, first + n, "part"), part)) {
        n++;
    }
    out->cells = res->cells + (apr_size_t)first * res->ncols;
    out->nrows = n;
    return out;
}

static sr_status_t list_work(sr_db_t *db, void *baton)
{
    list_work_t *w = baton;
    const sr_filter_t *f = w->f;
    dash_t *d = w->d;
    apr_pool_t *p = sr_db_pool(db);
    const char *offset;
    sr_result_t *res;

    /*
     * The figures cover the chosen dates, whatever the status filter. One row
     * more than a page says whether there is a next page.
     */
    offset = apr_itoa(p, (f->page - 1) * SR_PAGE_SIZE);
    res = f->from || f->to
              ? q_dash_appointments_page_dates(db, d->req->r->user, d->server, d->realm,
                                               d->req->conf->twilio_account_sid, f->status, f->from, f->to, offset)
              : q_dash_appointments_page(db, d->req->r->user, d->server, d->realm, d->req->conf->twilio_account_sid,
                                         f->status, offset);
    if (!res) {
        return SR_UNAVAILABLE;
    }
    w->shop = page_part(p, res, "0");
    if (w->shop->nrows == 0) {
        return SR_NOT_FOUND;
    }
    w->upcoming = page_part(p, res, "1");
    w->slots = page_part(p, res, "2");
    return SR_OK;
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
    const char *problem = NULL;
    apr_table_t *args = NULL;
    sr_filter_t f;
    dash_t d;
    list_work_t w;
    sr_status_t status;
    int rc;

    ap_args_to_table(r, &args);
    if (!sr_filter_parse(r->pool, args, &f, &problem)) {
        /* The login and its shop are checked first, as on every page. */
        rc = sr_page_open(req, &d);
        return rc != OK ? rc : sr_page_error(req, HTTP_BAD_REQUEST, problem);
    }
    if ((rc = sr_page_begin(req, &d)) != OK) {
        return rc;
    }
    memset(&w, 0, sizeof(w));
    w.d = &d;
    w.f = &f;
    status = sr_db_read(d.db, list_work, &w);
    if (status == SR_OK) {
        sr_page_take_shop(&d, w.shop, 0);
        d.twilio = sr_result_get(w.shop, 0, "http_status") ? w.shop : NULL;
    }
    if ((rc = sr_page_shop_found(&d, status)) != OK) {
        return rc;
    }
    sr_html_begin(r, req->mount, "Appointments", d.shop_name);
    sr_page_notices(r, &d);
    render_upcoming(r, &d, w.upcoming);
    ap_rputs("<section>\n<h2>Slot Recovery</h2>\n", r);
    render_figures(r, &d, w.shop);
    render_filters(r, &d, &f);
    render_slot_openings(r, &d, &f, w.slots);
    ap_rputs("</section>\n", r);
    sr_html_end(r);
    return OK;
}

const sr_statement_t *const sr_page_appointments_statements[] = {&stmt_dash_appointments_page,
                                                                 &stmt_dash_appointments_page_dates, NULL};
