/* SPDX-License-Identifier: Apache-2.0 */
/* sr_csrf: the dashboard's form tokens, their MAC, expiry and clock skew. */
#include "unit.h"

#include "sr_csrf.h"

#define KEY "k3y-for-tests"
#define NOW 1764650000
#define LIFETIME 3600

static const sr_csrf_who_t alice = {"shop.example.test", "Slot staff", "alice", "42"};

/*
 * Computed apart from the module:
 * printf 'csrf-v2|17:shop.example.test|10:Slot staff|5:alice|42|1764650000' \
 *   | openssl dgst -sha256 -hmac 'k3y-for-tests'
 */
#define ALICE_MAC "2798d9f4c1d1dd28da4dce1a32c123a526a150a0cad6665af23ca45bd38d225f"

static sr_csrf_t check(const sr_csrf_who_t *who, const char *token, apr_int64_t now)
{
    return sr_csrf_check(pool, KEY, who, token, now, LIFETIME);
}

START_TEST(test_known_answer)
{
    ck_assert_str_eq(sr_csrf_mac(pool, KEY, &alice, "1764650000"), ALICE_MAC);
    ck_assert_str_eq(sr_csrf_issue(pool, KEY, &alice, NOW), "1764650000." ALICE_MAC);
    ck_assert_int_eq(check(&alice, "1764650000." ALICE_MAC, NOW), SR_CSRF_OK);
    /* No key (the installation row is missing): no token, and none passes. */
    ck_assert_ptr_null(sr_csrf_issue(pool, NULL, &alice, NOW));
    ck_assert_int_eq(sr_csrf_check(pool, NULL, &alice, "1764650000." ALICE_MAC, NOW, LIFETIME), SR_CSRF_FORGED);
}
END_TEST

START_TEST(test_lifetime)
{
    const char *token = sr_csrf_issue(pool, KEY, &alice, NOW);

    ck_assert_int_eq(check(&alice, token, NOW + LIFETIME), SR_CSRF_OK);
    ck_assert_int_eq(check(&alice, token, NOW + LIFETIME + 1), SR_CSRF_STALE);
    /* Another server's clock may be ahead by up to a minute, not more. */
    ck_assert_int_eq(check(&alice, token, NOW - SR_CSRF_CLOCK_SKEW), SR_CSRF_OK);
    ck_assert_int_eq(check(&alice, token, NOW - SR_CSRF_CLOCK_SKEW - 1), SR_CSRF_STALE);
    ck_assert_int_eq(SR_CSRF_CLOCK_SKEW, 60);
}
END_TEST

START_TEST(test_forged)
{
    const char *token = sr_csrf_issue(pool, KEY, &alice, NOW);
    const sr_csrf_who_t bob = {"shop.example.test", "Slot staff", "bob", "42"};
    const sr_csrf_who_t other_shop = {"shop.example.test", "Slot staff", "alice", "43"};
    const sr_csrf_who_t other_realm = {"shop.example.test", "Admins", "alice", "42"};
    const sr_csrf_who_t other_server = {"other.example.test", "Slot staff", "alice", "42"};
    char *tampered = apr_pstrdup(pool, token);

    ck_assert_int_eq(check(&bob, token, NOW), SR_CSRF_FORGED);
    ck_assert_int_eq(check(&other_shop, token, NOW), SR_CSRF_FORGED);
    ck_assert_int_eq(check(&other_realm, token, NOW), SR_CSRF_FORGED);
    ck_assert_int_eq(check(&other_server, token, NOW), SR_CSRF_FORGED);
    ck_assert_int_eq(sr_csrf_check(pool, "another key", &alice, token, NOW, LIFETIME), SR_CSRF_FORGED);
    /* One hex digit of the MAC changed. */
    tampered[strlen(tampered) - 1] = tampered[strlen(tampered) - 1] == '0' ? '1' : '0';
    ck_assert_int_eq(check(&alice, tampered, NOW), SR_CSRF_FORGED);
    /* A later time with the old MAC: the time is signed too. */
    ck_assert_int_eq(check(&alice, "1764650001." ALICE_MAC, NOW), SR_CSRF_FORGED);
    ck_assert_int_eq(check(&alice, NULL, NOW), SR_CSRF_FORGED);
    ck_assert_int_eq(check(&alice, "", NOW), SR_CSRF_FORGED);
    ck_assert_int_eq(check(&alice, ALICE_MAC, NOW), SR_CSRF_FORGED);
    ck_assert_int_eq(check(&alice, "." ALICE_MAC, NOW), SR_CSRF_FORGED);
    ck_assert_int_eq(check(&alice, "1764650000.", NOW), SR_CSRF_FORGED);
    ck_assert_int_eq(check(&alice, "1764650000." ALICE_MAC "0", NOW), SR_CSRF_FORGED);
    ck_assert_int_eq(check(&alice, "+1764650000." ALICE_MAC, NOW), SR_CSRF_FORGED);
    ck_assert_int_eq(check(&alice, "1764650000x." ALICE_MAC, NOW), SR_CSRF_FORGED);
}
END_TEST

START_TEST(test_fields_length_prefixed)
{
    /* realm "a|b" and user "c" must not sign what realm "a" and user "b|c" sign. */
    const sr_csrf_who_t one = {"s", "a|b", "c", "1"}, two = {"s", "a", "b|c", "1"};

    ck_assert_str_ne(sr_csrf_mac(pool, KEY, &one, "1"), sr_csrf_mac(pool, KEY, &two, "1"));
    ck_assert_int_eq(check(&two, sr_csrf_issue(pool, KEY, &one, NOW), NOW), SR_CSRF_FORGED);
}
END_TEST

START_TEST(test_digits)
{
    /* At most twelve digits of time: a longer one is refused before any MAC is made. */
    const sr_csrf_who_t w = alice;
    const char *twelve = sr_csrf_issue(pool, KEY, &w, 999999999999LL);
    const char *thirteen =
        apr_pstrcat(pool, "1000000000000.", sr_csrf_mac(pool, KEY, &w, "1000000000000"), (char *)NULL);

    ck_assert_int_eq(check(&w, twelve, 999999999999LL), SR_CSRF_OK);
    ck_assert_int_eq(check(&w, thirteen, 1000000000000LL), SR_CSRF_FORGED);
    /* Only digits before the dot, even with a MAC that matches what is there. */
    ck_assert_int_eq(check(&w, apr_pstrcat(pool, "+5.", sr_csrf_mac(pool, KEY, &w, "+5"), (char *)NULL), 5),
                     SR_CSRF_FORGED);
    ck_assert_int_eq(check(&w, apr_pstrcat(pool, " 5.", sr_csrf_mac(pool, KEY, &w, " 5"), (char *)NULL), 5),
                     SR_CSRF_FORGED);
    /* Leading zeros are digits: signed as written. */
    ck_assert_int_eq(check(&w, sr_csrf_issue(pool, KEY, &w, 5), 5), SR_CSRF_OK);
    ck_assert_int_eq(check(&w, apr_pstrcat(pool, "05.", sr_csrf_mac(pool, KEY, &w, "05"), (char *)NULL), 5),
                     SR_CSRF_OK);
}
END_TEST

static Suite *csrf_suite(void)
{
    Suite *s = suite_create("csrf");
    TCase *tc = unit_case(s, "csrf");

    tcase_add_test(tc, test_known_answer);
    tcase_add_test(tc, test_lifetime);
    tcase_add_test(tc, test_forged);
    tcase_add_test(tc, test_fields_length_prefixed);
    tcase_add_test(tc, test_digits);
    return s;
}

SR_UNIT_MAIN(csrf_suite)
