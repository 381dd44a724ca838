/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl, behind sr_http_client_t (sr_http.h). */
#include <curl/curl.h>

#include <apr_escape.h>
#include <apr_reslist.h>
#include <apr_strings.h>

#include "mod_slotrecovery.h"
#include "sr_http.h"

#define SR_HTTP_MAX_RESPONSE (1024 * 1024)
#define SR_HTTP_USER_AGENT "mod_slotrecovery/0.1"
/* Connections one curl_perform_all() opens at most, to one provider in practice. */
#define SR_HTTP_MAX_PARALLEL 16

/* Reusable easy handles of this process; NULL before child_init (e.g. in -X tools). */
static apr_reslist_t *handles;
/* Reusable multi handles for batches: each keeps its connections to the provider open between batches. */
static apr_reslist_t *multis;

void sr_http_global_init(void)
{
    static int done;

    if (!done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        done = 1;
    }
}

static apr_status_t handle_construct(void **resource, void *params, apr_pool_t *p)
{
    CURL *curl = curl_easy_init();

    if (!curl) {
        return APR_ENOMEM;
    }
    *resource = curl;
    return APR_SUCCESS;
}

static apr_status_t handle_destruct(void *resource, void *params, apr_pool_t *p)
{
    curl_easy_cleanup(resource);
    return APR_SUCCESS;
}

static apr_status_t multi_construct(void **resource, void *params, apr_pool_t *p)
{
    CURLM *multi = curl_multi_init();

    if (!multi) {
        return APR_ENOMEM;
    }
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)SR_HTTP_MAX_PARALLEL);
    *resource = multi;
    return APR_SUCCESS;
}

static apr_status_t multi_destruct(void *resource, void *params, apr_pool_t *p)
{
    curl_multi_cleanup(resource);
    return APR_SUCCESS;
}

apr_status_t sr_http_child_init(apr_pool_t *pchild, server_rec *s)
{
    /* min 0, soft max 4, hard max 64 (multi: 1 and 8), idle handles expire after 60 s. */
    apr_status_t rv =
        apr_reslist_create(&handles, 0, 4, 64, apr_time_from_sec(60), handle_construct, handle_destruct, NULL, pchild);

    if (rv == APR_SUCCESS) {
        rv = apr_reslist_create(&multis, 0, 1, 8, apr_time_from_sec(60), multi_construct, multi_destruct, NULL, pchild);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, SR_LOG_PREFIX "cannot create the HTTP client pool");
        handles = multis = NULL;
    }
    return rv;
}

typedef struct {
    char *data;
    apr_size_t len, cap;
    apr_pool_t *pool;
    int overflow;
} body_buffer_t;

static size_t collect_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    body_buffer_t *buf = userdata;
    apr_size_t n = size * nmemb;

    if (buf->len + n > SR_HTTP_MAX_RESPONSE) {
        buf->overflow = 1;
        return 0; /* aborts the transfer */
    }
    if (buf->len + n + 1 > buf->cap) {
        apr_size_t cap = buf->cap ? buf->cap : 4096;
        char *bigger;

        while (cap < buf->len + n + 1) {
            cap *= 2;
        }
        bigger = apr_palloc(buf->pool, cap);
        if (buf->len) {
            memcpy(bigger, buf->data, buf->len);
        }
        buf->data = bigger;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, ptr, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
    return n;
}

typedef struct {
    struct curl_slist **list;
} header_ctx_t;

static int add_header(void *ctx, const char *key, const char *value)
{
    struct curl_slist **list = ctx;
    char line[1024];

    apr_snprintf(line, sizeof(line), "%s: %s", key, value);
    *list = curl_slist_append(*list, line);
    return 1;
}

/* One exchange being set up or under way on an easy handle. */
typedef struct {
    CURL *curl;
    struct curl_slist *headers;
    body_buffer_t buf;
} exchange_t;

static void exchange_setup(exchange_t *x, apr_pool_t *p, const sr_http_request_t *req)
{
    CURL *curl = x->curl;
    long timeout_ms = (long)apr_time_as_msec(req->timeout > 0 ? req->timeout : apr_time_from_sec(10));

    x->headers = NULL;
    x->buf = (body_buffer_t){NULL, 0, 0, p, 0};
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, SR_HTTP_USER_AGENT);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x->buf);
    if (req->basic_user) {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(curl, CURLOPT_USERNAME, req->basic_user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, req->basic_password ? req->basic_password : "");
    }
    if (req->bearer_token) {
        x->headers =
            curl_slist_append(x->headers, apr_pstrcat(p, "Authorization: Bearer ", req->bearer_token, (char *)NULL));
    }
    if (req->headers) {
        apr_table_do(add_header, &x->headers, req->headers, (char *)NULL);
    }
    if (req->form) {
        x->headers = curl_slist_append(x->headers, "Content-Type: application/x-www-form-urlencoded");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->form);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(req->form));
    }
    else if (!strcmp(req->method, "POST")) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
    }
    x->headers = curl_slist_append(x->headers, "Accept: application/json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, x->headers);
}

static apr_status_t exchange_finish(exchange_t *x, CURLcode rc, apr_pool_t *p, sr_http_response_t *res)
{
    long status = 0;

    curl_slist_free_all(x->headers);
    x->headers = NULL;
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    res->status = rc == CURLE_OK ? (int)status : 0;
    res->body = x->buf.data ? x->buf.data : "";
    res->body_len = x->buf.len;
    res->error = NULL;
    if (rc != CURLE_OK) {
        res->error = x->buf.overflow ? "response too large" : apr_pstrdup(p, curl_easy_strerror(rc));
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

static void no_handle(sr_http_response_t *res)
{
    res->status = 0;
    res->body = "";
    res->body_len = 0;
    res->error = "cannot create an HTTP client handle";
}

static apr_status_t curl_perform(void *baton, apr_pool_t *p, const sr_http_request_t *req, sr_http_response_t *res)
{
    exchange_t x = {NULL, NULL, {NULL, 0, 0, p, 0}};
    int pooled = handles && apr_reslist_acquire(handles, (void **)&x.curl) == APR_SUCCESS;
    apr_status_t rv;

    /* No pool in this process (or it is exhausted): a one-off handle. */
    if (!pooled && !(x.curl = curl_easy_init())) {
        no_handle(res);
        return APR_ENOMEM;
    }
    exchange_setup(&x, p, req);
    rv = exchange_finish(&x, curl_easy_perform(x.curl), p, res);
    if (pooled) {
        apr_reslist_release(handles, x.curl);
    }
    else {
        curl_easy_cleanup(x.curl);
    }
    return rv;
}

static void curl_perform_all(void *baton, apr_pool_t *p, int n, const sr_http_request_t *reqs, sr_http_response_t *res)
{
    exchange_t *xs;
    CURLM *multi = NULL;
    CURLMsg *msg;
    int i, running = 0, left, pooled;

    if (n <= 1) {
        if (n == 1) {
            curl_perform(baton, p, reqs, res);
        }
        return;
    }
    /* The exchanges of a batch share the multi handle's connections (no pool: a one-off multi handle). */
    pooled = multis && apr_reslist_acquire(multis, (void **)&multi) == APR_SUCCESS;
    if (!pooled && multi_construct((void **)&multi, NULL, p) != APR_SUCCESS) {
        for (i = 0; i < n; i++) {
            no_handle(&res[i]);
        }
        return;
    }
    xs = apr_pcalloc(p, (apr_size_t)n * sizeof(*xs));
    for (i = 0; i < n; i++) {
        if (!(xs[i].curl = curl_easy_init())) {
            no_handle(&res[i]);
            continue;
        }
        exchange_setup(&xs[i], p, &reqs[i]);
        curl_easy_setopt(xs[i].curl, CURLOPT_PRIVATE, &xs[i]);
        curl_multi_add_handle(multi, xs[i].curl);
    }
    do {
        if (curl_multi_perform(multi, &running) != CURLM_OK ||
            (running && curl_multi_poll(multi, NULL, 0, 1000, NULL) != CURLM_OK)) {
            break;
        }
        while ((msg = curl_multi_info_read(multi, &left))) {
            exchange_t *x = NULL;

            if (msg->msg != CURLMSG_DONE) {
                continue;
            }
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            exchange_finish(x, msg->data.result, p, &res[x - xs]);
            curl_multi_remove_handle(multi, x->curl);
            curl_easy_cleanup(x->curl);
            x->curl = NULL;
        }
    } while (running);
    /* Only after a multi failure: whatever did not finish has no answer. */
    for (i = 0; i < n; i++) {
        if (xs[i].curl) {
            exchange_finish(&xs[i], CURLE_ABORTED_BY_CALLBACK, p, &res[i]);
            curl_multi_remove_handle(multi, xs[i].curl);
            curl_easy_cleanup(xs[i].curl);
        }
    }
    if (pooled) {
        apr_reslist_release(multis, multi);
    }
    else {
        curl_multi_cleanup(multi);
    }
}

const sr_http_client_t *sr_http_curl_client(void)
{
    /* No state of its own: the handle pools are the process's. */
    static const sr_http_client_t curl_client = {curl_perform, curl_perform_all, NULL};

    return &curl_client;
}
