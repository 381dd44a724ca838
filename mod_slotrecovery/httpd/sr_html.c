/* SPDX-License-Identifier: Apache-2.0 */
/* Escaped HTML output. */
#include "sr_html.h"

void sr_html_text(request_rec *r, const char *s)
{
    ap_rputs(s ? sr_html_escape(r->pool, s) : "&mdash;", r);
}

void sr_html_badge(request_rec *r, const char *status)
{
    const char *s = sr_html_escape(r->pool, status ? status : "unknown");

    ap_rvputs(r, "<span class=\"badge badge-", s, "\">", s, "</span>", (char *)NULL);
}

void sr_html_link(request_rec *r, const char *url, const char *text)
{
    ap_rvputs(r, "<a href=\"", sr_html_escape(r->pool, url), "\">", sr_html_escape(r->pool, text), "</a>",
              (char *)NULL);
}

void sr_html_security_headers(request_rec *r)
{
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->headers_out, "X-Frame-Options", "DENY");
    apr_table_setn(r->headers_out, "Content-Security-Policy",
                   "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                   "frame-ancestors 'none'");
}

void sr_html_begin(request_rec *r, const char *mount, const char *title, const char *shop_name)
{
    /* The mount is a decoded path: escaped as a URL, then for the attribute. */
    const char *m = sr_html_escape(r->pool, ap_escape_uri(r->pool, mount));

    ap_set_content_type(r, "text/html; charset=utf-8");
    sr_html_security_headers(r);
    if (r->header_only) {
        return;
    }
    ap_rvputs(r,
              "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
              sr_html_escape(r->pool, title), " &middot; Slot Recovery</title>\n<link rel=\"stylesheet\" href=\"", m,
              "/app/assets/slotrecovery.css\">\n<link rel=\"icon\" href=\"", m,
              "/app/assets/favicon.svg\" type=\"image/svg+xml\">\n</head>\n<body>\n<header class=\"bar\"><a "
              "class=\"brand\" href=\"",
              m, "/app/appointments\">Slot Recovery</a>", (char *)NULL);
    if (shop_name) {
        ap_rvputs(r, "<span class=\"shop\">", sr_html_escape(r->pool, shop_name), "</span>", (char *)NULL);
    }
    ap_rputs("</header>\n<main>\n", r);
}

void sr_html_end(request_rec *r)
{
    if (!r->header_only) {
        ap_rputs("</main>\n</body>\n</html>\n", r);
    }
}
