/* SPDX-License-Identifier: Apache-2.0 */
/* sr_filter: the slot-openings filters and paging of the dashboard's query string. */
#include <stdarg.h>

#include "unit.h"

#include "sr_filter.h"

/* A query's decoded fields: name, value, ..., NULL. */
static apr_table_t *fields(const char *name, ...)
{
    apr_table_t *t = apr_table_make(pool, 4);
    va_list ap;

    va_start(ap, name);
    for (; name; name = va_arg(ap, const char *)) {
        apr_table_add(t, name, va_arg(ap, const char *));
    }
    va_end(ap);
    return t;
}

/* The problem sr_filter_parse reports for args, or NULL when it accepts them. */
static const char *problem_of(apr_table_t *args)
{
    sr_filter_t f;
    const char *problem = NULL;

    if (sr_filter_parse(pool, args, &f, &problem)) {
        ck_assert_ptr_null(problem);
        return NULL;
    }
    ck_assert_ptr_nonnull(problem);
    return problem;
}

#define STATUS_PROBLEM "status must be open, filled or expired"
#define DATE_PROBLEM "from and to must be dates as YYYY-MM-DD"
#define PAGE_PROBLEM "page must be a number from 1"

START_TEST(test_defaults)
{
    sr_filter_t f;
    const char *problem = NULL;

    ck_assert(sr_filter_parse(pool, fields(NULL), &f, &problem));
    ck_assert_ptr_null(f.status);
    ck_assert_ptr_null(f.from);
    ck_assert_ptr_null(f.to);
    ck_assert_int_eq(f.page, 1);
    /* An empty field of the form means "any". */
    ck_assert(sr_filter_parse(pool, fields("status", "", "from", "", "to", "", "page", "", NULL), &f, &problem));
    ck_assert_ptr_null(f.status);
    ck_assert_ptr_null(f.from);
    ck_assert_ptr_null(f.to);
    ck_assert_int_eq(f.page, 1);
    ck_assert(sr_filter_parse(pool, NULL, &f, &problem));
    ck_assert_int_eq(f.page, 1);
}
END_TEST

START_TEST(test_values)
{
    sr_filter_t f;
    const char *problem = NULL;

    ck_assert(sr_filter_parse(
        pool, fields("status", "filled", "from", "2026-02-28", "to", "2026-03-01", "page", "7", "other", "x", NULL), &f,
        &problem));
    ck_assert_str_eq(f.status, "filled");
    ck_assert_str_eq(f.from, "2026-02-28");
    ck_assert_str_eq(f.to, "2026-03-01");
    ck_assert_int_eq(f.page, 7);
    /* The first of a repeated field counts. */
    ck_assert(sr_filter_parse(pool, fields("status", "open", "status", "nonsense", NULL), &f, &problem));
    ck_assert_str_eq(f.status, "open");
}
END_TEST

START_TEST(test_status)
{
    ck_assert_ptr_null(problem_of(fields("status", "open", NULL)));
    ck_assert_ptr_null(problem_of(fields("status", "filled", NULL)));
    ck_assert_ptr_null(problem_of(fields("status", "expired", NULL)));
    ck_assert_str_eq(problem_of(fields("status", "cancelled", NULL)), STATUS_PROBLEM);
    ck_assert_str_eq(problem_of(fields("status", "Open", NULL)), STATUS_PROBLEM);
    ck_assert_str_eq(problem_of(fields("status", "open ", NULL)), STATUS_PROBLEM);
    ck_assert_str_eq(problem_of(fields("status", "open' OR 1=1 --", NULL)), STATUS_PROBLEM);
}
END_TEST

START_TEST(test_dates)
{
    ck_assert_ptr_null(problem_of(fields("from", "2024-02-29", NULL)));
    ck_assert_ptr_null(problem_of(fields("to", "1999-12-31", NULL)));
    ck_assert_str_eq(problem_of(fields("from", "2026-02-29", NULL)), DATE_PROBLEM); /* not a leap year */
    ck_assert_str_eq(problem_of(fields("from", "2026-13-01", NULL)), DATE_PROBLEM);
    ck_assert_str_eq(problem_of(fields("to", "2026-1-01", NULL)), DATE_PROBLEM);
    ck_assert_str_eq(problem_of(fields("to", "2026-01-01T00:00:00Z", NULL)), DATE_PROBLEM);
    ck_assert_str_eq(problem_of(fields("from", "01/02/2026", NULL)), DATE_PROBLEM);
    ck_assert_str_eq(problem_of(fields("from", "yesterday", NULL)), DATE_PROBLEM);
    ck_assert(sr_filter_valid_date(pool, "2026-12-02"));
    ck_assert(!sr_filter_valid_date(pool, ""));
    ck_assert(!sr_filter_valid_date(pool, "2026-12-02 "));
}
END_TEST

START_TEST(test_page)
{
    sr_filter_t f;
    const char *problem = NULL;

    ck_assert(sr_filter_parse(pool, fields("page", "100000", NULL), &f, &problem));
    ck_assert_int_eq(f.page, SR_FILTER_MAX_PAGE);
    ck_assert_int_eq(SR_FILTER_MAX_PAGE, 100000);
    ck_assert_str_eq(problem_of(fields("page", "100001", NULL)), PAGE_PROBLEM);
    ck_assert_str_eq(problem_of(fields("page", "0", NULL)), PAGE_PROBLEM);
    ck_assert_str_eq(problem_of(fields("page", "-1", NULL)), PAGE_PROBLEM);
    ck_assert_str_eq(problem_of(fields("page", "2x", NULL)), PAGE_PROBLEM);
    ck_assert_str_eq(problem_of(fields("page", "1.5", NULL)), PAGE_PROBLEM);
    ck_assert_str_eq(problem_of(fields("page", "99999999999999999999", NULL)), PAGE_PROBLEM);
    ck_assert_ptr_null(problem_of(fields("page", "1", NULL)));
}
END_TEST

START_TEST(test_query)
{
    sr_filter_t f = {NULL, NULL, NULL, 3};

    ck_assert_str_eq(sr_filter_query(pool, &f), "status=&from=&to=");
    f.status = "open";
    f.from = "2026-01-02";
    f.to = "a b&c=d";
    ck_assert_str_eq(sr_filter_query(pool, &f), "status=open&from=2026-01-02&to=a+b%26c%3dd");
}
END_TEST

static Suite *filter_suite(void)
{
    Suite *s = suite_create("filter");
    TCase *tc = unit_case(s, "filter");

    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_status);
    tcase_add_test(tc, test_dates);
    tcase_add_test(tc, test_page);
    tcase_add_test(tc, test_query);
    return s;
}

SR_UNIT_MAIN(filter_suite)
