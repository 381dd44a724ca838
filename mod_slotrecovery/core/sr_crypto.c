/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL, behind sr_crypto.h. */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include <apr_base64.h>
#include <apr_strings.h>

#include "sr_crypto.h"

const char *sr_hmac_sha256_hex(apr_pool_t *p, const char *key, const char *data, apr_size_t len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0, i;
    char *out;

    if (!HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)data, len, mac, &mac_len)) {
        return NULL;
    }
    out = apr_palloc(p, 2 * mac_len + 1);
    for (i = 0; i < mac_len; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 0xf];
    }
    out[2 * mac_len] = '\0';
    return out;
}

struct sr_hmac {
    EVP_MAC_CTX *ctx;
    apr_pool_t *pool;
    int failed;
};

static apr_status_t mac_ctx_cleanup(void *ctx)
{
    EVP_MAC_CTX_free(ctx);
    return APR_SUCCESS;
}

sr_hmac_t *sr_hmac_sha1_begin(apr_pool_t *p, const char *key)
{
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    sr_hmac_t *h;

    if (!mac) {
        return NULL;
    }
    h = apr_pcalloc(p, sizeof(*h));
    h->pool = p;
    h->ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);
    if (!h->ctx) {
        return NULL;
    }
    apr_pool_cleanup_register(p, h->ctx, mac_ctx_cleanup, apr_pool_cleanup_null);
    if (!EVP_MAC_init(h->ctx, (const unsigned char *)key, strlen(key), params)) {
        return NULL;
    }
    return h;
}

void sr_hmac_update(sr_hmac_t *h, const void *data, apr_size_t len)
{
    if (len && !EVP_MAC_update(h->ctx, data, len)) {
        h->failed = 1;
    }
}

const char *sr_hmac_base64(sr_hmac_t *h)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    char *out;

    if (h->failed || !EVP_MAC_final(h->ctx, mac, &mac_len, sizeof(mac))) {
        return NULL;
    }
    out = apr_palloc(h->pool, (apr_size_t)apr_base64_encode_len((int)mac_len));
    apr_base64_encode(out, (const char *)mac, (int)mac_len);
    return out;
}

int sr_secret_equals(const char *given, const char *expected)
{
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];

    if (!given || !expected) {
        return 0;
    }
    /* Comparing digests keeps the time independent of both content and length. */
    SHA256((const unsigned char *)given, strlen(given), a);
    SHA256((const unsigned char *)expected, strlen(expected), b);
    return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}
