/* SPDX-License-Identifier: Apache-2.0 */
/* The dashboard's form tokens (sr_csrf.h). */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "sr_crypto.h"
#include "sr_csrf.h"

/* The longest issued part accepted: twelve digits (seconds until the year 33658). */
#define SR_CSRF_MAX_DIGITS 12

/*
 * Fields are length-prefixed so no user name can pass for another field.
 * "csrf-v2" names this layout: tokens made before a change of it stop working.
 */
const char *sr_csrf_mac(apr_pool_t *p, const char *key, const sr_csrf_who_t *who, const char *issued)
{
    const char *data = apr_psprintf(
        p, "csrf-v2|%" APR_SIZE_T_FMT ":%s|%" APR_SIZE_T_FMT ":%s|%" APR_SIZE_T_FMT ":%s|%s|%s", strlen(who->server),
        who->server, strlen(who->realm), who->realm, strlen(who->user), who->user, who->shop_id, issued);

    return sr_hmac_sha256_hex(p, key, data, strlen(data));
}

const char *sr_csrf_issue(apr_pool_t *p, const char *key, const sr_csrf_who_t *who, apr_int64_t now)
{
    const char *issued;

    if (!key) {
        return NULL;
    }
    issued = apr_psprintf(p, "%" APR_INT64_T_FMT, now);
    return apr_pstrcat(p, issued, ".", sr_csrf_mac(p, key, who, issued), (char *)NULL);
}

sr_csrf_t sr_csrf_check(apr_pool_t *p, const char *key, const sr_csrf_who_t *who, const char *token, apr_int64_t now,
                        apr_int64_t lifetime)
{
    const char *dot = token ? strchr(token, '.') : NULL;
    const char *c, *issued;
    apr_int64_t when;

    if (!key || !dot || dot == token || dot - token > SR_CSRF_MAX_DIGITS) {
        return SR_CSRF_FORGED;
    }
    for (c = token; c < dot; c++) {
        if (!apr_isdigit(*c)) {
            return SR_CSRF_FORGED;
        }
    }
    issued = apr_pstrmemdup(p, token, (apr_size_t)(dot - token));
    if (!sr_secret_equals(dot + 1, sr_csrf_mac(p, key, who, issued))) {
        return SR_CSRF_FORGED;
    }
    when = apr_atoi64(issued);
    if (when > now + SR_CSRF_CLOCK_SKEW || now - when > lifetime) {
        return SR_CSRF_STALE;
    }
    return SR_CSRF_OK;
}
