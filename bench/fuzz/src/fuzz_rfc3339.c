/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sr_parse_rfc3339 and sr_format_rfc3339 (mod_slotrecovery/core/sr_validate.c),
 * over the whole range the parser accepts: years 1970-9999, offsets up to
 * +-23:59, any number of fraction digits.
 *
 * Two strings from each input: the input itself (NULs end it, as in a C
 * string from JSON), and a date-time built field by field from its bytes
 * (year 1970-9999, month 0-13, day 0-32, hour 0-24, ..., 0-9 fraction
 * digits, 'Z', 'z' or an offset, each separator as RFC 3339 allows). For each:
 * the parser accepts it exactly when its fields are a real date and time and
 * the instant, the offset applied, lies in 1970-01-01T00:00:00Z ..
 * 9999-12-31T23:59:59.999999Z; the instant it gives is the one APR's own
 * calendar arithmetic (apr_time_exp_gmt_get) gives for the fields, fraction
 * cut to microseconds, minus the offset; formatted, it is
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ", parses back to the same instant and formats
 * back to the same text.
 */
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "fuzz_common.h"
#include "sr_validate.h"

static int num(const char *s, int n)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int all_digits(const char *s, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (!apr_isdigit(s[i])) {
            return 0;
        }
    }
    return 1;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : days[m - 1];
}

/* The instant s names, read here on its own: 1 with *when, 0 when s is not a date-time in range. */
static int expected(const char *s, apr_time_t *when)
{
    size_t len = strlen(s), i = 19;
    apr_time_exp_t tm;
    apr_time_t local, last;
    int year, month, day, usec = 0, scale = 100000, offset = 0;

    if (len < 20 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) || s[7] != '-' || !all_digits(s + 8, 2) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !all_digits(s + 11, 2) || s[13] != ':' ||
        !all_digits(s + 14, 2) || s[16] != ':' || !all_digits(s + 17, 2)) {
        return 0;
    }
    year = num(s, 4), month = num(s + 5, 2), day = num(s + 8, 2);
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || num(s + 11, 2) > 23 ||
        num(s + 14, 2) > 59 || num(s + 17, 2) > 59) {
        return 0;
    }
    if (s[i] == '.') {
        if (!apr_isdigit(s[++i])) {
            return 0;
        }
        for (; apr_isdigit(s[i]); i++) {
            usec += (s[i] - '0') * scale;
            scale /= 10;
        }
    }
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    }
    else if (s[i] == '+' || s[i] == '-') {
        if (len - i < 6 || !all_digits(s + i + 1, 2) || s[i + 3] != ':' || !all_digits(s + i + 4, 2) ||
            num(s + i + 1, 2) > 23 || num(s + i + 4, 2) > 59) {
            return 0;
        }
        offset = (s[i] == '-' ? -1 : 1) * (num(s + i + 1, 2) * 3600 + num(s + i + 4, 2) * 60);
        i += 6;
    }
    else {
        return 0;
    }
    if (i != len) {
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900, tm.tm_mon = month - 1, tm.tm_mday = day;
    tm.tm_hour = num(s + 11, 2), tm.tm_min = num(s + 14, 2), tm.tm_sec = num(s + 17, 2), tm.tm_usec = usec;
    FUZZ_CHECK(apr_time_exp_gmt_get(&local, &tm) == APR_SUCCESS);
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = 10000 - 1900, tm.tm_mday = 1;
    FUZZ_CHECK(apr_time_exp_gmt_get(&last, &tm) == APR_SUCCESS);
    *when = local - apr_time_from_sec(offset);
    return *when >= 0 && *when < last;
}

static void check(apr_pool_t *p, const char *s)
{
    apr_time_t when = -1, again = -1, want = -1;
    const char *text, *text2;
    int ok = sr_parse_rfc3339(s, &when);

    FUZZ_CHECK(ok == expected(s, &want));
    if (!ok) {
        return;
    }
    FUZZ_CHECK(when == want);
    text = sr_format_rfc3339(p, when);
    FUZZ_CHECK(text && strlen(text) == 27 && text[4] == '-' && text[10] == 'T' && text[19] == '.' && text[26] == 'Z');
    FUZZ_CHECK(sr_parse_rfc3339(text, &again) && again == when);
    text2 = sr_format_rfc3339(p, again);
    FUZZ_CHECK(text2 && !strcmp(text, text2));
}

/* A date-time from the input's bytes: every field over (and a little past) its range. */
static const char *built(apr_pool_t *p, const uint8_t *d, size_t n)
{
    uint8_t b[16] = {0};
    const char *frac = "", *zone;
    char digits[10];
    int k;

    memcpy(b, d, n < sizeof(b) ? n : sizeof(b));
    for (k = 0; k < b[9] % 10; k++) {
        digits[k] = (char)('0' + b[10 + k % 6] % 10);
    }
    digits[k] = '\0';
    if (b[9] % 10) {
        frac = apr_pstrcat(p, ".", digits, (char *)NULL);
    }
    switch (b[11] % 4) {
    case 0:
        zone = "Z";
        break;
    case 1:
        zone = "z";
        break;
    default:
        zone = apr_psprintf(p, "%c%02d:%02d", b[11] % 4 == 2 ? '+' : '-', b[12] % 25, b[13] % 61);
    }
    return apr_psprintf(p, "%04d-%02d-%02d%c%02d:%02d:%02d%s%s", 1970 + (b[0] | b[1] << 8) % 8030, b[2] % 14, b[3] % 33,
                        "Tt "[b[4] % 3], b[5] % 25, b[6] % 61, b[7] % 61, frac, zone);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;

    fuzz_init();
    apr_pool_create(&p, fuzz_root);
    check(p, fuzz_strndup(data, size));
    check(p, built(p, data, size));
    apr_pool_destroy(p);
    fuzz_free_all();
    return 0;
}
