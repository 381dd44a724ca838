/* SPDX-License-Identifier: Apache-2.0 */
/* SMS length (GSM-7 vs UCS-2 segments) and the shop name kept within the budget. */
#include "unit.h"

#include "sr_sms.h"

static const char *repeat(const char *s, int n)
{
    char *out = apr_pstrdup(pool, "");
    int i;

    for (i = 0; i < n; i++) {
        out = apr_pstrcat(pool, out, s, (char *)NULL);
    }
    return out;
}

static void measure_is(const char *text, sr_sms_encoding_t enc, apr_size_t chars, apr_size_t units, int segments)
{
    sr_sms_length_t l;

    sr_sms_measure(text, &l);
    ck_assert_int_eq(l.encoding, enc);
    ck_assert_uint_eq(l.chars, chars);
    ck_assert_uint_eq(l.units, units);
    ck_assert_int_eq(l.segments, segments);
}

START_TEST(test_measure)
{
    measure_is("hello", SR_SMS_GSM7, 5, 5, 1);
    measure_is("", SR_SMS_GSM7, 0, 0, 1);
    measure_is(repeat("a", 160), SR_SMS_GSM7, 160, 160, 1);
    measure_is(repeat("a", 161), SR_SMS_GSM7, 161, 161, 2); /* 153 a segment once split */
    measure_is(repeat("a", 306), SR_SMS_GSM7, 306, 306, 2);
    measure_is(repeat("a", 307), SR_SMS_GSM7, 307, 307, 3);
    /* The extension table: two septets each. */
    measure_is("\xe2\x82\xac", SR_SMS_GSM7, 1, 2, 1); /* euro sign */
    measure_is("[]{}", SR_SMS_GSM7, 4, 8, 1);
    measure_is(repeat("{", 80), SR_SMS_GSM7, 80, 160, 1);
    measure_is(repeat("{", 81), SR_SMS_GSM7, 81, 162, 2);
    /* The default alphabet's accented letters stay GSM-7. */
    measure_is("Caf\xc3\xa9 M\xc3\xbcnchen", SR_SMS_GSM7, 12, 12, 1);
    /* Anything else is UCS-2: 70 a segment, 67 once split. */
    measure_is("\xc5\x82", SR_SMS_UCS2, 1, 1, 1); /* l with stroke */
    measure_is(repeat("\xd0\xb6", 70), SR_SMS_UCS2, 70, 70, 1);
    measure_is(repeat("\xd0\xb6", 71), SR_SMS_UCS2, 71, 71, 2);
    /* Beyond the BMP: two UTF-16 units. */
    measure_is("\xf0\x9f\x98\x80", SR_SMS_UCS2, 1, 2, 1);
    measure_is(repeat("\xf0\x9f\x98\x80", 35), SR_SMS_UCS2, 35, 70, 1);
    /* An invalid byte counts as U+FFFD, which is UCS-2. */
    measure_is("a\xff", SR_SMS_UCS2, 2, 2, 1);
}
END_TEST

START_TEST(test_valid_utf8)
{
    const char *ok = "ok \xc3\xa9";

    ck_assert_str_eq(sr_sms_valid_utf8(pool, "a\xff" "b"), "a\xef\xbf\xbd" "b");
    ck_assert_str_eq(sr_sms_valid_utf8(pool, "\xc3"), "\xef\xbf\xbd");
    ck_assert_str_eq(sr_sms_valid_utf8(pool, ok), ok);
}
END_TEST

START_TEST(test_text)
{
    sr_sms_length_t l;
    const char *t;

    /* Fits: untouched. */
    ck_assert_str_eq(sr_sms_text(pool, "Hi from ", "Bob's Barbers", ": a slot."), "Hi from Bob's Barbers: a slot.");
    /* A long GSM-7 name: cut to exactly one segment, ended with "...". */
    t = sr_sms_text(pool, "Hi from ", repeat("A", 200), " a slot");
    sr_sms_measure(t, &l);
    ck_assert_int_eq(l.encoding, SR_SMS_GSM7);
    ck_assert_uint_eq(l.units, 160);
    ck_assert_str_eq(t, apr_pstrcat(pool, "Hi from ", repeat("A", 160 - 8 - 7 - 3), "...", " a slot", (char *)NULL));
    /* In UCS-2 the budget is two segments (134 units), ended with U+2026. */
    t = sr_sms_text(pool, "Hi ", repeat("\xd0\xb6", 200), "!");
    sr_sms_measure(t, &l);
    ck_assert_int_eq(l.encoding, SR_SMS_UCS2);
    ck_assert_int_eq(l.segments, 2);
    ck_assert_uint_eq(l.units, 134);
    ck_assert_str_eq(t, apr_pstrcat(pool, "Hi ", repeat("\xd0\xb6", 134 - 3 - 1 - 1), "\xe2\x80\xa6", "!", (char *)NULL));
    /* Never cut between a surrogate pair's halves: emoji only whole. */
    t = sr_sms_text(pool, "", repeat("\xf0\x9f\x98\x80", 100), "");
    sr_sms_measure(t, &l);
    ck_assert_int_eq(l.segments, 2);
    ck_assert_str_eq(t, apr_pstrcat(pool, repeat("\xf0\x9f\x98\x80", 66), "\xe2\x80\xa6", (char *)NULL));
}
END_TEST

static Suite *sms_suite(void)
{
    Suite *s = suite_create("sms");
    TCase *tc = unit_case(s, "sms");

    tcase_add_test(tc, test_measure);
    tcase_add_test(tc, test_valid_utf8);
    tcase_add_test(tc, test_text);
    return s;
}

SR_UNIT_MAIN(sms_suite)
