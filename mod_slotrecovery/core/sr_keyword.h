/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keyword of an inbound SMS (YES, NO, STOP, START, anything else HELP).
 * APR only, no httpd: sr_booking.c acts on it, bench/fuzz/src/fuzz_keyword.c
 * fuzzes it.
 */
#ifndef SR_KEYWORD_H
#define SR_KEYWORD_H

#include <apr_pools.h>

typedef enum { SR_KW_YES, SR_KW_NO, SR_KW_STOP, SR_KW_START, SR_KW_HELP } sr_keyword_t;

/*
 * ASCII case, white space before and after, and trailing '!', '.' and '?'
 * (mixed with trailing white space) do not matter: " yes!" is YES. The words:
 * YES, Y; NO, N; STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE,
 * OPTOUT; START, UNSTOP. Anything else, the empty body included, is HELP.
 */
sr_keyword_t sr_keyword_classify(apr_pool_t *p, const char *body);

#endif /* SR_KEYWORD_H */
