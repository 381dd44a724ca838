/* SPDX-License-Identifier: Apache-2.0 */
/* Request bodies, JSON answers, errors and the internal secret. */
#include <apr_lib.h>

#include "sr_crypto.h"
#include "sr_request.h"

int sr_status_to_http(sr_status_t status)
{
    switch (status) {
    case SR_OK:
        return HTTP_OK;
    case SR_INVALID:
        return HTTP_BAD_REQUEST;
    case SR_NOT_FOUND:
        return HTTP_NOT_FOUND;
    case SR_CONFLICT:
        return HTTP_CONFLICT;
    case SR_UNAVAILABLE:
    default:
        return HTTP_SERVICE_UNAVAILABLE;
    }
}

int sr_send_json(sr_req_t *req, int status, const sr_json_t *doc)
{
    request_rec *r = req->r;
    const char *text = sr_json_dump(r->pool, doc);

    r->status = status;
    ap_set_content_type(r, "application/json; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_length(r, (apr_off_t)strlen(text) + 1);
    if (!r->header_only) {
        ap_rvputs(r, text, "\n", (char *)NULL);
    }
    return OK;
}

int sr_send_error(sr_req_t *req, int status, const char *fmt, ...)
{
    request_rec *r = req->r;
    sr_json_t *doc = sr_json_object(r->pool);
    const char *message;
    va_list ap;

    va_start(ap, fmt);
    message = apr_pvsprintf(r->pool, fmt, ap);
    va_end(ap);

    ap_log_rerror(APLOG_MARK, status >= 500 ? APLOG_ERR : APLOG_WARNING, 0, r, SR_LOG_PREFIX "%s %s: %d %s", r->method,
                  r->uri, status, message);
    if (status == HTTP_SERVICE_UNAVAILABLE) {
        apr_table_setn(r->headers_out, "Retry-After", "5");
    }
    sr_json_set_string(doc, "error", message);
    sr_send_json(req, status, doc);
    /* DONE: the answer is complete; callers pass it straight back to httpd. */
    return DONE;
}

int sr_send_status(sr_req_t *req, sr_status_t status, const char *what)
{
    switch (status) {
    case SR_UNAVAILABLE:
        return sr_send_error(req, HTTP_SERVICE_UNAVAILABLE, "database unavailable, try again later");
    case SR_NOT_FOUND:
        return sr_send_error(req, HTTP_NOT_FOUND, "%s not found", what);
    default:
        return sr_send_error(req, sr_status_to_http(status), "%s", what);
    }
}

static apr_status_t destroy_pool(void *pool)
{
    apr_pool_destroy(pool);
    return APR_SUCCESS;
}

/*
 * A pool for a large request body (a form's fields with it), gone with the
 * request. Its own allocator hands freed blocks straight back to malloc: from
 * the request pool, a 256 KiB body's block would stay with the worker thread's
 * allocator (up to MaxMemFree), ThreadsPerChild times per child. A small body
 * (most: a webhook is a few KiB) stays in the request pool, where a pool and
 * allocator of its own would cost an mmap and munmap per request.
 */
#define SR_SMALL_BODY 16384

static apr_pool_t *body_pool(request_rec *r)
{
    apr_allocator_t *allocator;
    apr_pool_t *pool;

    if (apr_allocator_create(&allocator) != APR_SUCCESS) {
        return r->pool;
    }
    apr_allocator_max_free_set(allocator, 1);
    if (apr_pool_create_unmanaged_ex(&pool, apr_pool_abort_get(r->pool), allocator) != APR_SUCCESS) {
        apr_allocator_destroy(allocator);
        return r->pool;
    }
    apr_allocator_owner_set(allocator, pool);
    apr_pool_cleanup_register(r->pool, pool, destroy_pool, apr_pool_cleanup_null);
    return pool;
}

/*
 * sr_read_body into a buffer the caller may change (len + 1 bytes,
 * NUL-terminated), in the request pool while it is small, else in a body pool
 * (*pool says which: the caller allocates what it derives from the body there).
 */
static int read_body(sr_req_t *req, apr_pool_t **pool, char **body, apr_size_t *len)
{
    request_rec *r = req->r;
    apr_off_t limit = req->conf->max_body;
    apr_size_t used = 0, cap;
    char *buf;
    int rc;

    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK) {
        return sr_send_error(req, rc, "unreadable request body");
    }
    if (r->remaining > limit) {
        /* Refuse before reading a byte of an announced oversized body. */
        r->connection->keepalive = AP_CONN_CLOSE;
        return sr_send_error(req, HTTP_REQUEST_ENTITY_TOO_LARGE, "request body larger than %" APR_OFF_T_FMT " bytes",
                             limit);
    }
    /* An announced length is read into one buffer of that size (and a byte
     * more, for the read that sees the end); a chunked body grows it. */
    cap = r->remaining > 0 ? (apr_size_t)r->remaining + 1 : 8192;
    *pool = cap > SR_SMALL_BODY ? body_pool(r) : r->pool;
    buf = apr_palloc(*pool, cap + 1);
    if (ap_should_client_block(r)) {
        for (;;) {
            long n;

            if (used == cap) {
                char *bigger;

                cap *= 2;
                if (cap > SR_SMALL_BODY && *pool == r->pool) {
                    *pool = body_pool(r);
                }
                bigger = apr_palloc(*pool, cap + 1);
                memcpy(bigger, buf, used);
                buf = bigger;
            }
            n = ap_get_client_block(r, buf + used, cap - used);
            if (n == 0) {
                break;
            }
            if (n < 0) {
                r->connection->keepalive = AP_CONN_CLOSE;
                return sr_send_error(req, HTTP_BAD_REQUEST, "error reading the request body");
            }
            used += (apr_size_t)n;
            if ((apr_off_t)used > limit) {
                r->connection->keepalive = AP_CONN_CLOSE;
                return sr_send_error(req, HTTP_REQUEST_ENTITY_TOO_LARGE,
                                     "request body larger than %" APR_OFF_T_FMT " bytes", limit);
            }
        }
    }
    buf[used] = '\0';
    *body = buf;
    *len = used;
    return OK;
}

int sr_read_body(sr_req_t *req, const char **body, apr_size_t *len)
{
    apr_pool_t *pool;
    char *buf;
    int rc = read_body(req, &pool, &buf, len);

    *body = buf;
    return rc;
}

int sr_read_json_object(sr_req_t *req, sr_json_t **obj)
{
    const char *body, *error = NULL;
    apr_size_t len;
    int rc = sr_read_body(req, &body, &len);

    if (rc != OK) {
        return rc;
    }
    if (len == 0) {
        return sr_send_error(req, HTTP_BAD_REQUEST, "a JSON object is required as the request body");
    }
    *obj = sr_json_parse(req->r->pool, body, len, &error);
    if (!*obj) {
        return sr_send_error(req, HTTP_BAD_REQUEST, "malformed JSON: %s", error);
    }
    if (!sr_json_is_object(*obj)) {
        return sr_send_error(req, HTTP_BAD_REQUEST, "the request body must be a JSON object");
    }
    return OK;
}

/* Whether a Content-Type is application/x-www-form-urlencoded, parameters (charset) or not. */
static int is_form_type(const char *type)
{
    static const char form[] = "application/x-www-form-urlencoded";
    const char *rest;

    if (!type || ap_cstr_casecmpn(type, form, sizeof(form) - 1)) {
        return 0;
    }
    rest = type + sizeof(form) - 1;
    while (apr_isspace(*rest)) {
        rest++;
    }
    return !*rest || *rest == ';';
}

int sr_read_form(sr_req_t *req, apr_array_header_t **params)
{
    request_rec *r = req->r;
    apr_pool_t *pool;
    apr_size_t len, where = 0;
    char *body;
    int rc;

    if ((rc = read_body(req, &pool, &body, &len)) != OK) {
        return rc;
    }
    if (len && !is_form_type(apr_table_get(r->headers_in, "Content-Type"))) {
        return sr_send_error(req, HTTP_UNSUPPORTED_MEDIA_TYPE,
                             "a form body (Content-Type: application/x-www-form-urlencoded) is required");
    }
    switch (sr_form_parse(pool, body, len, SR_FORM_MAX_PAIRS, params, &where)) {
    case SR_FORM_TOO_MANY:
        return sr_send_error(req, HTTP_REQUEST_ENTITY_TOO_LARGE, "form with more than %d fields", SR_FORM_MAX_PAIRS);
    case SR_FORM_BAD_ESCAPE:
        return sr_send_error(req, HTTP_BAD_REQUEST, "malformed %%-escape in the form body at byte %" APR_SIZE_T_FMT,
                             where);
    default:
        return OK;
    }
}

int sr_require_internal_secret(sr_req_t *req)
{
    const char *given;

    if (!req->conf->internal_secret) {
        return sr_send_error(req, HTTP_SERVICE_UNAVAILABLE,
                             "internal API disabled: SlotRecoveryInternalSecret is not configured");
    }
    given = apr_table_get(req->r->headers_in, "x-internal-secret");
    if (!sr_secret_equals(given, req->conf->internal_secret)) {
        apr_table_setn(req->r->err_headers_out, "WWW-Authenticate", "X-Internal-Secret");
        return sr_send_error(req, HTTP_UNAUTHORIZED,
                             given ? "wrong x-internal-secret" : "missing x-internal-secret header");
    }
    return OK;
}

const char *sr_public_prefix(const sr_req_t *req)
{
    if (!req->conf->public_base_url) {
        return NULL;
    }
    return apr_pstrcat(req->r->pool, req->conf->public_base_url, req->mount, (char *)NULL);
}
