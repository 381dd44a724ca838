/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sr_stripe_signature_problem (mod_slotrecovery/core/sr_stripe_protocol.c).
 *
 * Input: the Stripe-Signature header, '\n', the raw body (any bytes). "now" is
 * fixed at 1700000000 with the default 300 s tolerance. Every "{sig}" in the
 * header is replaced by the correct v1 signature of "1700000000.<body>" under
 * the test secret, so the matching branch is reached too: a header that is
 * exactly "t=1700000000,v1={sig}" must be accepted, and one byte changed in
 * that signature must be refused.
 */
#include <openssl/hmac.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "fuzz_common.h"
#include "sr_stripe_protocol.h"

#define SECRET "whsec_fuzz_secret"
#define NOW_SEC 1700000000

static char *expected_signature(const uint8_t *body, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0, i;
    size_t plen = strlen("1700000000.") + len;
    unsigned char *payload = malloc(plen ? plen : 1);
    char *out = malloc(2 * EVP_MAX_MD_SIZE + 1);

    memcpy(payload, "1700000000.", strlen("1700000000."));
    memcpy(payload + strlen("1700000000."), body, len);
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), payload, plen, mac, &mac_len);
    for (i = 0; i < mac_len; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 0xf];
    }
    out[2 * mac_len] = '\0';
    free(payload);
    return out;
}

static const char *check(apr_pool_t *p, const char *header, const uint8_t *body, size_t len)
{
    char *copy = malloc(len ? len : 1); /* exact size: no NUL after the body */
    const char *problem;

    memcpy(copy, body, len);
    problem = sr_stripe_signature_problem(p, SECRET, header, copy, len, apr_time_from_sec(300),
                                          apr_time_from_sec(NOW_SEC));
    free(copy);
    return problem;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const uint8_t *body;
    size_t body_len, header_len = fuzz_split(data, size, &body, &body_len);
    char *header = fuzz_strndup(data, header_len);
    char *sig = expected_signature(body, body_len);

    fuzz_init();
    apr_pool_create(&p, fuzz_root);
    if (strstr(header, "{sig}")) {
        /* Substitute every placeholder, in an exact-size buffer. */
        const char *c;
        size_t n = 0;
        char *out, *o;

        for (c = header; (c = strstr(c, "{sig}")); c += 5) {
            n++;
        }
        out = malloc(strlen(header) + n * (strlen(sig) - 5) + 1);
        for (o = out, c = header; *c;) {
            if (!strncmp(c, "{sig}", 5)) {
                memcpy(o, sig, strlen(sig));
                o += strlen(sig);
                c += 5;
            }
            else {
                *o++ = *c++;
            }
        }
        *o = '\0';
        if (!strcmp(header, "t=1700000000,v1={sig}")) {
            FUZZ_CHECK(check(p, out, body, body_len) == NULL);
            out[strlen(out) - 1] ^= 1; /* one bit of the signature's last digit */
            FUZZ_CHECK(check(p, out, body, body_len) != NULL);
        }
        else {
            check(p, out, body, body_len);
        }
        free(out);
    }
    else {
        const char *problem = check(p, header, body, body_len);

        /* Without the right signature nothing may pass (a forgery would be a finding). */
        FUZZ_CHECK(problem != NULL);
    }
    /* Missing header. */
    FUZZ_CHECK(check(p, NULL, body, body_len) != NULL);
    free(sig);
    apr_pool_destroy(p);
    fuzz_free_all();
    return 0;
}
