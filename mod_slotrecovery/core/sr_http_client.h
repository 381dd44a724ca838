/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Outbound HTTP as the core sees it: a request, its answer, and an interface
 * the glue fills (httpd/sr_http.c: libcurl, pooled handles). The provider
 * clients (sr_stripe_client, sr_twilio_client) build requests and read
 * answers through it, so they run in unit tests with a client of the test's.
 */
#ifndef SR_HTTP_CLIENT_H
#define SR_HTTP_CLIENT_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

typedef struct {
    const char *method; /* "GET" or "POST" */
    const char *url;
    const apr_table_t *headers; /* extra request headers, may be NULL */
    const char *basic_user;     /* HTTP Basic credentials, or NULL */
    const char *basic_password;
    const char *bearer_token;    /* Authorization: Bearer, or NULL */
    const char *form;            /* application/x-www-form-urlencoded body, or NULL */
    apr_interval_time_t timeout; /* whole exchange; 0: the client's default (10 s) */
} sr_http_request_t;

typedef struct {
    int status;       /* the HTTP status; 0 when no answer arrived */
    const char *body; /* NUL-terminated */
    apr_size_t body_len;
    const char *error; /* why no answer arrived (refused, timed out), else NULL */
} sr_http_response_t;

typedef struct sr_http_client {
    /* Performs one exchange; APR_SUCCESS when an HTTP answer arrived (any status), else res->error says why. */
    apr_status_t (*perform)(void *baton, apr_pool_t *p, const sr_http_request_t *req, sr_http_response_t *res);
    /*
     * Performs n exchanges at once (a batch of SMS): res[i] as perform()
     * fills it for reqs[i]. May be NULL: sr_http_perform_all() then performs
     * them one after the other.
     */
    void (*perform_all)(void *baton, apr_pool_t *p, int n, const sr_http_request_t *reqs, sr_http_response_t *res);
    void *baton;
} sr_http_client_t;

/* Through client; without one, no answer (status 0, "no HTTP client"). */
apr_status_t sr_http_client_perform(const sr_http_client_t *client, apr_pool_t *p, const sr_http_request_t *req,
                                    sr_http_response_t *res);
void sr_http_client_perform_all(const sr_http_client_t *client, apr_pool_t *p, int n, const sr_http_request_t *reqs,
                                sr_http_response_t *res);

#endif /* SR_HTTP_CLIENT_H */
