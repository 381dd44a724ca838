/* SPDX-License-Identifier: Apache-2.0 */
/* HTML output for the dashboard: every value goes through sr_html_text(). */
#ifndef SR_HTML_H
#define SR_HTML_H

#include "mod_slotrecovery.h"
#include "sr_escape.h" /* sr_html_escape */

/*
 * What every dashboard answer carries (pages and the CSV): no caching, no
 * content sniffing, no framing, a Content-Security-Policy.
 */
void sr_html_security_headers(request_rec *r);

/* Starts a page: doctype, head with the stylesheet under the mount, header bar. */
void sr_html_begin(request_rec *r, const char *mount, const char *title, const char *shop_name);
void sr_html_end(request_rec *r);

/* An escaped value; NULL prints an em dash. */
void sr_html_text(request_rec *r, const char *s);
/* A status badge: <span class="badge badge-STATUS">STATUS</span>. */
void sr_html_badge(request_rec *r, const char *status);
/* <a href="URL">TEXT</a>, both escaped. */
void sr_html_link(request_rec *r, const char *url, const char *text);

#endif /* SR_HTML_H */
