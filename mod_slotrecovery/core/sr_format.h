/* SPDX-License-Identifier: Apache-2.0 */
/* Words and numbers for people: the text of SMS and pages. */
#ifndef SR_FORMAT_H
#define SR_FORMAT_H

#include <apr_pools.h>

/* "20.00 USD" from minor units ("2000", "usd"); whole units for zero-decimal currencies. */
const char *sr_format_money(apr_pool_t *p, const char *minor_units, const char *currency);
/* "15 min", "2 h", "45 s"; rounded down, so an offer never promises more time than it has. */
const char *sr_format_duration(apr_pool_t *p, apr_int64_t seconds);

#endif /* SR_FORMAT_H */
