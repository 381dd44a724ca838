/* SPDX-License-Identifier: Apache-2.0 */
/* HMACs and constant-time comparison: the module's one user of OpenSSL. */
#ifndef SR_CRYPTO_H
#define SR_CRYPTO_H

#include <apr_pools.h>

/* Lower-case hex of HMAC-SHA256(key, data); NULL on failure. */
const char *sr_hmac_sha256_hex(apr_pool_t *p, const char *key, const char *data, apr_size_t len);
/*
 * HMAC-SHA1 fed piece by piece, so a long message is never concatenated:
 * begin (NULL on failure; the pool frees it), update with each piece, then
 * the base64 of the MAC (NULL on failure).
 */
typedef struct sr_hmac sr_hmac_t;
sr_hmac_t *sr_hmac_sha1_begin(apr_pool_t *p, const char *key);
void sr_hmac_update(sr_hmac_t *h, const void *data, apr_size_t len);
const char *sr_hmac_base64(sr_hmac_t *h);
/* Whether two strings are equal, in time independent of their content and length. */
int sr_secret_equals(const char *given, const char *expected);

#endif /* SR_CRYPTO_H */
