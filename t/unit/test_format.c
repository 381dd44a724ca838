/* SPDX-License-Identifier: Apache-2.0 */
/* sr_format_money and sr_format_duration: the amounts and durations of SMS and pages. */
#include "unit.h"

#include "sr_format.h"

START_TEST(test_money)
{
    ck_assert_str_eq(sr_format_money(pool, "2000", "usd"), "20.00 USD");
    ck_assert_str_eq(sr_format_money(pool, "5", "eur"), "0.05 EUR");
    ck_assert_str_eq(sr_format_money(pool, "50", "gbp"), "0.50 GBP");
    ck_assert_str_eq(sr_format_money(pool, "123456", "GBP"), "1234.56 GBP");
    ck_assert_str_eq(sr_format_money(pool, "0", "usd"), "0.00 USD");
    /* Zero-decimal currencies count in whole units. */
    ck_assert_str_eq(sr_format_money(pool, "500", "jpy"), "500 JPY");
    ck_assert_str_eq(sr_format_money(pool, "1000", "krw"), "1000 KRW");
    ck_assert_str_eq(sr_format_money(pool, "99999999", "usd"), "999999.99 USD");
}
END_TEST

START_TEST(test_duration)
{
    ck_assert_str_eq(sr_format_duration(pool, 0), "0 s");
    ck_assert_str_eq(sr_format_duration(pool, 45), "45 s");
    ck_assert_str_eq(sr_format_duration(pool, 59), "59 s");
    ck_assert_str_eq(sr_format_duration(pool, 60), "1 min");
    ck_assert_str_eq(sr_format_duration(pool, 900), "15 min");
    /* Rounded down: an offer never promises more time than it has. */
    ck_assert_str_eq(sr_format_duration(pool, 959), "15 min");
    ck_assert_str_eq(sr_format_duration(pool, 3599), "59 min");
    ck_assert_str_eq(sr_format_duration(pool, 3600), "1 h");
    ck_assert_str_eq(sr_format_duration(pool, 7200), "2 h");
    /* Hours only when whole. */
    ck_assert_str_eq(sr_format_duration(pool, 5400), "90 min");
    ck_assert_str_eq(sr_format_duration(pool, 86400), "24 h");
}
END_TEST

static Suite *format_suite(void)
{
    Suite *s = suite_create("format");
    TCase *tc = unit_case(s, "format");

    tcase_add_test(tc, test_money);
    tcase_add_test(tc, test_duration);
    return s;
}

SR_UNIT_MAIN(format_suite)
