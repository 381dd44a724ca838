/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Outbound HTTP for the provider clients (Twilio, Stripe). The only file that
 * knows libcurl is sr_http.c. Handles are pooled per process and reused, so
 * connections to a provider stay open across calls.
 */
#ifndef SR_HTTP_H
#define SR_HTTP_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include <httpd.h>

#include "sr_form.h" /* sr_form_t: the bodies the clients send */

typedef struct {
    const char *method; /* "GET" or "POST" */
    const char *url;
    const apr_table_t *headers; /* extra request headers, may be NULL */
    const char *basic_user;     /* HTTP Basic credentials, or NULL */
    const char *basic_password;
    const char *bearer_token;    /* Authorization: Bearer, or NULL */
    const char *form;            /* application/x-www-form-urlencoded body, or NULL */
    apr_interval_time_t timeout; /* whole exchange */
} sr_http_request_t;

typedef struct {
    int status;       /* the HTTP status; 0 when no answer arrived */
    const char *body; /* NUL-terminated */
    apr_size_t body_len;
    const char *error; /* why no answer arrived (refused, timed out), else NULL */
} sr_http_response_t;

/* Once in the parent, before any thread exists (post_config). */
void sr_http_global_init(void);
/* Once per child process: the handle pool lives in pchild. */
apr_status_t sr_http_child_init(apr_pool_t *pchild, server_rec *s);

/* Performs one exchange; APR_SUCCESS when an HTTP answer arrived (any status). */
apr_status_t sr_http_perform(apr_pool_t *p, const sr_http_request_t *req, sr_http_response_t *res);
/*
 * Performs n exchanges at once over a few shared connections (a batch of
 * SMS): res[i] is filled as sr_http_perform() fills it for reqs[i].
 */
void sr_http_perform_all(apr_pool_t *p, int n, const sr_http_request_t *reqs, sr_http_response_t *res);


#endif /* SR_HTTP_H */
