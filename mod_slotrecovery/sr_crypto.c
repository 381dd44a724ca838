/* OpenSSL, behind sr_crypto.h. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
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

const char *sr_hmac_sha1_base64(apr_pool_t *p, const char *key, const char *data, apr_size_t len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    char *out;

    if (!HMAC(EVP_sha1(), key, (int)strlen(key), (const unsigned char *)data, len, mac, &mac_len)) {
        return NULL;
    }
    out = apr_palloc(p, (apr_size_t)apr_base64_encode_len((int)mac_len));
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
