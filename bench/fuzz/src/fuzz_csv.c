/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sr_csv_cell (mod_slotrecovery/core/sr_escape.c): the cells of the dashboard's
 * CSV export (/app/slot-openings.csv).
 *
 * Input: the cells of one row, separated by NUL bytes (a cell is a C string,
 * so it can hold anything but NUL). Each cell is escaped on its own and
 * checked: unquoted only when it holds no '"', ',', CR or LF; quoted, it
 * starts and ends with '"' and every quote inside is doubled. Then the row
 * (cells joined with ',', ended by CRLF, as the export writes it) is read back
 * with an RFC 4180 parser written here: it must give as many cells, each the
 * input cell, with a "'" first exactly when the cell starts with = + - @ TAB
 * or CR (what the README promises: no cell a spreadsheet would run as a
 * formula), and no cell read back starts with one of those.
 */
#include <apr_strings.h>

#include "fuzz_common.h"
#include "sr_escape.h"

#define MAX_CELLS 16

static int formula_start(char c)
{
    return c && strchr("=+-@\t\r", c) != NULL;
}

static void check_cell(const char *value, const char *cell)
{
    size_t len = strlen(cell), i;

    FUZZ_CHECK(cell);
    if (cell[0] != '"') {
        FUZZ_CHECK(!strpbrk(cell, "\",\r\n"));
        return;
    }
    FUZZ_CHECK(len >= 2 && cell[len - 1] == '"');
    for (i = 1; i < len - 1; i++) {
        if (cell[i] == '"') {
            FUZZ_CHECK(cell[i + 1] == '"' && i + 1 < len - 1);
            i++;
        }
    }
    /* Quoted only when it must be. */
    FUZZ_CHECK(strpbrk(value, "\",\r\n"));
}

/*
 * RFC 4180 (one record ended by CRLF): the fields into cells[], their
 * lengths into lens[]; the number of fields, -1 when the row is malformed.
 */
static int parse_row(const char *row, char **cells, size_t *lens, int max)
{
    const char *r = row;
    int n = 0;

    for (;;) {
        char *out;
        size_t o = 0;

        FUZZ_CHECK(n < max);
        out = cells[n] = malloc(strlen(row) + 1);
        if (*r == '"') {
            for (r++;; r++) {
                if (!*r) {
                    return -1; /* no closing quote */
                }
                if (*r == '"') {
                    if (r[1] != '"') {
                        r++;
                        break;
                    }
                    r++;
                }
                out[o++] = *r;
            }
        }
        else {
            for (; *r && *r != ',' && *r != '\r' && *r != '\n'; r++) {
                if (*r == '"') {
                    return -1; /* a bare quote */
                }
                out[o++] = *r;
            }
        }
        out[o] = '\0';
        lens[n++] = o;
        if (*r == ',') {
            r++;
            continue;
        }
        return r[0] == '\r' && r[1] == '\n' && r[2] == '\0' ? n : -1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *values[MAX_CELLS], *row = "";
    char *parsed[MAX_CELLS];
    size_t lens[MAX_CELLS], at = 0;
    int n = 0, got, i;

    fuzz_init();
    apr_pool_create(&p, fuzz_root);
    /* The cells: NUL-separated; a NULL cell (no value) last when the input ends with NUL. */
    while (n < MAX_CELLS - 1) {
        const uint8_t *nul = memchr(data + at, '\0', size - at);
        size_t len = nul ? (size_t)(nul - (data + at)) : size - at;

        values[n++] = fuzz_strndup(data + at, len);
        if (!nul) {
            break;
        }
        at += len + 1;
        if (at == size) {
            values[n++] = NULL;
            break;
        }
    }
    for (i = 0; i < n; i++) {
        const char *cell = sr_csv_cell(p, values[i]);

        if (values[i]) {
            check_cell(values[i], cell);
        }
        else {
            FUZZ_CHECK(!strcmp(cell, ""));
        }
        row = apr_pstrcat(p, row, i ? "," : "", cell, (char *)NULL);
    }
    row = apr_pstrcat(p, row, "\r\n", (char *)NULL);
    got = parse_row(row, parsed, lens, MAX_CELLS);
    FUZZ_CHECK(got == n);
    for (i = 0; i < n; i++) {
        const char *v = values[i] ? values[i] : "";
        size_t vlen = strlen(v);

        FUZZ_CHECK(!formula_start(parsed[i][0]));
        if (formula_start(v[0])) {
            FUZZ_CHECK(lens[i] == vlen + 1 && parsed[i][0] == '\'' && !memcmp(parsed[i] + 1, v, vlen));
        }
        else {
            FUZZ_CHECK(lens[i] == vlen && !memcmp(parsed[i], v, vlen));
        }
    }
    for (i = 0; i < got; i++) {
        free(parsed[i]);
    }
    apr_pool_destroy(p);
    fuzz_free_all();
    return 0;
}
