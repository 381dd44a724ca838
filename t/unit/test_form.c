/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sr_form_parse, sr_form_get and sr_utf8_repair: urlencoded bodies (Twilio's
 * webhooks, the dashboard's forms); sr_form_make/add/encode: the bodies sent.
 */
#include "unit.h"

#include "sr_form.h"

static sr_form_status_t parse(const char *body, int max, apr_array_header_t **params, apr_size_t *where)
{
    char *copy = apr_pstrdup(pool, body);

    return sr_form_parse(pool, copy, strlen(body), max, params, where);
}

START_TEST(test_parse)
{
    apr_array_header_t *params = NULL;
    apr_size_t where = 0;
    const sr_param_t *f;

    ck_assert_int_eq(parse("a=1&b=hello+world&c=%41%00z&&d&e%3D=%2B1", SR_FORM_MAX_PAIRS, &params, &where), SR_FORM_OK);
    ck_assert_int_eq(params->nelts, 5);
    f = &APR_ARRAY_IDX(params, 0, sr_param_t);
    ck_assert_str_eq(f->name, "a");
    ck_assert_str_eq(f->value, "1");
    f = &APR_ARRAY_IDX(params, 1, sr_param_t);
    ck_assert_str_eq(f->value, "hello world");
    /* A NUL: the raw bytes keep it (signatures cover them), the text has U+FFFD. */
    f = &APR_ARRAY_IDX(params, 2, sr_param_t);
    ck_assert_uint_eq(f->raw_value_len, 3);
    ck_assert_int_eq(memcmp(f->raw_value, "A\0z", 3), 0);
    ck_assert_str_eq(f->value, "A\xef\xbf\xbdz");
    /* Without '=': an empty value. */
    f = &APR_ARRAY_IDX(params, 3, sr_param_t);
    ck_assert_str_eq(f->name, "d");
    ck_assert_str_eq(f->value, "");
    f = &APR_ARRAY_IDX(params, 4, sr_param_t);
    ck_assert_str_eq(f->name, "e=");
    ck_assert_str_eq(f->value, "+1");
    ck_assert_str_eq(sr_form_get(params, "b"), "hello world");
    ck_assert_ptr_null(sr_form_get(params, "missing"));
}
END_TEST

START_TEST(test_first_wins)
{
    apr_array_header_t *params;
    apr_size_t where;

    ck_assert_int_eq(parse("x=1&x=2", SR_FORM_MAX_PAIRS, &params, &where), SR_FORM_OK);
    ck_assert_int_eq(params->nelts, 2);
    ck_assert_str_eq(sr_form_get(params, "x"), "1");
}
END_TEST

START_TEST(test_errors)
{
    apr_array_header_t *params;
    apr_size_t where = 0;

    ck_assert_int_eq(parse("a=%4", SR_FORM_MAX_PAIRS, &params, &where), SR_FORM_BAD_ESCAPE);
    ck_assert_uint_eq(where, 2);
    ck_assert_int_eq(parse("ok=1&b=%zz", SR_FORM_MAX_PAIRS, &params, &where), SR_FORM_BAD_ESCAPE);
    ck_assert_uint_eq(where, 7);
    ck_assert_int_eq(parse("a=1&b=2", 2, &params, &where), SR_FORM_OK);
    ck_assert_int_eq(parse("a=1&b=2&c=3", 2, &params, &where), SR_FORM_TOO_MANY);
    /* Empty pieces are no fields. */
    ck_assert_int_eq(parse("&&&a=1&&&", 1, &params, &where), SR_FORM_OK);
    ck_assert_int_eq(parse("", 1, &params, &where), SR_FORM_OK);
    ck_assert_int_eq(params->nelts, 0);
}
END_TEST

START_TEST(test_repair)
{
    const char *ok = "caf\xc3\xa9";

    ck_assert_ptr_eq(sr_utf8_repair(pool, ok, strlen(ok)), ok);
    /* Maximal subparts: a start byte whose continuation is missing is one U+FFFD. */
    ck_assert_str_eq(sr_utf8_repair(pool, "\xc3(", 2), "\xef\xbf\xbd(");
    ck_assert_str_eq(sr_utf8_repair(pool, "\xe2\x82(", 3), "\xef\xbf\xbd(");
    ck_assert_str_eq(sr_utf8_repair(pool, "\xff\xfe", 2), "\xef\xbf\xbd\xef\xbf\xbd");
    /* Overlong and surrogate encodings are invalid. */
    ck_assert_str_eq(sr_utf8_repair(pool, "\xc0\xaf", 2), "\xef\xbf\xbd\xef\xbf\xbd");
    ck_assert_str_eq(sr_utf8_repair(pool, "\xed\xa0\x80", 3), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    ck_assert_str_eq(sr_utf8_repair(pool, "a\0b", 3), "a\xef\xbf\xbd" "b");
}
END_TEST

/* The bodies the provider clients send (Twilio's Messages, Stripe's PaymentIntents). */
START_TEST(test_build)
{
    sr_form_t *f = sr_form_make(pool);

    ck_assert_str_eq(sr_form_encode(f), "");
    sr_form_add(f, "To", "+1 415 555 0123");
    sr_form_add(f, "Body", "YES & NO = 50%");
    sr_form_add(f, "metadata[payment_id]", "7");
    sr_form_add(f, "Empty", NULL);
    ck_assert_str_eq(sr_form_encode(f),
                     "To=%2b1+415+555+0123&Body=YES+%26+NO+%3d+50%25&metadata%5bpayment_id%5d=7&Empty=");
}
END_TEST

static Suite *form_suite(void)
{
    Suite *s = suite_create("form");
    TCase *tc = unit_case(s, "form");

    tcase_add_test(tc, test_parse);
    tcase_add_test(tc, test_first_wins);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_repair);
    tcase_add_test(tc, test_build);
    return s;
}

SR_UNIT_MAIN(form_suite)
