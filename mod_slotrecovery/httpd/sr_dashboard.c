/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the dashboard's pages share (sr_page.h): the user-to-shop mapping,
 * the error page, the Twilio-credentials notice, CSRF tokens, the filters,
 * links under the mount, and GET /app. The pages are sr_page_*.c.
 */
#include "sr_page.h"

#include <http_core.h>   /* after httpd.h: ap_auth_name */
#include <util_script.h> /* after httpd.h: it uses request_rec */

int sr_page_error(sr_req_t *req, int status, const char *message)
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

/*
 * The shop of a login (user name, the request's server name and realm):
 * the most specific grant, an exact server name before '*', then an exact
 * realm before '*'. The CSRF key of the forms comes in the same round trip.
 */
static const sr_statement_t stmt_dash_shop_for_user = {
    "sr_dash_shop_for_user",
    "SELECT s.id::text AS id, s.name AS name, s.timezone AS timezone, "
    "s.currency AS currency, "
    "(SELECT i.csrf_key FROM installation i WHERE i.singleton) AS csrf_key "
    "FROM shop_users u JOIN shops s ON s.id = u.shop_id "
    "WHERE u.username = %s AND u.server_name IN (%s, '*') AND u.realm IN (%s, '*') "
    "ORDER BY u.server_name = '*', u.realm = '*' LIMIT 1",
    "id,name,timezone,currency,csrf_key"};
static sr_result_t *q_dash_shop_for_user(sr_db_t *db, const char *username, const char *server_name, const char *realm)
{
    return sr_db_select(db, &stmt_dash_shop_for_user, SR_ARGS(username, server_name, realm));
}

/* The dashboard's notice: Twilio refuses this server's account. Arguments: the shop's time zone, the SID. */
static const sr_statement_t stmt_dash_twilio_problem = {
    "sr_dash_twilio_problem",
    "SELECT http_status::text AS http_status, error_code::text AS error_code, "
    "message AS message, "
    "to_char(first_seen_at AT TIME ZONE %s, 'Dy DD Mon YYYY HH24:MI') AS since, "
    "to_char(last_seen_at AT TIME ZONE %s, 'Dy DD Mon YYYY HH24:MI') AS last "
    "FROM twilio_credential_problems WHERE account_sid = %s AND resolved_at IS NULL",
    "http_status,error_code,message,since,last"};
static sr_result_t *q_dash_twilio_problem(sr_db_t *db, const char *timezone, const char *account_sid)
{
    return sr_db_select(db, &stmt_dash_twilio_problem, SR_ARGS(timezone, timezone, account_sid));
}

static sr_status_t shop_work(sr_db_t *db, void *baton)
{
    dash_t *d = baton;
    sr_result_t *res = q_dash_shop_for_user(db, d->req->r->user, d->server, d->realm);

    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        return SR_NOT_FOUND;
    }
    sr_page_take_shop(d, res, 0);
    d->twilio = NULL;
    if (d->req->conf->twilio_account_sid) {
        const char *tz = sr_result_get(res, 0, "timezone");

        res = q_dash_twilio_problem(db, tz, d->req->conf->twilio_account_sid);
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
void sr_page_notices(request_rec *r, const dash_t *d)
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

/* Whom this page's tokens are for: the login and the shop. */
static sr_csrf_who_t csrf_who(const dash_t *d)
{
    sr_csrf_who_t who = {d->server, d->realm, d->req->r->user, d->shop_id};

    return who;
}

sr_csrf_t sr_page_csrf_check(const dash_t *d, const char *token)
{
    sr_csrf_who_t who = csrf_who(d);

    return sr_csrf_check(d->req->r->pool, d->csrf_key, &who, token, apr_time_sec(apr_time_now()),
                         apr_time_sec(d->req->conf->csrf_lifetime));
}

int sr_page_begin(sr_req_t *req, dash_t *d)
{
    char *lower;

    memset(d, 0, sizeof(*d));
    d->req = req;
    if (!req->r->user) {
        return sr_page_error(req, HTTP_FORBIDDEN,
                             "Sign-in required: the dashboard needs httpd authentication on its <Location>.");
    }
    /* A user name means something only in the realm and on the server that checked it. */
    lower = apr_pstrdup(req->r->pool, req->r->server->server_hostname ? req->r->server->server_hostname : "");
    ap_str_tolower(lower);
    d->server = lower;
    d->realm = ap_auth_name(req->r) ? ap_auth_name(req->r) : "";
    if (!(d->db = sr_db_acquire(req->r))) {
        return sr_page_error(req, HTTP_SERVICE_UNAVAILABLE, "The database is unavailable. Try again shortly.");
    }
    return OK;
}

int sr_page_shop_found(dash_t *d, sr_status_t status)
{
    sr_req_t *req = d->req;
    sr_csrf_who_t who;

    if (status == SR_NOT_FOUND) {
        return sr_page_error(
            req, HTTP_FORBIDDEN,
            "This user has no shop here. Grant one with POST /api/shops/{id}/users (username, realm).");
    }
    if (status != SR_OK) {
        return sr_page_error(req, HTTP_SERVICE_UNAVAILABLE, "The database is unavailable. Try again shortly.");
    }
    if (!d->csrf_key) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, req->r,
                      SR_LOG_PREFIX "table installation has no row: no CSRF key, cancelling is disabled "
                                    "(run scripts/migrate)");
    }
    who = csrf_who(d);
    d->csrf = sr_csrf_issue(req->r->pool, d->csrf_key, &who, apr_time_sec(apr_time_now()));
    return OK;
}

void sr_page_take_shop(dash_t *d, const sr_result_t *res, int row)
{
    d->shop_id = sr_result_get(res, row, "id");
    d->shop_name = sr_result_get(res, row, "name");
    d->currency = sr_result_get(res, row, "currency");
    d->csrf_key = sr_result_get(res, row, "csrf_key");
}

/* Who is asking, and for which shop. OK, or DONE with the error page sent. */
int sr_page_open(sr_req_t *req, dash_t *d)
{
    int rc = sr_page_begin(req, d);

    if (rc != OK) {
        return rc;
    }
    return sr_page_shop_found(d, sr_db_read(d->db, shop_work, d));
}

/* sr_page_open and sr_filter_parse for the filtered pages: OK, or DONE with the error page sent. */
int sr_page_open_filtered(sr_req_t *req, dash_t *d, sr_filter_t *f)
{
    const char *problem = NULL;
    apr_table_t *args = NULL;
    int rc = sr_page_open(req, d);

    if (rc != OK) {
        return rc;
    }
    ap_args_to_table(req->r, &args);
    if (!sr_filter_parse(req->r->pool, args, f, &problem)) {
        return sr_page_error(req, HTTP_BAD_REQUEST, problem);
    }
    return OK;
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

const char *sr_page_url(const dash_t *d, const char *path)
{
    return mount_url(d->req, path);
}

/* --- GET /app ------------------------------------------------------------------------ */

int sr_dashboard_home(sr_req_t *req)
{
    apr_table_setn(req->r->headers_out, "Location", mount_url(req, "/appointments"));
    return HTTP_SEE_OTHER;
}

void sr_page_cancel_form(request_rec *r, const dash_t *d, const char *id)
{
    if (!d->csrf) {
        return;
    }
    ap_rvputs(
        r, "<form class=\"inline\" method=\"post\" action=\"",
        sr_html_escape(r->pool, sr_page_url(d, apr_pstrcat(r->pool, "/appointments/", id, "/cancel", (char *)NULL))),
        "\"><input type=\"hidden\" name=\"csrf\" value=\"", sr_html_escape(r->pool, d->csrf),
        "\"><button type=\"submit\" class=\"danger\">Cancel</button></form>", (char *)NULL);
}

/* --- the detail pages (sr_page_slot_opening.c, sr_page_appointment.c) ----------------------- */

/* Loads one row of the user's shop: OK, or DONE with a 404/503 page sent. */
int sr_page_load_detail(sr_req_t *req, dash_t *d, detail_work_t *w, sr_db_work_fn *work, const char *what)
{
    int rc = sr_page_open(req, d);

    if (rc != OK) {
        return rc;
    }
    memset(w, 0, sizeof(*w));
    w->d = d;
    w->id = req->id;
    if (sr_db_read(d->db, work, w) != SR_OK) {
        return sr_page_error(req, HTTP_SERVICE_UNAVAILABLE, "The database is unavailable. Try again shortly.");
    }
    if (w->main->nrows == 0) {
        /* Another shop's id reads exactly like one that does not exist. */
        return sr_page_error(req, HTTP_NOT_FOUND, apr_pstrcat(req->r->pool, "No such ", what, ".", (char *)NULL));
    }
    return OK;
}

void sr_page_detail_begin(request_rec *r, const dash_t *d, const char *title)
{
    sr_html_begin(r, d->req->mount, title, d->shop_name);
    sr_page_notices(r, d);
    ap_rputs("<p class=\"back\">", r);
    sr_html_link(r, sr_page_url(d, "/appointments"), "\xe2\x86\x90 All appointments");
    ap_rputs("</p>\n", r);
}

const char *sr_page_time_range(apr_pool_t *p, const sr_result_t *res, int i)
{
    return apr_pstrcat(p, sr_result_get(res, i, "starts"), "\xe2\x80\x93", sr_result_get(res, i, "ends"), (char *)NULL);
}

void sr_page_field_row(request_rec *r, const char *label, const char *value)
{
    ap_rputs("<tr><th>", r);
    sr_html_text(r, label);
    ap_rputs("</th><td>", r);
    sr_html_text(r, value);
    ap_rputs("</td></tr>\n", r);
}

const sr_statement_t *const sr_dashboard_statements[] = {&stmt_dash_shop_for_user, &stmt_dash_twilio_problem, NULL};
