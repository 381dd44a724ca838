/* HMACs and constant-time comparison: the module's one user of OpenSSL. */
#ifndef SR_CRYPTO_H
#define SR_CRYPTO_H

#include <apr_pools.h>

/* Lower-case hex of HMAC-SHA256(key, data); NULL on failure. */
const char *sr_hmac_sha256_hex(apr_pool_t *p, const char *key, const char *data, apr_size_t len);
/* Base64 of HMAC-SHA1(key, data); NULL on failure. */
const char *sr_hmac_sha1_base64(apr_pool_t *p, const char *key, const char *data, apr_size_t len);
/* Whether two strings are equal, in time independent of their content and length. */
int sr_secret_equals(const char *given, const char *expected);

#endif /* SR_CRYPTO_H */
