/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Outbound HTTP for the provider clients (Twilio, Stripe): the libcurl
 * sr_http_client_t (core/sr_http_client.h) they are given. The only file that
 * knows libcurl is sr_http.c. Handles are pooled per process and reused, so
 * connections to a provider stay open across calls.
 */
#ifndef SR_HTTP_H
#define SR_HTTP_H

#include <apr_pools.h>

#include <httpd.h>

#include "sr_http_client.h" /* sr_http_request_t, sr_http_response_t, sr_http_client_t */

/* Once in the parent, before any thread exists (post_config). */
void sr_http_global_init(void);
/* Once per child process: the handle pool lives in pchild. */
apr_status_t sr_http_child_init(apr_pool_t *pchild, server_rec *s);

/*
 * The libcurl client: perform() runs one exchange on a pooled easy handle;
 * perform_all() runs a batch over a few shared connections (a pooled multi
 * handle). Before child_init (-X tools) each exchange gets a one-off handle.
 */
const sr_http_client_t *sr_http_curl_client(void);

#endif /* SR_HTTP_H */
