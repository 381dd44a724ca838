/* SPDX-License-Identifier: Apache-2.0 */
/* HTML and CSV escaping. APR only. */
#include <apr_strings.h>

#include "sr_escape.h"

const char *sr_html_escape(apr_pool_t *p, const char *s)
{
    apr_size_t extra = 0;
    const char *c;
    char *out, *o;

    for (c = s; *c; c++) {
        switch (*c) {
        case '&':
            extra += 4;
            break;
        case '<':
        case '>':
            extra += 3;
            break;
        case '"':
        case '\'':
            extra += 5;
            break;
        }
    }
    if (!extra) {
        return s;
    }
    out = o = apr_palloc(p, strlen(s) + extra + 1);
    for (c = s; *c; c++) {
        switch (*c) {
        case '&':
            memcpy(o, "&amp;", 5), o += 5;
            break;
        case '<':
            memcpy(o, "&lt;", 4), o += 4;
            break;
        case '>':
            memcpy(o, "&gt;", 4), o += 4;
            break;
        case '"':
            memcpy(o, "&#34;", 5), o += 5;
            break;
        case '\'':
            memcpy(o, "&#39;", 5), o += 5;
            break;
        default:
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

/* RFC 4180 quoting, and no cell a spreadsheet would run as a formula. */
const char *sr_csv_cell(apr_pool_t *p, const char *value)
{
    const char *c;
    char *out, *o;
    int quote = 0;

    if (!value) {
        return "";
    }
    if (strchr("=+-@\t\r", value[0]) && value[0]) {
        value = apr_pstrcat(p, "'", value, (char *)NULL);
    }
    for (c = value; *c; c++) {
        quote |= *c == '"' || *c == ',' || *c == '\n' || *c == '\r';
    }
    if (!quote) {
        return value;
    }
    out = o = apr_palloc(p, 2 * strlen(value) + 3);
    *o++ = '"';
    for (c = value; *c; c++) {
        if (*c == '"') {
            *o++ = '"';
        }
        *o++ = *c;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}
