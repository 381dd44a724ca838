/* SPDX-License-Identifier: Apache-2.0 */
/* sr_keyword_classify: the keyword of an inbound SMS (README: YES, NO, STOP, START, else HELP). */
#include "unit.h"

#include "sr_keyword.h"

static const struct {
    const char *body;
    sr_keyword_t want;
} cases[] = {
    {"YES", SR_KW_YES},       {"yes", SR_KW_YES},         {" yes!", SR_KW_YES},      {"Y", SR_KW_YES},
    {"YeS ?! . ", SR_KW_YES}, {"\tyes\r\n", SR_KW_YES},   {"NO", SR_KW_NO},          {"n.", SR_KW_NO},
    {"No!", SR_KW_NO},        {"STOP", SR_KW_STOP},       {"stopall", SR_KW_STOP},   {"Unsubscribe", SR_KW_STOP},
    {"cancel", SR_KW_STOP},   {"END", SR_KW_STOP},        {"quit", SR_KW_STOP},      {"revoke", SR_KW_STOP},
    {"optout", SR_KW_STOP},   {"START", SR_KW_START},     {"unstop", SR_KW_START},   {"", SR_KW_HELP},
    {"   ", SR_KW_HELP},      {"yes please", SR_KW_HELP}, {"yess", SR_KW_HELP},      {"!yes", SR_KW_HELP},
    {"help", SR_KW_HELP},     {"opt out", SR_KW_HELP},    {"y e s", SR_KW_HELP},     {"NO WAY", SR_KW_HELP},
};

START_TEST(test_classify)
{
    ck_assert_msg(sr_keyword_classify(pool, cases[_i].body) == cases[_i].want, "\"%s\": got %d, want %d",
                  cases[_i].body, (int)sr_keyword_classify(pool, cases[_i].body), (int)cases[_i].want);
}
END_TEST

/* A non-ASCII body is HELP, not a crash or a match on a prefix. */
START_TEST(test_non_ascii)
{
    ck_assert_int_eq(sr_keyword_classify(pool, "YES\xc2\xa0"), SR_KW_HELP);
    ck_assert_int_eq(sr_keyword_classify(pool, "\xef\xbc\xb9\xef\xbc\xa5\xef\xbc\xb3"), SR_KW_HELP); /* fullwidth YES */
}
END_TEST

static Suite *keyword_suite(void)
{
    Suite *s = suite_create("keyword");
    TCase *tc = unit_case(s, "classify");

    tcase_add_loop_test(tc, test_classify, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, test_non_ascii);
    return s;
}

SR_UNIT_MAIN(keyword_suite)
