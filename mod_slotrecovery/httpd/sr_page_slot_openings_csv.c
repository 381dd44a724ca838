/* SPDX-License-Identifier: Apache-2.0 */
/* GET /app/slot-openings.csv: the filtered slot openings, streamed in chunks. */
#include "sr_format.h"
#include "sr_page.h"

/* The export streams: SR_CSV_CHUNK rows a statement, each chunk in a pool of its own. */
#define SR_CSV_CHUNK 500
#define SR_CSV_MAX_ROWS 100000

typedef struct {
    dash_t *d;
    const sr_filter_t *f;
    const char *after_at, *after_id; /* the keyset of the last row sent */
    int limit;
    sr_result_t *rows;
} csv_work_t;

/*
 * One chunk of the CSV: the rows after the keyset (created_at, id) of the
 * last row sent ('infinity' and the largest id before the first), newest
 * first, at most the given number.
 */
static const sr_statement_t stmt_dash_slot_csv = {
    "sr_dash_slot_csv",
    "SELECT o.id::text AS id, o.created_at::text AS after_at, "
    "to_char(o.starts_at AT TIME ZONE s.timezone, 'YYYY-MM-DD HH24:MI') AS starts, "
    "to_char(o.ends_at AT TIME ZONE s.timezone, 'YYYY-MM-DD HH24:MI') AS ends, "
    "o.status AS status, "
    "to_char(o.created_at AT TIME ZONE s.timezone, 'YYYY-MM-DD HH24:MI') AS created, "
    "(SELECT count(*) FROM slot_offers f WHERE f.slot_opening_id = o.id "
    "AND f.sent_at IS NOT NULL) AS offers_sent, "
    "fc.name AS filled_by, o.filled_by_appointment_id::text AS booking_id, "
    "round(extract(epoch FROM o.filled_at - o.created_at))::bigint AS fill_seconds, "
    "p.amount AS deposit_amount, p.currency AS deposit_currency, p.status AS deposit_status "
    "FROM slot_openings o JOIN shops s ON s.id = o.shop_id "
    "LEFT JOIN appointments fa ON fa.id = o.filled_by_appointment_id "
    "LEFT JOIN customers fc ON fc.id = fa.customer_id "
    "LEFT JOIN payments p ON p.appointment_id = fa.id "
    "WHERE o.shop_id = %s::bigint " SR_SLOT_FILTERS "AND (o.created_at, o.id) < (%s::timestamptz, %s::bigint) "
    "ORDER BY o.created_at DESC, o.id DESC LIMIT %s::integer",
    "id,after_at,starts,ends,status,created,offers_sent,filled_by,booking_id,fill_seconds,deposit_amount,deposit_"
    "currency,deposit_status"};
static sr_result_t *q_dash_slot_csv(sr_db_t *db, const char *shop_id, const char *status, const char *from,
                                    const char *to, const char *after_at, const char *after_id, const char *limit)
{
    return sr_db_select(db, &stmt_dash_slot_csv,
                        SR_ARGS(shop_id, status, status, from, from, to, to, after_at, after_id, limit));
}

static sr_status_t csv_work(sr_db_t *db, void *baton)
{
    csv_work_t *w = baton;
    const sr_filter_t *f = w->f;

    w->rows = q_dash_slot_csv(db, w->d->shop_id, f->status, f->from, f->to, w->after_at, w->after_id,
                              apr_itoa(sr_db_pool(db), w->limit));
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
    sr_filter_t f;
    csv_work_t w;
    dash_t d;
    apr_size_t k;
    int sent = 0, rc = sr_page_open_filtered(req, &d, &f);

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
        return sr_page_error(req, HTTP_SERVICE_UNAVAILABLE, "The database is unavailable. Try again shortly.");
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

const sr_statement_t *const sr_page_slot_openings_csv_statements[] = {&stmt_dash_slot_csv, NULL};
