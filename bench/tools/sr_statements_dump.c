/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prints every statement of mod_slotrecovery/httpd/sr_statements.c as JSON lines
 * {"label", "sql", "nargs"}, the SQL exactly as the module prepares it (%s
 * still in place). Built by bench/run from the module's own source, so the
 * benchmark's pgbench scripts and EXPLAIN plans use the very same text.
 */
#include <stdio.h>

#include "sr_db.h"

#include "sr_statements.c"

static void json_string(const char *s)
{
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
    int q;

    for (q = 0; q < SR_Q_COUNT; q++) {
        const char *c;
        int n = 0;

        for (c = sr_statements[q].sql; *c; c++) {
            if (c[0] == '%' && ((c[1] >= 'a' && c[1] <= 'z') || (c[1] >= 'A' && c[1] <= 'Z'))) {
                n++;
            }
        }
        printf("{\"label\": ");
        json_string(sr_statements[q].label);
        printf(", \"sql\": ");
        json_string(sr_statements[q].sql);
        printf(", \"nargs\": %d}\n", n);
    }
    return 0;
}
