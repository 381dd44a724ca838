/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dashboard's form tokens: "<issued, seconds since the epoch>.<MAC>",
 * the MAC an HMAC-SHA256 keyed with the installation's own CSRF key (not the
 * internal API secret) over where the login authenticated, who, which shop
 * and when the token was made.
 */
#ifndef SR_CSRF_H
#define SR_CSRF_H

#include <apr_pools.h>

/* Seconds a token's time may be ahead of this server's clock: several servers share one database. */
#define SR_CSRF_CLOCK_SKEW 60

/* Whom a token is for: the login (server name in lower case, realm, user) and the shop's id. */
typedef struct {
    const char *server, *realm, *user, *shop_id;
} sr_csrf_who_t;

typedef enum { SR_CSRF_OK, SR_CSRF_FORGED, SR_CSRF_STALE } sr_csrf_t;

/* The MAC's hex for issued (decimal seconds); NULL on failure. */
const char *sr_csrf_mac(apr_pool_t *p, const char *key, const sr_csrf_who_t *who, const char *issued);
/* A token issued at now (seconds since the epoch); NULL without a key. */
const char *sr_csrf_issue(apr_pool_t *p, const char *key, const sr_csrf_who_t *who, apr_int64_t now);
/*
 * Whether token (NULL: none) is ours for who: FORGED unless its MAC is,
 * STALE when it is more than SR_CSRF_CLOCK_SKEW seconds ahead of now or
 * older than lifetime seconds.
 */
sr_csrf_t sr_csrf_check(apr_pool_t *p, const char *key, const sr_csrf_who_t *who, const char *token, apr_int64_t now,
                        apr_int64_t lifetime);

#endif /* SR_CSRF_H */
