/* SPDX-License-Identifier: Apache-2.0 */
/* Calling an sr_http_client_t: the fallbacks for a missing client or batch. */
#include "sr_http_client.h"

static apr_status_t no_client(sr_http_response_t *res)
{
    res->status = 0;
    res->body = "";
    res->body_len = 0;
    res->error = "no HTTP client";
    return APR_EINIT;
}

apr_status_t sr_http_client_perform(const sr_http_client_t *client, apr_pool_t *p, const sr_http_request_t *req,
                                    sr_http_response_t *res)
{
    if (!client || !client->perform) {
        return no_client(res);
    }
    return client->perform(client->baton, p, req, res);
}

void sr_http_client_perform_all(const sr_http_client_t *client, apr_pool_t *p, int n, const sr_http_request_t *reqs,
                                sr_http_response_t *res)
{
    int i;

    if (client && client->perform_all) {
        client->perform_all(client->baton, p, n, reqs, res);
        return;
    }
    for (i = 0; i < n; i++) {
        sr_http_client_perform(client, p, &reqs[i], &res[i]);
    }
}
