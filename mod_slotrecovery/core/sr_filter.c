/* SPDX-License-Identifier: Apache-2.0 */
/* The dashboard's slot-openings filters (sr_filter.h). */
#include <string.h>

#include <apr_escape.h>
#include <apr_strings.h>

#include "sr_filter.h"
#include "sr_validate.h"

int sr_filter_valid_date(apr_pool_t *p, const char *s)
{
    apr_time_t t;

    return strlen(s) == 10 && sr_parse_rfc3339(apr_pstrcat(p, s, "T00:00:00Z", (char *)NULL), &t);
}

int sr_filter_parse(apr_pool_t *p, apr_table_t *args, sr_filter_t *f, const char **problem)
{
    const char *page;

    memset(f, 0, sizeof(*f));
    f->page = 1;
    if (!args) {
        return 1;
    }
    f->status = apr_table_get(args, "status");
    f->from = apr_table_get(args, "from");
    f->to = apr_table_get(args, "to");
    page = apr_table_get(args, "page");
    /* An empty field of the filter form means "any". */
    f->status = f->status && *f->status ? f->status : NULL;
    f->from = f->from && *f->from ? f->from : NULL;
    f->to = f->to && *f->to ? f->to : NULL;
    if (f->status && strcmp(f->status, "open") && strcmp(f->status, "filled") && strcmp(f->status, "expired")) {
        *problem = "status must be open, filled or expired";
        return 0;
    }
    if ((f->from && !sr_filter_valid_date(p, f->from)) || (f->to && !sr_filter_valid_date(p, f->to))) {
        *problem = "from and to must be dates as YYYY-MM-DD";
        return 0;
    }
    if (page && *page) {
        char *end;
        apr_int64_t n = apr_strtoi64(page, &end, 10);

        if (*end || n < 1 || n > SR_FILTER_MAX_PAGE) {
            *problem = "page must be a number from 1";
            return 0;
        }
        f->page = (int)n;
    }
    return 1;
}

const char *sr_filter_query(apr_pool_t *p, const sr_filter_t *f)
{
    return apr_pstrcat(p, "status=", f->status ? apr_pescape_urlencoded(p, f->status) : "",
                       "&from=", f->from ? apr_pescape_urlencoded(p, f->from) : "",
                       "&to=", f->to ? apr_pescape_urlencoded(p, f->to) : "", (char *)NULL);
}
