/*
 * sr_twilio_signature_valid (mod_slotrecovery/sr_twilio.c) over form params.
 *
 * Input: the URL, '\n', the X-Twilio-Signature value, '\n', an
 * application/x-www-form-urlencoded body. The body is decoded as httpd's
 * ap_parse_form_data does (split on '&', '=', '+' is a space, %XX decoded; a
 * value ends at a decoded NUL as the module's C strings do). Besides the given
 * signature, the signature computed here independently (sorted by name, then
 * value; url + name + value; HMAC-SHA1; base64) must be accepted and that one
 * with a character changed refused.
 */
#include <openssl/hmac.h>

#include <apr_base64.h>
#include <apr_escape.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "fuzz_common.h"
#include "sr_twilio.h"

#define TOKEN "fuzz-twilio-auth-token"

static char *decode(apr_pool_t *p, const char *s, size_t len)
{
    char *raw = apr_pstrmemdup(p, s, len), *c;
    char *out;

    for (c = raw; *c; c++) {
        if (*c == '+') {
            *c = ' ';
        }
    }
    out = (char *)apr_punescape_url(p, raw, NULL, NULL, 0);
    /* Malformed escapes: kept as sent. */
    return fuzz_strndup((const uint8_t *)(out ? out : raw), strlen(out ? out : raw));
}

static int cmp(const void *a, const void *b)
{
    const sr_param_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c ? c : strcmp(x->value, y->value);
}

static char *reference_signature(apr_pool_t *p, const char *url, const apr_array_header_t *params)
{
    apr_array_header_t *sorted = apr_array_copy(p, params);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    char *data = apr_pstrdup(p, url), *out;
    int i;

    qsort(sorted->elts, (size_t)sorted->nelts, sizeof(sr_param_t), cmp);
    for (i = 0; i < sorted->nelts; i++) {
        const sr_param_t *pair = &APR_ARRAY_IDX(sorted, i, sr_param_t);

        data = apr_pstrcat(p, data, pair->name, pair->value, NULL);
    }
    HMAC(EVP_sha1(), TOKEN, (int)strlen(TOKEN), (unsigned char *)data, strlen(data), mac, &mac_len);
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
    apr_array_header_t *params;
    char *expected, *state = NULL, *pair;

    fuzz_init();
    apr_pool_create(&p, fuzz_root);
    params = apr_array_make(p, 8, sizeof(sr_param_t));
    for (pair = apr_strtok(apr_pstrdup(p, form), "&", &state); pair && params->nelts < 32;
         pair = apr_strtok(NULL, "&", &state)) {
        char *eq = strchr(pair, '=');
        sr_param_t *param = apr_array_push(params);

        param->name = decode(p, pair, eq ? (size_t)(eq - pair) : strlen(pair));
        param->value = eq ? decode(p, eq + 1, strlen(eq + 1)) : fuzz_strndup((const uint8_t *)"", 0);
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
