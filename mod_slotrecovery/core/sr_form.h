/* SPDX-License-Identifier: Apache-2.0 */
/*
 * application/x-www-form-urlencoded bodies (Twilio's webhooks, the dashboard's
 * forms): parsed in one pass, in linear time and memory, with a bound on the
 * number of fields, and every field also given as text PostgreSQL can hold.
 * Only APR here, no httpd: the request side is sr_read_form (sr_request.h).
 */
#ifndef SR_FORM_H
#define SR_FORM_H

#include <apr_pools.h>
#include <apr_tables.h>

/* The most fields a form may have; more is refused (413). */
#define SR_FORM_MAX_PAIRS 256

/* A decoded form field. */
typedef struct {
    /* As text: valid UTF-8 without NUL, each invalid sequence and each NUL replaced by U+FFFD. */
    const char *name;
    const char *value;
    /* The bytes as sent, %-decoded (NUL-terminated, but may hold NUL or invalid UTF-8): what signatures cover. */
    const char *raw_name;
    apr_size_t raw_name_len;
    const char *raw_value;
    apr_size_t raw_value_len;
} sr_param_t;

typedef enum {
    SR_FORM_OK = 0,
    SR_FORM_TOO_MANY,  /* more than max_pairs fields */
    SR_FORM_BAD_ESCAPE /* a '%' not followed by two hex digits */
} sr_form_status_t;

/*
 * Parses body[0..len) into *params (sr_param_t, in the body's order),
 * decoding in place: body must be writable and have a byte past len. '+' is
 * a space and %XX a byte; empty pieces between '&' are skipped, a piece
 * without '=' is a name with an empty value. Stops at field max_pairs + 1
 * (SR_FORM_TOO_MANY) or at a malformed escape (SR_FORM_BAD_ESCAPE, *where its
 * offset in body).
 */
sr_form_status_t sr_form_parse(apr_pool_t *p, char *body, apr_size_t len, int max_pairs, apr_array_header_t **params,
                               apr_size_t *where);

/* The text value of the first field named name, or NULL. */
const char *sr_form_get(const apr_array_header_t *params, const char *name);

/*
 * s[0..len) (with s[len] == '\0') as text PostgreSQL accepts: s itself when
 * it is valid UTF-8 without NUL, else a copy in which each NUL and each
 * maximal invalid subsequence (Unicode's "maximal subpart" practice, as
 * browsers decode) is U+FFFD.
 */
const char *sr_utf8_repair(apr_pool_t *p, const char *s, apr_size_t len);

/*
 * A body built field by field (the provider clients' requests): each name and
 * value urlencoded (apr_pescape_urlencoded: a space is '+'), joined by '&' in
 * the order added.
 */
typedef struct sr_form sr_form_t;
sr_form_t *sr_form_make(apr_pool_t *p);
void sr_form_add(sr_form_t *form, const char *name, const char *value);
const char *sr_form_encode(const sr_form_t *form);

#endif /* SR_FORM_H */
