/* SPDX-License-Identifier: Apache-2.0 */
/* Dashboard pages and the CSV export. */
#include <apr_escape.h>
#include <apr_file_io.h>
#include <apr_lib.h>

#include "sr_crypto.h"
#include "sr_dashboard.h"
#include "sr_db.h"
#include "sr_format.h"
#include "sr_html.h"
#include "sr_slots.h"
#include "sr_validate.h"

#include <http_core.h>   /* after httpd.h: ap_auth_name */
#include <util_script.h> /* after httpd.h: it uses request_rec */

#define SR_PAGE_SIZE 20
#define SR_MAX_PAGE 100000

/* The signed-in user's shop and the database, for one page. */
typedef struct {
    sr_req_t *req;
    sr_db_t *db;
    const char *server, *realm; /* where the login authenticated: ServerName (lower case), AuthName */
    const char *shop_id;
    const char *shop_name;
    const char *currency;
    const char *csrf_key; /* installation.csrf_key; NULL when the row is missing */
    const char *csrf;     /* token for forms; NULL when cancelling is disabled */
    sr_result_t *twilio;  /* Twilio refuses this server's credentials: one row (migration 011), else NULL */
} dash_t;

/* The slot-openings filters, from the query string. */
typedef struct {
    const char *status; /* open, filled, expired or NULL */
    const char *from;   /* YYYY-MM-DD or NULL */
    const char *to;
    int page; /* from 1 */
} filters_t;

static int dash_error(sr_req_t *req, int status, const char *message)
{
    request_rec *r = req->r;

    ap_log_rerror(APLOG_MARK, status >= 500 ? APLOG_ERR : APLOG_WARNING, 0, r, SR_LOG_PREFIX "%s %s: %d %s", r->method,
                  r->uri, status, message);
    if (status == HTTP_SERVICE_UNAVAILABLE) {
        apr_table_setn(r->headers_out, "Retry-After", "5");
    }
    r->status = status;
    sr_html_begin(r, req->mount, "Error", NULL);
    ap_rputs("<h1>", r);
    sr_html_text(r, ap_get_status_line(status));
    ap_rputs("</h1>\n<p>", r);
    sr_html_text(r, message);
    ap_rputs("</p>\n", r);
    sr_html_end(r);
    return DONE;
}

static sr_status_t shop_work(sr_db_t *db, void *baton)
{
    dash_t *d = baton;
    sr_result_t *res = sr_db_select(db, SR_Q_DASH_SHOP_FOR_USER, SR_ARGS(d->req->r->user, d->server, d->realm));

    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        return SR_NOT_FOUND;
    }
    d->shop_id = sr_result_get(res, 0, "id");
    d->shop_name = sr_result_get(res, 0, "name");
    d->currency = sr_result_get(res, 0, "currency");
    d->csrf_key = sr_result_get(res, 0, "csrf_key");
    d->twilio = NULL;
    if (d->req->conf->twilio_account_sid) {
        const char *tz = sr_result_get(res, 0, "timezone");

        res = sr_db_select(db, SR_Q_DASH_TWILIO_PROBLEM, SR_ARGS(tz, tz, d->req->conf->twilio_account_sid));
        if (!res) {
            return SR_UNAVAILABLE;
        }
        d->twilio = res->nrows > 0 ? res : NULL;
    }
    return SR_OK;
}

/*
 * Every page says so when Twilio refuses this server's credentials: no SMS
 * goes out (offers and notices wait) until someone fixes the configuration.
 */
static void render_notices(request_rec *r, const dash_t *d)
{
    const char *code;

    if (!d->twilio || r->header_only) {
        return;
    }
    code = sr_result_get(d->twilio, 0, "error_code");
    ap_rputs("<div class=\"notice notice-error\" role=\"alert\" id=\"twilio-credentials\">"
             "<strong>Twilio refused our credentials</strong> (HTTP ",
             r);
    sr_html_text(r, sr_result_get(d->twilio, 0, "http_status"));
    if (code) {
        ap_rputs(", error ", r);
        sr_html_text(r, code);
    }
    ap_rputs(") since ", r);
    sr_html_text(r, sr_result_get(d->twilio, 0, "since"));
    ap_rputs(", last at ", r);
    sr_html_text(r, sr_result_get(d->twilio, 0, "last"));
    ap_rputs(": no SMS can go out. Offers wait, their attempts not used up, until "
             "SlotRecoveryTwilioAccountSid and SlotRecoveryTwilioAuthToken are fixed and httpd reloaded. "
             "Twilio said: ",
             r);
    sr_html_text(r, sr_result_get(d->twilio, 0, "message"));
    ap_rputs("</div>\n", r);
}

/* Seconds a token's time may be ahead of this server's clock: several servers share one database. */
#define SR_CSRF_CLOCK_SKEW 60

/*
 * The MAC of a form token: HMAC-SHA256 keyed with the installation's own
 * CSRF key (not the internal API secret) over where the login authenticated,
 * who, which shop and when the token was made. Fields are length-prefixed so
 * no user name can pass for another field.
 */
static const char *csrf_mac(const dash_t *d, const char *issued)
{
    apr_pool_t *p = d->req->r->pool;
    const char *user = d->req->r->user;
    const char *data =
        apr_psprintf(p, "csrf-v2|%" APR_SIZE_T_FMT ":%s|%" APR_SIZE_T_FMT ":%s|%" APR_SIZE_T_FMT ":%s|%s|%s",
                     strlen(d->server), d->server, strlen(d->realm), d->realm, strlen(user), user, d->shop_id, issued);

    return sr_hmac_sha256_hex(p, d->csrf_key, data, strlen(data));
}

/* A token for this page's forms: "<issued, seconds since the epoch>.<MAC>". */
static const char *csrf_issue(const dash_t *d)
{
    const char *issued;

    if (!d->csrf_key) {
        return NULL;
    }
    issued = apr_psprintf(d->req->r->pool, "%" APR_TIME_T_FMT, apr_time_sec(apr_time_now()));
    return apr_pstrcat(d->req->r->pool, issued, ".", csrf_mac(d, issued), (char *)NULL);
}

typedef enum { SR_CSRF_OK, SR_CSRF_FORGED, SR_CSRF_STALE } sr_csrf_t;

/* Whether a form's token is ours, for this login and shop, and neither expired nor from the future. */
static sr_csrf_t csrf_check(const dash_t *d, const char *token)
{
    apr_time_t now = apr_time_sec(apr_time_now());
    const char *dot = token ? strchr(token, '.') : NULL;
    const char *c, *issued;
    apr_int64_t when;

    if (!dot || dot == token || dot - token > 12) {
        return SR_CSRF_FORGED;
    }
    for (c = token; c < dot; c++) {
        if (!apr_isdigit(*c)) {
            return SR_CSRF_FORGED;
        }
    }
    issued = apr_pstrmemdup(d->req->r->pool, token, (apr_size_t)(dot - token));
    if (!sr_secret_equals(dot + 1, csrf_mac(d, issued))) {
        return SR_CSRF_FORGED;
    }
    when = apr_atoi64(issued);
    if (when > now + SR_CSRF_CLOCK_SKEW || now - when > apr_time_sec(d->req->conf->csrf_lifetime)) {
        return SR_CSRF_STALE;
    }
    return SR_CSRF_OK;
}

/* Who is asking, and for which shop. OK, or DONE with the error page sent. */
static int dash_open(sr_req_t *req, dash_t *d)
{
    sr_status_t status;
    char *lower;

    memset(d, 0, sizeof(*d));
    d->req = req;
    if (!req->r->user) {
        return dash_error(req, HTTP_FORBIDDEN,
                          "Sign-in required: the dashboard needs httpd authentication on its <Location>.");
    }
    /* A user name means something only in the realm and on the server that checked it. */
    lower = apr_pstrdup(req->r->pool, req->r->server->server_hostname ? req->r->server->server_hostname : "");
    ap_str_tolower(lower);
    d->server = lower;
    d->realm = ap_auth_name(req->r) ? ap_auth_name(req->r) : "";
    if (!(d->db = sr_db_acquire(req->r))) {
        return dash_error(req, HTTP_SERVICE_UNAVAILABLE, "The database is unavailable. Try again shortly.");
    }
    status = sr_db_read(d->db, shop_work, d);
    if (status == SR_NOT_FOUND) {
        return dash_error(req, HTTP_FORBIDDEN,
                          "This user has no shop here. Grant one with POST /api/shops/{id}/users (username, realm).");
    }
    if (status != SR_OK) {
        return dash_error(req, HTTP_SERVICE_UNAVAILABLE, "The database is unavailable. Try again shortly.");
    }
    if (!d->csrf_key) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, req->r,
                      SR_LOG_PREFIX "table installation has no row: no CSRF key, cancelling is disabled "
                                    "(run scripts/migrate)");
    }
    d->csrf = csrf_issue(d);
    return OK;
}

/* A calendar date, YYYY-MM-DD. */
static int valid_date(apr_pool_t *p, const char *s)
{
    apr_time_t t;

    return strlen(s) == 10 && sr_parse_rfc3339(apr_pstrcat(p, s, "T00:00:00Z", (char *)NULL), &t);
}

/* Reads status, from, to and page; 0 with *problem set when one is wrong. */
static int read_filters(request_rec *r, filters_t *f, const char **problem)
{
    apr_table_t *args = NULL;
    const char *page;

    memset(f, 0, sizeof(*f));
    f->page = 1;
    ap_args_to_table(r, &args);
    f->status = apr_table_get(args, "status");
    f->from = apr_table_get(args, "from");
    f->to = apr_table_get(args, "to");
    page = apr_table_get(args, "page");
    /* An empty field of the filter form means "any". */
    f->status = f->status && *f->status ? f->status : NULL;
    f->from = f->from && *f->from ? f->from : NULL;
    f->to = f->to && *f->to ? f->to : NULL;
    if (f->status && strcmp(f->status, "open") && strcmp(f->status, "filled") && strcmp(f->status, "expired")) {
        *problem = "status must be open, filled or expired";
        return 0;
    }
    if ((f->from && !valid_date(r->pool, f->from)) || (f->to && !valid_date(r->pool, f->to))) {
        *problem = "from and to must be dates as YYYY-MM-DD";
        return 0;
    }
    if (page && *page) {
        char *end;
        apr_int64_t n = apr_strtoi64(page, &end, 10);

        if (*end || n < 1 || n > SR_MAX_PAGE) {
            *problem = "page must be a number from 1";
            return 0;
        }
        f->page = (int)n;
    }
    return 1;
}

/* dash_open and read_filters for the filtered pages: OK, or DONE with the error page sent. */
static int dash_open_filtered(sr_req_t *req, dash_t *d, filters_t *f)
{
    const char *problem = NULL;
    int rc = dash_open(req, d);

    if (rc != OK) {
        return rc;
    }
    if (!read_filters(req->r, f, &problem)) {
        return dash_error(req, HTTP_BAD_REQUEST, problem);
    }
    return OK;
}

/* The filters as a query string (without page), for links that keep them. */
static const char *filters_query(apr_pool_t *p, const filters_t *f)
{
    return apr_pstrcat(p, "status=", f->status ? apr_pescape_urlencoded(p, f->status) : "",
                       "&from=", f->from ? apr_pescape_urlencoded(p, f->from) : "",
                       "&to=", f->to ? apr_pescape_urlencoded(p, f->to) : "", (char *)NULL);
}

/*
 * A dashboard URL under the mount, for links and redirects. The mount is a
 * decoded path (a configured <Location>, or one sr_path_split found safe):
 * escaped here, so it stays one path on this site. path is already a URL.
 */
static const char *mount_url(const sr_req_t *req, const char *path)
{
    return apr_pstrcat(req->r->pool, ap_escape_uri(req->r->pool, req->mount), "/app", path, (char *)NULL);
}

static const char *app_url(const dash_t *d, const char *path)
{
    return mount_url(d->req, path);
}

/* --- GET /app ------------------------------------------------------------------------ */

int sr_dashboard_home(sr_req_t *req)
{
    apr_table_setn(req->r->headers_out, "Location", mount_url(req, "/appointments"));
    return HTTP_SEE_OTHER;
}

/* --- GET /app/appointments ------------------------------------------------------------ */

typedef struct {
    dash_t *d;
    const filters_t *f;
    sr_result_t *upcoming, *figures, *slots;
} list_work_t;

static sr_status_t list_work(sr_db_t *db, void *baton)
{
    list_work_t *w = baton;
    const filters_t *f = w->f;
    apr_pool_t *p = sr_db_pool(db);
    const char *shop = w->d->shop_id;

    w->upcoming = sr_db_select(db, SR_Q_DASH_UPCOMING, SR_ARGS(shop));
    /* The figures cover the chosen dates, whatever the status filter. */
    w->figures = sr_db_select(db, SR_Q_DASH_FIGURES, SR_ARGS(shop, NULL, NULL, f->from, f->from, f->to, f->to));
    /* One row more than a page says whether there is a next page. */
    w->slots = sr_db_select(db, SR_Q_DASH_SLOT_LIST,
                            SR_ARGS(shop, f->status, f->status, f->from, f->from, f->to, f->to,
                                    apr_itoa(p, SR_PAGE_SIZE + 1), apr_itoa(p, (f->page - 1) * SR_PAGE_SIZE)));
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

static void render_filters(request_rec *r, const dash_t *d, const filters_t *f)
{
    static const char *const statuses[] = {"open", "filled", "expired"};
    apr_size_t i;

    ap_rvputs(r, "<form class=\"filters\" method=\"get\" action=\"",
              sr_html_escape(r->pool, app_url(d, "/appointments")),
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
    sr_html_link(r, apr_pstrcat(r->pool, app_url(d, "/slot-openings.csv?"), filters_query(r->pool, f), (char *)NULL),
                 "Export CSV");
    ap_rputs("\n</form>\n", r);
}

static void render_cancel_form(request_rec *r, const dash_t *d, const char *id)
{
    if (!d->csrf) {
        return;
    }
    ap_rvputs(r, "<form class=\"inline\" method=\"post\" action=\"",
              sr_html_escape(r->pool, app_url(d, apr_pstrcat(r->pool, "/appointments/", id, "/cancel", (char *)NULL))),
              "\"><input type=\"hidden\" name=\"csrf\" value=\"", sr_html_escape(r->pool, d->csrf),
              "\"><button type=\"submit\" class=\"danger\">Cancel</button></form>", (char *)NULL);
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
        sr_html_text(r, apr_pstrcat(r->pool, sr_result_get(res, i, "starts"), "\xe2\x80\x93",
                                    sr_result_get(res, i, "ends"), (char *)NULL));
        ap_rputs("</td><td>", r);
        sr_html_text(r, sr_result_get(res, i, "customer"));
        ap_rputs("</td><td>", r);
        sr_html_badge(r, sr_result_get(res, i, "status"));
        ap_rputs("</td><td class=\"actions\">", r);
        sr_html_link(r, app_url(d, apr_pstrcat(r->pool, "/appointments/", id, (char *)NULL)), "View");
        render_cancel_form(r, d, id);
        ap_rputs("</td></tr>\n", r);
    }
    ap_rputs("</tbody>\n</table>\n</section>\n", r);
}

/* An open slot nobody on the waitlist can take yet (until a customer joins or its cutoff). */
#define SR_WAITING_TEXT "waiting for a waitlist customer"

static void render_slot_openings(request_rec *r, const dash_t *d, const filters_t *f, const sr_result_t *res)
{
    int i, rows = res->nrows > SR_PAGE_SIZE ? SR_PAGE_SIZE : res->nrows;
    const char *query = filters_query(r->pool, f);

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
            sr_html_text(r, apr_pstrcat(r->pool, sr_result_get(res, i, "starts"), "\xe2\x80\x93",
                                        sr_result_get(res, i, "ends"), (char *)NULL));
            ap_rputs("</td><td>", r);
            sr_html_badge(r, sr_result_get(res, i, "status"));
            if (sr_result_bool(res, i, "waiting")) {
                ap_rputs(" <span class=\"waiting\">" SR_WAITING_TEXT "</span>", r);
            }
            ap_rputs("</td><td>", r);
            sr_html_text(r, sr_result_get(res, i, "created"));
            ap_rputs("</td><td>", r);
            if (booking) {
                sr_html_link(r, app_url(d, apr_pstrcat(r->pool, "/appointments/", booking, (char *)NULL)),
                             "View booking");
            }
            else {
                sr_html_text(r, NULL);
            }
            ap_rputs("</td><td>", r);
            sr_html_link(r, app_url(d, apr_pstrcat(r->pool, "/slot-openings/", id, (char *)NULL)), "Details");
            ap_rputs("</td></tr>\n", r);
        }
        ap_rputs("</tbody>\n</table>\n", r);
    }
    ap_rputs("<nav class=\"pages\">", r);
    if (f->page > 1) {
        sr_html_link(r, apr_psprintf(r->pool, "%s?%s&page=%d", app_url(d, "/appointments"), query, f->page - 1),
                     "\xe2\x86\x90 Newer");
    }
    if (res->nrows > SR_PAGE_SIZE) {
        sr_html_link(r, apr_psprintf(r->pool, "%s?%s&page=%d", app_url(d, "/appointments"), query, f->page + 1),
                     "Older \xe2\x86\x92");
    }
    ap_rputs("</nav>\n", r);
}

int sr_dashboard_appointments(sr_req_t *req)
{
    request_rec *r = req->r;
    filters_t f;
    dash_t d;
    list_work_t w;
    int rc = dash_open_filtered(req, &d, &f);

    if (rc != OK) {
        return rc;
    }
    memset(&w, 0, sizeof(w));
    w.d = &d;
    w.f = &f;
    if (sr_db_read(d.db, list_work, &w) != SR_OK) {
        return dash_error(req, HTTP_SERVICE_UNAVAILABLE, "The database is unavailable. Try again shortly.");
    }
    sr_html_begin(r, req->mount, "Appointments", d.shop_name);
    render_notices(r, &d);
    render_upcoming(r, &d, w.upcoming);
    ap_rputs("<section>\n<h2>Slot Recovery</h2>\n", r);
    render_figures(r, &d, w.figures);
    render_filters(r, &d, &f);
    render_slot_openings(r, &d, &f, w.slots);
    ap_rputs("</section>\n", r);
    sr_html_end(r);
    return OK;
}

/* --- GET /app/slot-openings/{id} --------------------------------------------------------- */

typedef struct {
    dash_t *d;
    const char *id;
    sr_result_t *main, *rows;
} detail_work_t;

static sr_status_t slot_detail_work(sr_db_t *db, void *baton)
{
    detail_work_t *w = baton;

    w->main = sr_db_select(db, SR_Q_DASH_SLOT_DETAIL, SR_ARGS(w->id, w->d->shop_id));
    w->rows = sr_db_select(db, SR_Q_DASH_SLOT_OFFERS, SR_ARGS(w->id, w->d->shop_id));
    return sr_db_failed(db) ? SR_UNAVAILABLE : SR_OK;
}

/* Loads one row of the user's shop: OK, or DONE with a 404/503 page sent. */
static int load_detail(sr_req_t *req, dash_t *d, detail_work_t *w, sr_db_work_fn *work, const char *what)
{
    int rc = dash_open(req, d);

    if (rc != OK) {
        return rc;
    }
    memset(w, 0, sizeof(*w));
    w->d = d;
    w->id = req->id;
    if (sr_db_read(d->db, work, w) != SR_OK) {
        return dash_error(req, HTTP_SERVICE_UNAVAILABLE, "The database is unavailable. Try again shortly.");
    }
    if (w->main->nrows == 0) {
        /* Another shop's id reads exactly like one that does not exist. */
        return dash_error(req, HTTP_NOT_FOUND, apr_pstrcat(req->r->pool, "No such ", what, ".", (char *)NULL));
    }
    return OK;
}

static void field_row(request_rec *r, const char *label, const char *value)
{
    ap_rputs("<tr><th>", r);
    sr_html_text(r, label);
    ap_rputs("</th><td>", r);
    sr_html_text(r, value);
    ap_rputs("</td></tr>\n", r);
}

int sr_dashboard_slot_opening(sr_req_t *req)
{
    request_rec *r = req->r;
    detail_work_t w;
    dash_t d;
    const sr_result_t *m;
    const char *booking;
    int i, rc = load_detail(req, &d, &w, slot_detail_work, "slot opening");

    if (rc != OK) {
        return rc;
    }
    m = w.main;
    booking = sr_result_get(m, 0, "booking_id");
    sr_html_begin(r, req->mount, apr_pstrcat(r->pool, "Slot opening ", req->id, (char *)NULL), d.shop_name);
    render_notices(r, &d);
    ap_rputs("<p class=\"back\">", r);
    sr_html_link(r, app_url(&d, "/appointments"), "\xe2\x86\x90 All appointments");
    ap_rputs("</p>\n<h1>Slot opening ", r);
    sr_html_text(r, req->id);
    ap_rputs(" ", r);
    sr_html_badge(r, sr_result_get(m, 0, "status"));
    ap_rputs("</h1>\n<table class=\"fields\">\n", r);
    field_row(
        r, "Time",
        apr_pstrcat(r->pool, sr_result_get(m, 0, "starts"), "\xe2\x80\x93", sr_result_get(m, 0, "ends"), (char *)NULL));
    field_row(r, "Status", sr_result_get(m, 0, "status"));
    if (sr_result_bool(m, 0, "waiting")) {
        field_row(r, "Waiting", SR_WAITING_TEXT ": nobody on the waitlist can take it yet");
    }
    if (sr_result_get(m, 0, "expired_reason")) {
        field_row(r, "Why it expired", sr_result_get(m, 0, "expired_reason"));
    }
    field_row(r, "Created", sr_result_get(m, 0, "created"));
    ap_rputs("<tr><th>Cancelled appointment</th><td>", r);
    sr_html_link(r, app_url(&d, apr_pstrcat(r->pool, "/appointments/", sr_result_get(m, 0, "source_id"), (char *)NULL)),
                 apr_pstrcat(r->pool, "#", sr_result_get(m, 0, "source_id"), " ",
                             sr_result_get(m, 0, "source_customer"), (char *)NULL));
    ap_rputs("</td></tr>\n<tr><th>Recovered booking</th><td>", r);
    if (booking) {
        sr_html_link(r, app_url(&d, apr_pstrcat(r->pool, "/appointments/", booking, (char *)NULL)),
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

/* --- GET /app/appointments/{id} ---------------------------------------------------------- */

static sr_status_t appointment_detail_work(sr_db_t *db, void *baton)
{
    detail_work_t *w = baton;

    w->main = sr_db_select(db, SR_Q_DASH_APPOINTMENT, SR_ARGS(w->id, w->d->shop_id));
    w->rows = sr_db_select(db, SR_Q_DASH_REFUND, SR_ARGS(w->id, w->d->shop_id));
    return w->main && w->rows ? SR_OK : SR_UNAVAILABLE;
}

int sr_dashboard_appointment(sr_req_t *req)
{
    request_rec *r = req->r;
    detail_work_t w;
    dash_t d;
    const sr_result_t *m;
    const char *slot, *amount, *status;
    int rc = load_detail(req, &d, &w, appointment_detail_work, "appointment");

    if (rc != OK) {
        return rc;
    }
    m = w.main;
    slot = sr_result_get(m, 0, "slot_opening_id");
    amount = sr_result_get(m, 0, "payment_amount");
    status = sr_result_get(m, 0, "status");
    sr_html_begin(r, req->mount, apr_pstrcat(r->pool, "Appointment ", req->id, (char *)NULL), d.shop_name);
    render_notices(r, &d);
    ap_rputs("<p class=\"back\">", r);
    sr_html_link(r, app_url(&d, "/appointments"), "\xe2\x86\x90 All appointments");
    ap_rputs("</p>\n<h1>", r);
    sr_html_text(r, slot ? "Recovered booking " : "Appointment ");
    sr_html_text(r, req->id);
    ap_rputs(" ", r);
    sr_html_badge(r, status);
    ap_rputs("</h1>\n<table class=\"fields\">\n", r);
    field_row(
        r, "Time",
        apr_pstrcat(r->pool, sr_result_get(m, 0, "starts"), "\xe2\x80\x93", sr_result_get(m, 0, "ends"), (char *)NULL));
    field_row(r, "Customer", sr_result_get(m, 0, "customer"));
    field_row(r, "Phone", sr_result_get(m, 0, "phone"));
    field_row(r, "Email", sr_result_get(m, 0, "email"));
    field_row(r, "Status", status);
    field_row(r, "Booked", sr_result_get(m, 0, "created"));
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
        field_row(r, "Stripe PaymentIntent", sr_result_get(m, 0, "payment_intent"));
        if (sr_result_get(m, 0, "payment_error")) {
            field_row(r, "Payment error", sr_result_get(m, 0, "payment_error"));
        }
        if (sr_result_get(m, 0, "payment_flag")) {
            field_row(r, "Needs attention", sr_result_get(m, 0, "payment_flag"));
        }
    }
    if (w.rows->nrows > 0) {
        /* A deposit given back automatically: its status, amount, Stripe's id and why it failed, if it did. */
        const sr_result_t *f = w.rows;
        const char *refund_id = sr_result_get(f, 0, "stripe_refund_id"), *error = sr_result_get(f, 0, "last_error");

        ap_rputs("<tr><th>Refund</th><td>", r);
        sr_html_badge(r, sr_result_get(f, 0, "status"));
        ap_rputs(" ", r);
        sr_html_text(r, sr_format_money(r->pool, sr_result_get(f, 0, "amount"), sr_result_get(f, 0, "currency")));
        if (refund_id) {
            ap_rputs(" ", r);
            sr_html_text(r, refund_id);
        }
        if (error) {
            ap_rputs(" ", r);
            sr_html_text(r, apr_pstrcat(r->pool, "(", error, ")", (char *)NULL));
        }
        ap_rputs("</td></tr>\n", r);
    }
    ap_rputs("<tr><th>Recovered from</th><td>", r);
    if (slot) {
        sr_html_link(r, app_url(&d, apr_pstrcat(r->pool, "/slot-openings/", slot, (char *)NULL)),
                     apr_pstrcat(r->pool, "Slot opening ", slot, (char *)NULL));
    }
    else {
        sr_html_text(r, NULL);
    }
    ap_rputs("</td></tr>\n</table>\n", r);
    if (strcmp(status, "cancelled")) {
        render_cancel_form(r, &d, req->id);
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
    sr_loop_t loop;
    dash_t d;
    int rc = load_detail(req, &d, &w, appointment_detail_work, "appointment");

    if (rc != OK) {
        return rc;
    }
    if (!d.csrf_key) {
        return dash_error(req, HTTP_SERVICE_UNAVAILABLE,
                          "Cancelling from the dashboard needs the database's CSRF key (run scripts/migrate).");
    }
    if ((rc = sr_read_form(req, &params)) != OK) {
        return rc;
    }
    token = sr_form_get(params, "csrf");
    if ((csrf = csrf_check(&d, token)) != SR_CSRF_OK) {
        return dash_error(req, HTTP_FORBIDDEN,
                          csrf == SR_CSRF_STALE ? "The form has expired. Reload the page and try again."
                                                : "The form has expired or did not come from this dashboard.");
    }
    sr_offer_loop_for_request(&loop, r, req->conf, d.db);
    status = sr_slots_cancel_and_offer(&loop, req->id, sr_public_prefix(req), &c);
    if (status != SR_OK) {
        return dash_error(req, sr_status_to_http(status), "The appointment could not be cancelled.");
    }
    apr_table_setn(r->headers_out, "Location", app_url(&d, "/appointments"));
    return HTTP_SEE_OTHER;
}

/* --- GET /app/slot-openings.csv ------------------------------------------------------------ */

/* The export streams: SR_CSV_CHUNK rows a statement, each chunk in a pool of its own. */
#define SR_CSV_CHUNK 500
#define SR_CSV_MAX_ROWS 100000

typedef struct {
    dash_t *d;
    const filters_t *f;
    const char *after_at, *after_id; /* the keyset of the last row sent */
    int limit;
    sr_result_t *rows;
} csv_work_t;

static sr_status_t csv_work(sr_db_t *db, void *baton)
{
    csv_work_t *w = baton;
    const filters_t *f = w->f;

    w->rows = sr_db_select(db, SR_Q_DASH_SLOT_CSV,
                           SR_ARGS(w->d->shop_id, f->status, f->status, f->from, f->from, f->to, f->to, w->after_at,
                                   w->after_id, apr_itoa(sr_db_pool(db), w->limit)));
    return w->rows ? SR_OK : SR_UNAVAILABLE;
}

/* Reads the next chunk into pool (cleared first): SR_OK with w->rows set, or the failure. */
static sr_status_t csv_fetch(csv_work_t *w, apr_pool_t *pool)
{
    apr_pool_t *old;
    sr_status_t status;

    apr_pool_clear(pool);
    old = sr_db_use_pool(w->d->db, pool);
    status = sr_db_read(w->d->db, csv_work, w);
    sr_db_use_pool(w->d->db, old);
    return status;
}

static void csv_write_rows(request_rec *r, apr_pool_t *p, const sr_result_t *x)
{
    apr_size_t k;
    int i;

    for (i = 0; i < x->nrows; i++) {
        const char *amount = sr_result_get(x, i, "deposit_amount");
        const char *cells[] = {
            sr_result_get(x, i, "id"),
            sr_result_get(x, i, "starts"),
            sr_result_get(x, i, "ends"),
            sr_result_get(x, i, "status"),
            sr_result_get(x, i, "created"),
            sr_result_get(x, i, "offers_sent"),
            sr_result_get(x, i, "filled_by"),
            sr_result_get(x, i, "booking_id"),
            sr_result_get(x, i, "fill_seconds"),
            amount ? sr_format_money(p, amount, sr_result_get(x, i, "deposit_currency")) : NULL,
            sr_result_get(x, i, "deposit_status"),
        };

        for (k = 0; k < sizeof(cells) / sizeof(cells[0]); k++) {
            ap_rvputs(r, k ? "," : "", sr_csv_cell(p, cells[k]), (char *)NULL);
        }
        ap_rputs("\r\n", r);
    }
}

/*
 * The database failed after the 200 went out: end the response as broken
 * (an error bucket makes httpd leave out the last chunk and close the
 * connection), so the download shows as incomplete instead of short.
 */
static void csv_abort(request_rec *r)
{
    conn_rec *c = r->connection;
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, c->bucket_alloc);

    APR_BRIGADE_INSERT_TAIL(bb, ap_bucket_error_create(HTTP_BAD_GATEWAY, NULL, r->pool, c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(c->bucket_alloc));
    ap_pass_brigade(r->output_filters, bb);
}

int sr_dashboard_slot_openings_csv(sr_req_t *req)
{
    static const char *const header[] = {"Slot opening",     "Starts",      "Ends",          "Status",
                                         "Created",          "Offers sent", "Filled by",     "Booking",
                                         "Time to fill (s)", "Deposit",     "Deposit status"};
    request_rec *r = req->r;
    /* Before the first row: after every possible one. */
    char after_at[64] = "infinity", after_id[24] = "9223372036854775807";
    apr_pool_t *chunk;
    filters_t f;
    csv_work_t w;
    dash_t d;
    apr_size_t k;
    int sent = 0, rc = dash_open_filtered(req, &d, &f);

    if (rc != OK) {
        return rc;
    }
    memset(&w, 0, sizeof(w));
    w.d = &d;
    w.f = &f;
    w.after_at = after_at;
    w.after_id = after_id;
    w.limit = SR_CSV_CHUNK;
    apr_pool_create(&chunk, r->pool);
    apr_pool_tag(chunk, "sr_csv_chunk");
    /* The first chunk before the headers: a database failure can still be a 503 page. */
    if (csv_fetch(&w, chunk) != SR_OK) {
        return dash_error(req, HTTP_SERVICE_UNAVAILABLE, "The database is unavailable. Try again shortly.");
    }
    ap_set_content_type(r, "text/csv; charset=utf-8; header=present");
    apr_table_setn(r->headers_out, "Content-Disposition", "attachment; filename=\"slot-openings.csv\"");
    sr_html_security_headers(r);
    if (r->header_only) {
        return OK;
    }
    for (k = 0; k < sizeof(header) / sizeof(header[0]); k++) {
        ap_rvputs(r, k ? "," : "", header[k], (char *)NULL);
    }
    ap_rputs("\r\n", r);
    for (;;) {
        const sr_result_t *rows = w.rows;

        csv_write_rows(r, chunk, rows);
        sent += rows->nrows;
        if (rows->nrows < w.limit || sent >= SR_CSV_MAX_ROWS) {
            break;
        }
        /* The keyset outlives the chunk's pool. */
        apr_cpystrn(after_at, sr_result_get(rows, rows->nrows - 1, "after_at"), sizeof(after_at));
        apr_cpystrn(after_id, sr_result_get(rows, rows->nrows - 1, "id"), sizeof(after_id));
        w.limit = SR_CSV_MAX_ROWS - sent < SR_CSV_CHUNK ? SR_CSV_MAX_ROWS - sent : SR_CSV_CHUNK;
        /* What is written goes out now: memory stays at one chunk, whatever the rows. */
        if (ap_rflush(r) < 0 || r->connection->aborted) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SR_LOG_PREFIX "CSV export: the client left after %d rows",
                          sent);
            break;
        }
        if (csv_fetch(&w, chunk) != SR_OK) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          SR_LOG_PREFIX "CSV export: the database failed after %d rows; the download is cut off", sent);
            csv_abort(r);
            break;
        }
    }
    apr_pool_destroy(chunk);
    return OK;
}
