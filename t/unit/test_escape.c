/* SPDX-License-Identifier: Apache-2.0 */
/* sr_html_escape and sr_csv_cell: every value the dashboard prints or exports. */
#include "unit.h"

#include "sr_escape.h"

START_TEST(test_html)
{
    const char *plain = "Plain text, 100% safe";

    ck_assert_str_eq(sr_html_escape(pool, "a&b<c>\"d'e"), "a&amp;b&lt;c&gt;&#34;d&#39;e");
    ck_assert_str_eq(sr_html_escape(pool, "<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
    ck_assert_str_eq(sr_html_escape(pool, "&amp;"), "&amp;amp;");
    ck_assert_str_eq(sr_html_escape(pool, ""), "");
    /* Nothing to escape: the string itself, no copy. */
    ck_assert_ptr_eq(sr_html_escape(pool, plain), plain);
    /* UTF-8 passes untouched. */
    ck_assert_str_eq(sr_html_escape(pool, "Caf\xc3\xa9 <b>"), "Caf\xc3\xa9 &lt;b&gt;");
}
END_TEST

START_TEST(test_csv)
{
    ck_assert_str_eq(sr_csv_cell(pool, NULL), "");
    ck_assert_str_eq(sr_csv_cell(pool, "plain"), "plain");
    ck_assert_str_eq(sr_csv_cell(pool, "a,b"), "\"a,b\"");
    ck_assert_str_eq(sr_csv_cell(pool, "say \"hi\""), "\"say \"\"hi\"\"\"");
    ck_assert_str_eq(sr_csv_cell(pool, "two\nlines"), "\"two\nlines\"");
    ck_assert_str_eq(sr_csv_cell(pool, "cr\rhere"), "\"cr\rhere\"");
    /* What a spreadsheet would run as a formula gets a quote first. */
    ck_assert_str_eq(sr_csv_cell(pool, "=1+1"), "'=1+1");
    ck_assert_str_eq(sr_csv_cell(pool, "+14155550123"), "'+14155550123");
    ck_assert_str_eq(sr_csv_cell(pool, "-5"), "'-5");
    ck_assert_str_eq(sr_csv_cell(pool, "@SUM(A1)"), "'@SUM(A1)");
    ck_assert_str_eq(sr_csv_cell(pool, "\tx"), "'\tx");
    /* Both: prefixed, then quoted. */
    ck_assert_str_eq(sr_csv_cell(pool, "=HYPERLINK(\"x\",\"y\")"), "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
    /* Not at the start: no prefix. */
    ck_assert_str_eq(sr_csv_cell(pool, "a=b"), "a=b");
}
END_TEST

static Suite *escape_suite(void)
{
    Suite *s = suite_create("escape");
    TCase *tc = unit_case(s, "escape");

    tcase_add_test(tc, test_html);
    tcase_add_test(tc, test_csv);
    return s;
}

SR_UNIT_MAIN(escape_suite)
