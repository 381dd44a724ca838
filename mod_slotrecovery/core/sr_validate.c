/* SPDX-License-Identifier: Apache-2.0 */
/* Field checks for API input. */
#include <apr_lib.h>
#include <apr_strings.h>

#include "sr_validate.h"

void sr_fields_init(sr_fields_t *f, apr_pool_t *p, const sr_json_t *obj)
{
    f->pool = p;
    f->obj = obj;
    f->error = NULL;
}

static int field_error(sr_fields_t *f, const char *key, const char *problem)
{
    f->error = apr_psprintf(f->pool, "%s: %s", key, problem);
    return 0;
}

/* Reads a string member; 1 with *s set, 1 with *s NULL when absent and optional. */
static int string_member(sr_fields_t *f, const char *key, int required, const char **s)
{
    *s = NULL;
    if (f->error) {
        return 0;
    }
    switch (sr_json_get_string(f->obj, key, s)) {
    case SR_JSON_FOUND:
        return 1;
    case SR_JSON_ABSENT:
        return required ? field_error(f, key, "is required") : 1;
    default:
        return field_error(f, key, "must be a string");
    }
}

static apr_size_t utf8_length(const char *s)
{
    apr_size_t n = 0;

    for (; *s; s++) {
        if (((unsigned char)*s & 0xC0) != 0x80) {
            n++;
        }
    }
    return n;
}

int sr_field_text(sr_fields_t *f, const char *key, int required, apr_size_t max_chars, const char **out)
{
    const char *s, *c;
    apr_size_t n;

    if (!string_member(f, key, required, &s) || !s) {
        return !f->error;
    }
    for (c = s; *c; c++) {
        if (apr_iscntrl(*c)) {
            return field_error(f, key, "must not contain control characters");
        }
    }
    n = utf8_length(s);
    if (n == 0 || apr_isspace(s[0])) {
        return field_error(f, key, "must not be empty or start with white space");
    }
    if (n > max_chars) {
        return field_error(f, key, apr_psprintf(f->pool, "must be at most %" APR_SIZE_T_FMT " characters", max_chars));
    }
    *out = s;
    return 1;
}

int sr_valid_phone(const char *s)
{
    apr_size_t digits = 0;

    if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9') {
        return 0;
    }
    for (s++; *s; s++, digits++) {
        if (!apr_isdigit(*s)) {
            return 0;
        }
    }
    return digits >= 7 && digits <= 15;
}

int sr_field_phone(sr_fields_t *f, const char *key, int required, const char **out)
{
    const char *s;

    if (!string_member(f, key, required, &s) || !s) {
        return !f->error;
    }
    if (!sr_valid_phone(s)) {
        return field_error(f, key, "must be an E.164 phone number such as +15551234567");
    }
    *out = s;
    return 1;
}

int sr_field_email(sr_fields_t *f, const char *key, int required, const char **out)
{
    const char *s, *at, *c;

    if (!string_member(f, key, required, &s) || !s) {
        return !f->error;
    }
    at = strchr(s, '@');
    if (strlen(s) > 320 || !at || at == s || !at[1] || strchr(at + 1, '@')) {
        return field_error(f, key, "must be an email address");
    }
    for (c = s; *c; c++) {
        if (apr_isspace(*c) || apr_iscntrl(*c)) {
            return field_error(f, key, "must be an email address");
        }
    }
    *out = s;
    return 1;
}

/* Provider identifiers (Stripe's cus_..., pm_...): letters, digits, '_' and '-'. */
int sr_field_token(sr_fields_t *f, const char *key, int required, const char **out)
{
    const char *s, *c;

    if (!string_member(f, key, required, &s) || !s) {
        return !f->error;
    }
    if (!*s || strlen(s) > 255) {
        return field_error(f, key, "must be 1 to 255 characters");
    }
    for (c = s; *c; c++) {
        if (!apr_isalnum(*c) && *c != '_' && *c != '-') {
            return field_error(f, key, "may hold only letters, digits, '_' and '-'");
        }
    }
    *out = s;
    return 1;
}

int sr_valid_id(const char *s)
{
    apr_size_t n = 0;

    if (!s || *s < '1' || *s > '9') {
        return 0;
    }
    for (; *s; s++, n++) {
        if (!apr_isdigit(*s)) {
            return 0;
        }
    }
    return n <= 18;
}

int sr_field_id(sr_fields_t *f, const char *key, int required, const char **out)
{
    const char *s = NULL;

    if (f->error) {
        return 0;
    }
    switch (sr_json_get_id(f->obj, key, &s)) {
    case SR_JSON_FOUND:
        if (!sr_valid_id(s)) {
            return field_error(f, key, "must be an id (a string of digits)");
        }
        *out = s;
        return 1;
    case SR_JSON_ABSENT:
        return required ? field_error(f, key, "is required") : 1;
    default:
        return field_error(f, key, "must be an id (a string of digits)");
    }
}

int sr_field_int(sr_fields_t *f, const char *key, int required, apr_int64_t min, apr_int64_t max, const char **out)
{
    apr_int64_t v;

    if (f->error) {
        return 0;
    }
    switch (sr_json_get_int(f->obj, key, &v)) {
    case SR_JSON_FOUND:
        if (v < min || v > max) {
            return field_error(
                f, key, apr_psprintf(f->pool, "must be from %" APR_INT64_T_FMT " to %" APR_INT64_T_FMT, min, max));
        }
        *out = apr_psprintf(f->pool, "%" APR_INT64_T_FMT, v);
        return 1;
    case SR_JSON_ABSENT:
        return required ? field_error(f, key, "is required") : 1;
    default:
        return field_error(f, key, "must be an integer");
    }
}

int sr_field_bool(sr_fields_t *f, const char *key, int required, const char **out)
{
    int v;

    if (f->error) {
        return 0;
    }
    switch (sr_json_get_bool(f->obj, key, &v)) {
    case SR_JSON_FOUND:
        *out = v ? "true" : "false";
        return 1;
    case SR_JSON_ABSENT:
        return required ? field_error(f, key, "is required") : 1;
    default:
        return field_error(f, key, "must be true or false");
    }
}

int sr_field_currency(sr_fields_t *f, const char *key, int required, const char **out)
{
    const char *s;
    char *lower;
    int i;

    if (!string_member(f, key, required, &s) || !s) {
        return !f->error;
    }
    if (strlen(s) != 3 || !apr_isalpha(s[0]) || !apr_isalpha(s[1]) || !apr_isalpha(s[2])) {
        return field_error(f, key, "must be a three-letter ISO 4217 code such as usd");
    }
    /* Stripe speaks lower case. */
    lower = apr_pstrdup(f->pool, s);
    for (i = 0; i < 3; i++) {
        lower[i] = (char)apr_tolower(lower[i]);
    }
    *out = lower;
    return 1;
}

/*
 * Stripe's minimum charge amounts, in minor units, as its currencies page
 * documents them (docs.stripe.com/currencies, "Minimum and maximum charge
 * amounts"). Stripe refuses a smaller PaymentIntent with amount_too_small.
 */
static const struct {
    const char *currency;
    apr_int64_t minimum;
} stripe_minimums[] = {
    {"aed", 200}, {"aud", 50}, {"bgn", 100}, {"brl", 50},    {"cad", 50},  {"chf", 50}, {"czk", 1500}, {"dkk", 250},
    {"eur", 50},  {"gbp", 30}, {"hkd", 400}, {"huf", 17500}, {"inr", 50},  {"jpy", 50}, {"mxn", 1000}, {"myr", 200},
    {"nok", 300}, {"nzd", 50}, {"pln", 200}, {"ron", 200},   {"sek", 300}, {"sgd", 50}, {"thb", 1000}, {"usd", 50},
};

apr_int64_t sr_stripe_minimum_charge(const char *currency)
{
    apr_size_t i;

    for (i = 0; currency && i < sizeof(stripe_minimums) / sizeof(stripe_minimums[0]); i++) {
        if (!strcmp(currency, stripe_minimums[i].currency)) {
            return stripe_minimums[i].minimum;
        }
    }
    return 0;
}

/* The shape of an IANA name ("Europe/London"); PostgreSQL says whether it exists. */
int sr_field_timezone(sr_fields_t *f, const char *key, int required, const char **out)
{
    const char *s, *c;

    if (!string_member(f, key, required, &s) || !s) {
        return !f->error;
    }
    if (!*s || strlen(s) > 64 || !apr_isalpha(*s)) {
        return field_error(f, key, "must be an IANA time zone such as Europe/London");
    }
    for (c = s; *c; c++) {
        if (!apr_isalnum(*c) && !strchr("/_+-", *c)) {
            return field_error(f, key, "must be an IANA time zone such as Europe/London");
        }
    }
    *out = s;
    return 1;
}

static int digits(const char *s, int n, int *value);

int sr_field_clock(sr_fields_t *f, const char *key, int required, const char **out)
{
    const char *s;
    int h, m;

    if (!string_member(f, key, required, &s) || !s) {
        return !f->error;
    }
    if (strlen(s) != 5 || !digits(s, 2, &h) || s[2] != ':' || !digits(s + 3, 2, &m) || h > 23 || m > 59) {
        return field_error(f, key, "must be a time of day as HH:MM, such as 21:00");
    }
    *out = s;
    return 1;
}

static int digits(const char *s, int n, int *value)
{
    int i;

    *value = 0;
    for (i = 0; i < n; i++) {
        if (!apr_isdigit(s[i])) {
            return 0;
        }
        *value = *value * 10 + (s[i] - '0');
    }
    return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static apr_int64_t days_from_civil(int y, int m, int d)
{
    apr_int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

int sr_parse_rfc3339(const char *s, apr_time_t *when)
{
    int year, month, day, hour, minute, second, oh = 0, om = 0, sign = 0;
    apr_int64_t usec = 0, scale = 100000, seconds;

    if (!s || strlen(s) < 20 || !digits(s, 4, &year) || s[4] != '-' || !digits(s + 5, 2, &month) || s[7] != '-' ||
        !digits(s + 8, 2, &day) || !strchr("Tt ", s[10]) || !digits(s + 11, 2, &hour) || s[13] != ':' ||
        !digits(s + 14, 2, &minute) || s[16] != ':' || !digits(s + 17, 2, &second)) {
        return 0;
    }
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
        minute > 59 || second > 59) {
        return 0;
    }
    s += 19;
    if (*s == '.') {
        if (!apr_isdigit(s[1])) {
            return 0;
        }
        for (s++; apr_isdigit(*s); s++) {
            usec += (*s - '0') * scale;
            scale /= 10;
        }
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    }
    else if (*s == '+' || *s == '-') {
        sign = *s == '-' ? -1 : 1;
        if (!digits(s + 1, 2, &oh) || s[3] != ':' || !digits(s + 4, 2, &om) || oh > 23 || om > 59) {
            return 0;
        }
        s += 6;
    }
    else {
        return 0;
    }
    if (*s) {
        return 0;
    }
    seconds =
        days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - sign * (oh * 3600 + om * 60);
    if (seconds < 0) {
        /* Before 1970-01-01T00:00:00Z once the offset is applied: not a time this module deals in. */
        return 0;
    }
    if (seconds >= days_from_civil(10000, 1, 1) * 86400) {
        /* 10000-01-01 in UTC (9999-12-31T23:59:59-23:59): no four-digit year to write it back with. */
        return 0;
    }
    *when = apr_time_from_sec(seconds) + usec;
    return 1;
}

const char *sr_format_rfc3339(apr_pool_t *p, apr_time_t when)
{
    apr_time_exp_t tm;

    if (when < 0 || apr_time_exp_gmt(&tm, when) != APR_SUCCESS || tm.tm_year + 1900 > 9999) {
        return NULL;
    }
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_usec);
}

int sr_field_time(sr_fields_t *f, const char *key, int required, const char **out, apr_time_t *when)
{
    const char *s;

    if (!string_member(f, key, required, &s) || !s) {
        return !f->error;
    }
    if (!sr_parse_rfc3339(s, when) || !(*out = sr_format_rfc3339(f->pool, *when))) {
        return field_error(f, key, "must be an RFC 3339 date-time such as 2026-12-01T15:00:00Z");
    }
    return 1;
}
