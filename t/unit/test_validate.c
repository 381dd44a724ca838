/* SPDX-License-Identifier: Apache-2.0 */
/* The API's input checks: ids, phone numbers, Stripe's minimum charges, JSON fields. */
#include "unit.h"

#include "sr_json.h"
#include "sr_validate.h"

START_TEST(test_ids_and_phones)
{
    ck_assert(sr_valid_id("1"));
    ck_assert(sr_valid_id("999999999999999999")); /* 18 digits: always a bigint */
    ck_assert(!sr_valid_id("1000000000000000000"));
    ck_assert(!sr_valid_id("0"));
    ck_assert(!sr_valid_id("01"));
    ck_assert(!sr_valid_id("-1"));
    ck_assert(!sr_valid_id("1a"));
    ck_assert(!sr_valid_id(""));
    ck_assert(!sr_valid_id(NULL));
    ck_assert(sr_valid_phone("+14155550123"));
    ck_assert(sr_valid_phone("+1234567"));          /* 7 digits */
    ck_assert(sr_valid_phone("+123456789012345"));  /* 15 digits */
    ck_assert(!sr_valid_phone("+123456"));
    ck_assert(!sr_valid_phone("+1234567890123456"));
    ck_assert(!sr_valid_phone("14155550123"));
    ck_assert(!sr_valid_phone("+04155550123"));
    ck_assert(!sr_valid_phone("+1 415 555 0123"));
    ck_assert(!sr_valid_phone(NULL));
}
END_TEST

START_TEST(test_minimum_charge)
{
    ck_assert_int_eq(sr_stripe_minimum_charge("usd"), 50);
    ck_assert_int_eq(sr_stripe_minimum_charge("eur"), 50);
    ck_assert_int_eq(sr_stripe_minimum_charge("gbp"), 30);
    ck_assert_int_eq(sr_stripe_minimum_charge("jpy"), 50);
    ck_assert_int_eq(sr_stripe_minimum_charge("huf"), 17500);
    ck_assert_int_eq(sr_stripe_minimum_charge("xyz"), 0);
}
END_TEST

static sr_json_t *json(const char *text)
{
    const char *error = NULL;
    sr_json_t *j = sr_json_parse(pool, text, strlen(text), &error);

    ck_assert_msg(j != NULL, "%s: %s", text, error ? error : "?");
    return j;
}

START_TEST(test_fields)
{
    sr_fields_t f;
    const char *name = NULL, *phone = NULL, *amount = NULL, *when_s = NULL, *missing = "untouched";
    apr_time_t when = 0;

    sr_fields_init(&f, pool, json("{\"name\":\"Bob\",\"phone\":\"+14155550123\",\"amount\":2000,"
                                  "\"at\":\"2023-11-14T23:13:20+01:00\"}"));
    ck_assert(sr_field_text(&f, "name", 1, 100, &name) && sr_field_phone(&f, "phone", 1, &phone) &&
              sr_field_int(&f, "amount", 1, 0, 100000, &amount) && sr_field_time(&f, "at", 1, &when_s, &when) &&
              sr_field_text(&f, "note", 0, 100, &missing));
    ck_assert_ptr_null(f.error);
    ck_assert_str_eq(name, "Bob");
    ck_assert_str_eq(phone, "+14155550123");
    ck_assert_str_eq(amount, "2000");
    ck_assert_str_eq(when_s, "2023-11-14T22:13:20.000000Z");
    ck_assert_int_eq(apr_time_sec(when), 1700000000);
    ck_assert_str_eq(missing, "untouched");

    /* The first problem is kept and the later checks stop at once. */
    sr_fields_init(&f, pool, json("{\"name\":\"Bob\",\"amount\":100001,\"phone\":\"nope\"}"));
    ck_assert(!sr_field_int(&f, "amount", 1, 0, 100000, &amount));
    ck_assert_ptr_nonnull(f.error);
    ck_assert_msg(strstr(f.error, "amount") != NULL, "%s", f.error);
    name = f.error;
    ck_assert(!sr_field_phone(&f, "phone", 1, &phone));
    ck_assert_ptr_eq(f.error, name);
    /* Required and absent, too long, wrong type. */
    sr_fields_init(&f, pool, json("{}"));
    ck_assert(!sr_field_text(&f, "name", 1, 10, &name));
    sr_fields_init(&f, pool, json("{\"name\":\"12345678901\"}"));
    ck_assert(!sr_field_text(&f, "name", 1, 10, &name));
    sr_fields_init(&f, pool, json("{\"name\":\"1234567890\"}"));
    ck_assert(sr_field_text(&f, "name", 1, 10, &name));
    sr_fields_init(&f, pool, json("{\"name\":5}"));
    ck_assert(!sr_field_text(&f, "name", 1, 10, &name));
}
END_TEST

static Suite *validate_suite(void)
{
    Suite *s = suite_create("validate");
    TCase *tc = unit_case(s, "validate");

    tcase_add_test(tc, test_ids_and_phones);
    tcase_add_test(tc, test_minimum_charge);
    tcase_add_test(tc, test_fields);
    return s;
}

SR_UNIT_MAIN(validate_suite)
