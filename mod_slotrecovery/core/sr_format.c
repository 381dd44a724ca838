/* SPDX-License-Identifier: Apache-2.0 */
/* Formatting for SMS and pages. */
#include <apr_lib.h>
#include <apr_strings.h>

#include "sr_format.h"

/* Currencies Stripe counts in whole units. */
static int zero_decimal_currency(const char *currency)
{
    static const char *const zero[] = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
                                       "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"};
    apr_size_t i;

    for (i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
        if (!strcmp(currency, zero[i])) {
            return 1;
        }
    }
    return 0;
}

const char *sr_format_money(apr_pool_t *p, const char *minor_units, const char *currency)
{
    apr_int64_t amount = apr_atoi64(minor_units);
    char *code = apr_pstrdup(p, currency);
    char *c;

    for (c = code; *c; c++) {
        *c = (char)apr_toupper(*c);
    }
    if (zero_decimal_currency(currency)) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT " %s", amount, code);
    }
    return apr_psprintf(p, "%" APR_INT64_T_FMT ".%02d %s", amount / 100, (int)(amount % 100), code);
}

const char *sr_format_duration(apr_pool_t *p, apr_int64_t seconds)
{
    if (seconds >= 3600 && seconds % 3600 == 0) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT " h", seconds / 3600);
    }
    if (seconds >= 60) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT " min", seconds / 60);
    }
    return apr_psprintf(p, "%" APR_INT64_T_FMT " s", seconds);
}
