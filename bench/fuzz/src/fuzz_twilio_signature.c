/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sr_twilio_signature_valid (mod_slotrecovery/core/sr_twilio_protocol.c) over form params.
 *
 * Input: the URL, '\n', the X-Twilio-Signature value, '\n', an
 * application/x-www-form-urlencoded body, read by the module's own form parser
 * (sr_form_parse: the fields' raw bytes, NULs included). Besides the given
 * signature, the signature computed here independently (sorted by name, then
 * value, as bytes; url + name + value in one buffer; HMAC-SHA1; base64) must
 * be accepted and that one with a character changed refused.
 */
#include <openssl/hmac.h>

#include <apr_base64.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "fuzz_common.h"
#include "sr_form.h"
#include "sr_twilio_protocol.h"

#define TOKEN "fuzz-twilio-auth-token"

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
    size_t i;

    for (i = 0; i < an && i < bn; i++) {
        if (a[i] != b[i]) {
            return (unsigned char)a[i] < (unsigned char)b[i] ? -1 : 1;
        }
    }
    return an == bn ? 0 : an < bn ? -1 : 1;
}

static int cmp(const void *a, const void *b)
{
    const sr_param_t *x = a, *y = b;
    int c = cmp_bytes(x->raw_name, x->raw_name_len, y->raw_name, y->raw_name_len);

    return c ? c : cmp_bytes(x->raw_value, x->raw_value_len, y->raw_value, y->raw_value_len);
}

static char *reference_signature(apr_pool_t *p, const char *url, const apr_array_header_t *params)
{
    apr_array_header_t *sorted = apr_array_copy(p, params);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    size_t size = strlen(url), used;
    char *data, *out;
    int i;

    qsort(sorted->elts, (size_t)sorted->nelts, sizeof(sr_param_t), cmp);
    for (i = 0; i < sorted->nelts; i++) {
        const sr_param_t *pair = &APR_ARRAY_IDX(sorted, i, sr_param_t);

        size += pair->raw_name_len + pair->raw_value_len;
    }
    data = malloc(size + 1);
    memcpy(data, url, used = strlen(url));
    for (i = 0; i < sorted->nelts; i++) {
        const sr_param_t *pair = &APR_ARRAY_IDX(sorted, i, sr_param_t);

        memcpy(data + used, pair->raw_name, pair->raw_name_len);
        used += pair->raw_name_len;
        memcpy(data + used, pair->raw_value, pair->raw_value_len);
        used += pair->raw_value_len;
    }
    HMAC(EVP_sha1(), TOKEN, (int)strlen(TOKEN), (unsigned char *)data, used, mac, &mac_len);
    free(data);
    out = apr_palloc(p, (apr_size_t)apr_base64_encode_len((int)mac_len));
    apr_base64_encode(out, (const char *)mac, (int)mac_len);
    return fuzz_strndup((const uint8_t *)out, strlen(out));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const uint8_t *rest, *body;
    size_t rest_len, body_len;
    size_t url_len = fuzz_split(data, size, &rest, &rest_len);
    size_t sig_len = fuzz_split(rest, rest_len, &body, &body_len);
    char *url = fuzz_strndup(data, url_len);
    char *signature = fuzz_strndup(rest, sig_len);
    char *form = fuzz_strndup(body, body_len);
    apr_array_header_t *params = NULL;
    apr_size_t where;
    char *expected;

    fuzz_init();
    apr_pool_create(&p, fuzz_root);
    if (sr_form_parse(p, form, body_len, SR_FORM_MAX_PAIRS, &params, &where) != SR_FORM_OK) {
        /* Refused before any signature is computed. */
        apr_pool_destroy(p);
        fuzz_free_all();
        return 0;
    }
    (void)sr_twilio_signature_valid(p, TOKEN, url, params, signature);
    FUZZ_CHECK(!sr_twilio_signature_valid(p, TOKEN, url, params, NULL));
    FUZZ_CHECK(!sr_twilio_signature_valid(p, NULL, url, params, signature));
    FUZZ_CHECK(!sr_twilio_signature_valid(p, TOKEN, url, params, fuzz_strndup((const uint8_t *)"", 0)));
    expected = reference_signature(p, url, params);
    FUZZ_CHECK(sr_twilio_signature_valid(p, TOKEN, url, params, expected));
    expected[0] = expected[0] == 'A' ? 'B' : 'A';
    FUZZ_CHECK(!sr_twilio_signature_valid(p, TOKEN, url, params, expected));
    apr_pool_destroy(p);
    fuzz_free_all();
    return 0;
}
