/* SPDX-License-Identifier: Apache-2.0 */
/* sr_parse_rfc3339 and sr_format_rfc3339: the API's times, known instants. */
#include "unit.h"

#include "sr_validate.h"

static const struct {
    const char *text;
    apr_int64_t seconds;
    apr_int64_t usec;
} good[] = {
    {"1970-01-01T00:00:00Z", 0, 0},
    {"2023-11-14T22:13:20Z", 1700000000, 0},
    {"2023-11-14t22:13:20z", 1700000000, 0},
    {"2023-11-14 22:13:20Z", 1700000000, 0},
    {"2024-02-29T12:34:56Z", 1709210096, 0},
    {"2024-02-29T12:34:56+02:00", 1709202896, 0},
    {"2024-02-29T12:34:56-00:30", 1709211896, 0},
    /* Of the fraction's digits the first six count. */
    {"2024-02-29T12:34:56.5Z", 1709210096, 500000},
    {"2024-02-29T12:34:56.123456789Z", 1709210096, 123456},
    {"9999-12-31T23:59:59.999999Z", 253402300799, 999999},
    /* The offset brings it into range. */
    {"1970-01-01T01:00:00+01:00", 0, 0},
};

static const char *const bad[] = {
    "",
    "2024-02-30T00:00:00Z",   /* no 30 February */
    "2023-02-29T00:00:00Z",   /* not a leap year */
    "2024-13-01T00:00:00Z",
    "2024-01-01T24:00:00Z",
    "2024-01-01T00:60:00Z",
    "2024-01-01T00:00:60Z",   /* no leap seconds */
    "2024-01-01T00:00:00",    /* no offset */
    "2024-01-01T00:00:00+24:00",
    "2024-01-01T00:00:00.Z",  /* a point without digits */
    "1969-12-31T23:59:59Z",   /* before the range */
    "1970-01-01T00:00:00+00:01",
    "10000-01-01T00:00:00Z",
    "24-01-01T00:00:00Z",
    "2024-01-01T00:00:00Z ",
    "2024-01-01X00:00:00Z",
};

START_TEST(test_good)
{
    apr_time_t when = -1;

    ck_assert_msg(sr_parse_rfc3339(good[_i].text, &when), "%s refused", good[_i].text);
    ck_assert_int_eq(apr_time_sec(when), good[_i].seconds);
    ck_assert_int_eq(apr_time_usec(when), good[_i].usec);
}
END_TEST

START_TEST(test_bad)
{
    apr_time_t when;

    ck_assert_msg(!sr_parse_rfc3339(bad[_i], &when), "\"%s\" accepted", bad[_i]);
}
END_TEST

START_TEST(test_format)
{
    apr_time_t when;

    ck_assert_str_eq(sr_format_rfc3339(pool, 0), "1970-01-01T00:00:00.000000Z");
    ck_assert_str_eq(sr_format_rfc3339(pool, apr_time_from_sec(1700000000) + 42), "2023-11-14T22:13:20.000042Z");
    ck_assert_str_eq(sr_format_rfc3339(pool, apr_time_from_sec(253402300799) + 999999), "9999-12-31T23:59:59.999999Z");
    ck_assert_ptr_null(sr_format_rfc3339(pool, -1));
    ck_assert_ptr_null(sr_format_rfc3339(pool, apr_time_from_sec(253402300800)));
    /* Round trip: an offset time comes back in canonical UTC form. */
    ck_assert(sr_parse_rfc3339("2024-02-29T12:34:56.25+02:00", &when));
    ck_assert_str_eq(sr_format_rfc3339(pool, when), "2024-02-29T10:34:56.250000Z");
}
END_TEST

static Suite *rfc3339_suite(void)
{
    Suite *s = suite_create("rfc3339");
    TCase *tc = unit_case(s, "rfc3339");

    tcase_add_loop_test(tc, test_good, 0, (int)(sizeof(good) / sizeof(good[0])));
    tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, test_format);
    return s;
}

SR_UNIT_MAIN(rfc3339_suite)
