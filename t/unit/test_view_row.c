/* SPDX-License-Identifier: Apache-2.0 */
/* sr_view_row_json: result rows as the API's JSON (types, nesting, nulls). */
#include "unit.h"

#include "sr_view_row.h"

static const char *row_json(int n, const char *const *names, const char *const *cells)
{
    return sr_json_dump(pool, sr_view_row_json(pool, n, names, cells));
}

START_TEST(test_types)
{
    const char *names[] = {"id", "depositAmount", "smsOptIn", "waiting", "name", "attempts"};
    const char *cells[] = {"42", "2000", "t", "f", "Jo", "3"};

    /* Ids stay strings; the API's numbers and booleans get their JSON types. */
    ck_assert_str_eq(row_json(6, names, cells),
                     "{\"id\":\"42\",\"depositAmount\":2000,\"smsOptIn\":true,\"waiting\":false,\"name\":\"Jo\","
                     "\"attempts\":3}");
}
END_TEST

START_TEST(test_nulls_and_nesting)
{
    const char *names[] = {"id", "customer.id", "customer.name", "payment.id", "payment.amount", "lastError"};
    const char *cells[] = {"7", "3", "Ann", NULL, NULL, NULL};

    /* A member whose outer join found nothing is null, not an object of nulls. */
    ck_assert_str_eq(row_json(6, names, cells),
                     "{\"id\":\"7\",\"customer\":{\"id\":\"3\",\"name\":\"Ann\"},\"payment\":null,\"lastError\":null}");
}
END_TEST

static Suite *view_row_suite(void)
{
    Suite *s = suite_create("view_row");
    TCase *tc = unit_case(s, "view_row");

    tcase_add_test(tc, test_types);
    tcase_add_test(tc, test_nulls_and_nesting);
    return s;
}

SR_UNIT_MAIN(view_row_suite)
