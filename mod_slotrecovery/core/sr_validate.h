/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Input checks for the JSON API: each reads one member of a request object,
 * checks it fully (so PostgreSQL never sees a value it would refuse) and
 * records the first problem as a message for the 400 answer.
 */
#ifndef SR_VALIDATE_H
#define SR_VALIDATE_H

#include <apr_time.h>

#include "sr_json.h"

typedef struct {
    apr_pool_t *pool;
    const sr_json_t *obj;
    const char *error; /* the first problem found, or NULL */
} sr_fields_t;

void sr_fields_init(sr_fields_t *f, apr_pool_t *p, const sr_json_t *obj);

/*
 * Each returns 1 when the member is valid or absent and optional (*out left
 * NULL / untouched), 0 when it is not (f->error says why). Once an error is
 * recorded the later calls return 0 at once, so calls chain with &&.
 */
int sr_field_text(sr_fields_t *f, const char *key, int required, apr_size_t max_chars, const char **out);
int sr_field_phone(sr_fields_t *f, const char *key, int required, const char **out);
int sr_field_email(sr_fields_t *f, const char *key, int required, const char **out);
int sr_field_token(sr_fields_t *f, const char *key, int required, const char **out);
int sr_field_id(sr_fields_t *f, const char *key, int required, const char **out);
int sr_field_int(sr_fields_t *f, const char *key, int required, apr_int64_t min, apr_int64_t max, const char **out);
int sr_field_bool(sr_fields_t *f, const char *key, int required, const char **out);
int sr_field_currency(sr_fields_t *f, const char *key, int required, const char **out);
int sr_field_timezone(sr_fields_t *f, const char *key, int required, const char **out);
/* A time of day, "HH:MM" (24 h). */
int sr_field_clock(sr_fields_t *f, const char *key, int required, const char **out);
/* RFC 3339; *out is the same instant in canonical UTC form, *when the instant. */
int sr_field_time(sr_fields_t *f, const char *key, int required, const char **out, apr_time_t *when);

/*
 * Stripe's minimum charge for a currency (lower case), in minor units, from
 * its documented table; 0 when it documents none for the currency.
 */
apr_int64_t sr_stripe_minimum_charge(const char *currency);

int sr_valid_phone(const char *s);
/* A positive decimal id that fits a bigint. */
int sr_valid_id(const char *s);
/*
 * Parses an RFC 3339 date-time (a four-digit year, 'T', 't' or ' ' between
 * date and time, seconds 00-59, any number of fraction digits of which the
 * first six count, 'Z', 'z' or an offset up to +-23:59); 0 when it is not one
 * or falls outside 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z once
 * the offset is applied: the range sr_format_rfc3339 writes.
 */
int sr_parse_rfc3339(const char *s, apr_time_t *when);
/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" of when; NULL outside the range sr_parse_rfc3339 accepts. */
const char *sr_format_rfc3339(apr_pool_t *p, apr_time_t when);

#endif /* SR_VALIDATE_H */
