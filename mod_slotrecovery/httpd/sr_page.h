/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the dashboard's pages share (sr_dashboard.c): the signed-in user's
 * shop, the error page, the Twilio-credentials notice, CSRF tokens, the
 * slot-openings filters and the links under the mount. Each page is a file
 * of its own: sr_page_appointments.c, sr_page_appointment.c,
 * sr_page_slot_opening.c, sr_page_slot_openings_csv.c.
 */
#ifndef SR_PAGE_H
#define SR_PAGE_H

#include "sr_csrf.h"
#include "sr_dashboard.h"
#include "sr_db.h"
#include "sr_filter.h"
#include "sr_html.h"

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

/* One row of the user's shop and the rows that go with it, for the detail pages. */
typedef struct {
    dash_t *d;
    const char *id;
    sr_result_t *main, *rows;
} detail_work_t;

/* An open slot nobody on the waitlist can take yet (until a customer joins or its cutoff). */
#define SR_WAITING_TEXT "waiting for a waitlist customer"

/* The error page (logged); returns DONE. */
int sr_page_error(sr_req_t *req, int status, const char *message);
/* Who is asking, and for which shop. OK, or DONE with the error page sent. */
int sr_page_open(sr_req_t *req, dash_t *d);
/*
 * sr_page_open in steps, for a page that reads the shop in its own statement:
 * begin (the login and the connection), take the shop's row (columns id,
 * name, currency, csrf_key), then found with the read's status (SR_NOT_FOUND:
 * no shop for this login). Each returns OK, or DONE with the error page sent.
 */
int sr_page_begin(sr_req_t *req, dash_t *d);
void sr_page_take_shop(dash_t *d, const sr_result_t *res, int row);
int sr_page_shop_found(dash_t *d, sr_status_t status);
/* sr_page_open and the filters for the filtered pages: OK, or DONE with the error page sent. */
int sr_page_open_filtered(sr_req_t *req, dash_t *d, sr_filter_t *f);
/* Loads one row of the user's shop with work: OK, or DONE with a 404/503 page sent. */
int sr_page_load_detail(sr_req_t *req, dash_t *d, detail_work_t *w, sr_db_work_fn *work, const char *what);
/* Whether a form's token is ours, for this login and shop, and neither expired nor from the future. */
sr_csrf_t sr_page_csrf_check(const dash_t *d, const char *token);

/* The notice every page shows while Twilio refuses this server's credentials. */
void sr_page_notices(request_rec *r, const dash_t *d);
/* The Cancel button of an appointment (nothing when cancelling is disabled). */
void sr_page_cancel_form(request_rec *r, const dash_t *d, const char *id);
/* <tr><th>label</th><td>value</td></tr>, both escaped. */
void sr_page_field_row(request_rec *r, const char *label, const char *value);

/* The start of a detail page: the frame titled title, the notices, the link back to the list. */
void sr_page_detail_begin(request_rec *r, const dash_t *d, const char *title);
/* "starts\xe2\x80\x93ends" of row i of res (its columns starts and ends), as the pages show a time. */
const char *sr_page_time_range(apr_pool_t *p, const sr_result_t *res, int i);

/* A dashboard URL under the mount: path is already a URL. */
const char *sr_page_url(const dash_t *d, const char *path);

/*
 * Every dashboard statement names the shop of the signed-in user, so another
 * shop's ids match nothing; times are shown in the shop's zone. The slot
 * filters of the list, its figures and its CSV: status (or NULL), first and
 * last day of the slot's date in the shop's zone (or NULL), each twice.
 */
#define SR_SLOT_FILTERS                                                                                                \
    "AND (%s::text IS NULL OR o.status = %s) "                                                                         \
    "AND (%s::date IS NULL OR o.starts_at >= (%s::date)::timestamp AT TIME ZONE s.timezone) "                          \
    "AND (%s::date IS NULL OR o.starts_at < ((%s::date) + 1)::timestamp AT TIME ZONE s.timezone) "

/* The statements each page runs (listed in sr_statement_tables.c). */
extern const sr_statement_t *const sr_page_appointment_statements[];
extern const sr_statement_t *const sr_page_appointments_statements[];
extern const sr_statement_t *const sr_page_slot_opening_statements[];
extern const sr_statement_t *const sr_page_slot_openings_csv_statements[];

#endif /* SR_PAGE_H */
