/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every unit test of the core shares: an APR pool per test (created in
 * the fixture, destroyed after it) and a main() that runs one suite. Tests
 * run in forked processes (check's default), so a crash fails one test only.
 */
#ifndef SR_UNIT_H
#define SR_UNIT_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

static apr_pool_t *pool;

static void unit_setup(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
}

static void unit_teardown(void)
{
    apr_pool_destroy(pool);
    apr_terminate();
}

/* A test case named name holding the tests that follow, with the pool fixture. */
static TCase *unit_case(Suite *s, const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, unit_setup, unit_teardown);
    suite_add_tcase(s, tc);
    return tc;
}

#define SR_UNIT_MAIN(make_suite)                                                                                       \
    int main(void)                                                                                                     \
    {                                                                                                                  \
        SRunner *sr = srunner_create(make_suite());                                                                    \
        int failed;                                                                                                    \
                                                                                                                       \
        srunner_run_all(sr, CK_NORMAL);                                                                                \
        failed = srunner_ntests_failed(sr);                                                                            \
        srunner_free(sr);                                                                                              \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;                                                                   \
    }

#endif /* SR_UNIT_H */
