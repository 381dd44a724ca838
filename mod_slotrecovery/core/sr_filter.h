/* SPDX-License-Identifier: Apache-2.0 */
/* The dashboard's slot-openings filters and paging, from a query string's fields. */
#ifndef SR_FILTER_H
#define SR_FILTER_H

#include <apr_pools.h>
#include <apr_tables.h>

/* The highest page number accepted. */
#define SR_FILTER_MAX_PAGE 100000

typedef struct {
    const char *status; /* open, filled, expired or NULL: any */
    const char *from;   /* YYYY-MM-DD or NULL */
    const char *to;
    int page; /* from 1 */
} sr_filter_t;

/*
 * Reads status, from, to and page from args (decoded fields; NULL: none),
 * an empty field meaning "any". 1, or 0 with *problem set to the message
 * when one is wrong.
 */
int sr_filter_parse(apr_pool_t *p, apr_table_t *args, sr_filter_t *f, const char **problem);
/* Whether s is a calendar date, YYYY-MM-DD. */
int sr_filter_valid_date(apr_pool_t *p, const char *s);
/* The filters as a query string (without page), for links that keep them. */
const char *sr_filter_query(apr_pool_t *p, const sr_filter_t *f);

#endif /* SR_FILTER_H */
