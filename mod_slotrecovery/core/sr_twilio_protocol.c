/* SPDX-License-Identifier: Apache-2.0 */
/* Twilio's protocol: the webhook signature scheme. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_uri.h>

#include "sr_crypto.h"
#include "sr_twilio_protocol.h"

/* Byte order, as strcmp but over lengths: the decoded fields may hold NUL. */
static int compare_bytes(const char *a, apr_size_t a_len, const char *b, apr_size_t b_len)
{
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);

    return c ? c : (a_len > b_len) - (a_len < b_len);
}

static int compare_params(const void *a, const void *b)
{
    const sr_param_t *x = a, *y = b;
    int c = compare_bytes(x->raw_name, x->raw_name_len, y->raw_name, y->raw_name_len);

    return c ? c : compare_bytes(x->raw_value, x->raw_value_len, y->raw_value, y->raw_value_len);
}

int sr_twilio_signature_valid(apr_pool_t *p, const char *auth_token, const char *url, const apr_array_header_t *params,
                              const char *signature)
{
    apr_array_header_t *sorted;
    const char *expected;
    sr_hmac_t *mac;
    int i;

    if (!auth_token || !signature || !*signature || !(mac = sr_hmac_sha1_begin(p, auth_token))) {
        return 0;
    }
    sorted = apr_array_copy(p, params);
    qsort(sorted->elts, (size_t)sorted->nelts, (size_t)sorted->elt_size, compare_params);
    /* The signed string (the URL, then each name and value) is fed to the MAC
     * piece by piece: linear in the body, whatever its shape. */
    sr_hmac_update(mac, url, strlen(url));
    for (i = 0; i < sorted->nelts; i++) {
        const sr_param_t *pair = &APR_ARRAY_IDX(sorted, i, sr_param_t);

        sr_hmac_update(mac, pair->raw_name, pair->raw_name_len);
        sr_hmac_update(mac, pair->raw_value, pair->raw_value_len);
    }
    expected = sr_hmac_base64(mac);
    return expected && sr_secret_equals(signature, expected);
}

const char *const *sr_twilio_signed_url_candidates(apr_pool_t *p, const char *url)
{
    const char **urls = apr_pcalloc(p, 4 * sizeof(char *));
    apr_uri_t uri;
    int n = 0;

    urls[n++] = url;
    if (apr_uri_parse(p, url, &uri) == APR_SUCCESS && uri.scheme && uri.hostname) {
        const char *rest = apr_uri_unparse(p, &uri, APR_URI_UNP_OMITSITEPART);
        apr_port_t port = uri.port ? uri.port : apr_uri_port_of_scheme(uri.scheme);

        urls[n++] = apr_pstrcat(p, uri.scheme, "://", uri.hostname, rest, (char *)NULL);
        urls[n++] = apr_psprintf(p, "%s://%s:%u%s", uri.scheme, uri.hostname, port, rest);
    }
    return urls;
}

int sr_twilio_request_signature_valid(apr_pool_t *p, const char *auth_token, const char *url,
                                      const apr_array_header_t *params, const char *signature)
{
    const char *const *urls;

    for (urls = sr_twilio_signed_url_candidates(p, url); *urls; urls++) {
        if (sr_twilio_signature_valid(p, auth_token, *urls, params, signature)) {
            return 1;
        }
    }
    return 0;
}
