/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prints every statement the module registers (every domain's table, in the
 * order of sr_statement_tables.c) as JSON lines {"label", "sql", "nargs",
 * "columns"}: the SQL exactly as the module prepares it (%s still in place),
 * columns as the C code declares them (null when it reads none). Linked with
 * the module's own glue sources by bench/tools/build-statements-dump, so the
 * benchmark's pgbench scripts and EXPLAIN plans, and t/harness/49_statement_columns.t,
 * use the very same text.
 */
#include <stdio.h>

#include "sr_db.h"

static void json_string(const char *s)
{
    if (!s) {
        fputs("null", stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            printf("\\%c", c);
        }
        else if (c < 0x20) {
            printf("\\u%04x", c);
        }
        else {
            putchar(c);
        }
    }
    putchar('"');
}

int main(void)
{
    const sr_statement_t *const *const *table;
    const sr_statement_t *const *st;

    for (table = sr_statement_tables; *table; table++) {
        for (st = *table; *st; st++) {
            const char *c;
            int n = 0;

            for (c = (*st)->sql; *c; c++) {
                if (c[0] == '%' && ((c[1] >= 'a' && c[1] <= 'z') || (c[1] >= 'A' && c[1] <= 'Z'))) {
                    n++;
                }
            }
            printf("{\"label\": ");
            json_string((*st)->label);
            printf(", \"sql\": ");
            json_string((*st)->sql);
            printf(", \"nargs\": %d, \"columns\": ", n);
            json_string((*st)->columns);
            printf("}\n");
        }
    }
    return 0;
}
