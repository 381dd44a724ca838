/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Escaping values for the dashboard's output: HTML text and attributes, CSV
 * cells. APR only, no httpd: sr_html.c and the dashboard pages write with these,
 * bench/fuzz/src/fuzz_html.c and fuzz_csv.c fuzz them.
 */
#ifndef SR_ESCAPE_H
#define SR_ESCAPE_H

#include <apr_pools.h>

/*
 * Escapes & < > " ' (as &amp; &lt; &gt; &#34; &#39;) for text and double- or
 * single-quoted attributes; s itself when it has none of them.
 */
const char *sr_html_escape(apr_pool_t *p, const char *s);

/*
 * One CSV cell (RFC 4180): quoted when it holds '"', ',', CR or LF, quotes
 * doubled; a value starting with = + - @ TAB or CR (what a spreadsheet would
 * run as a formula) gets a "'" first. NULL is the empty cell.
 */
const char *sr_csv_cell(apr_pool_t *p, const char *value);

#endif /* SR_ESCAPE_H */
