/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sr_keyword_classify (mod_slotrecovery/core/sr_keyword.c): the YES/NO/STOP/START
 * keyword of an inbound SMS, anything else HELP.
 *
 * Input: the SMS body (a NUL ends it, as in the form field). Checked: the
 * result is one of the enum and is what the documented word list (sr_keyword.h,
 * written out again here) gives for the body with white space around it and
 * trailing "!.?" taken off, compared without regard to ASCII case; white space
 * and "!.?" added around the body, or the case of its letters swapped, do not
 * change it; and a keyword of the list, decorated and cased as the input's
 * bytes say, classifies as its class.
 */
#include <apr_strings.h>

#include "fuzz_common.h"
#include "sr_keyword.h"

static const struct {
    const char *word;
    sr_keyword_t kw;
} words[] = {
    {"YES", SR_KW_YES},
    {"Y", SR_KW_YES},
    {"NO", SR_KW_NO},
    {"N", SR_KW_NO},
    {"STOP", SR_KW_STOP},
    {"STOPALL", SR_KW_STOP},
    {"UNSUBSCRIBE", SR_KW_STOP},
    {"CANCEL", SR_KW_STOP},
    {"END", SR_KW_STOP},
    {"QUIT", SR_KW_STOP},
    {"REVOKE", SR_KW_STOP},
    {"OPTOUT", SR_KW_STOP},
    {"START", SR_KW_START},
    {"UNSTOP", SR_KW_START},
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static const char space[] = " \t\r\n\v\f"; /* what apr_isspace calls white space in the C locale */
static const char trailing[] = " \t\r\n\v\f!.?";

static int is_space(char c)
{
    return c && strchr(space, c) != NULL;
}

static int is_trailing(char c)
{
    return c && strchr(trailing, c) != NULL;
}

static int ascii_upper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* The class the list gives s[0..n), compared without regard to ASCII case. */
static sr_keyword_t expected(const char *s, size_t n)
{
    size_t i, k;

    for (i = 0; i < NWORDS; i++) {
        if (strlen(words[i].word) != n) {
            continue;
        }
        for (k = 0; k < n && ascii_upper((unsigned char)s[k]) == words[i].word[k]; k++) {
        }
        if (k == n) {
            return words[i].kw;
        }
    }
    return SR_KW_HELP;
}

static sr_keyword_t classify(apr_pool_t *p, const char *body)
{
    sr_keyword_t kw = sr_keyword_classify(p, body);

    FUZZ_CHECK(kw == SR_KW_YES || kw == SR_KW_NO || kw == SR_KW_STOP || kw == SR_KW_START || kw == SR_KW_HELP);
    return kw;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *body = fuzz_strndup(data, size), *swapped, *c;
    const char *start, *end;
    sr_keyword_t kw;

    fuzz_init();
    apr_pool_create(&p, fuzz_root);
    kw = classify(p, body);

    /* Against the list: the word is the body without what surrounds it. */
    for (start = body; is_space(*start); start++) {
    }
    for (end = start + strlen(start); end > start && is_trailing(end[-1]); end--) {
    }
    FUZZ_CHECK(kw == expected(start, (size_t)(end - start)));

    /* White space and punctuation around it change nothing. */
    FUZZ_CHECK(classify(p, apr_pstrcat(p, " \t", body, "!\r\n", (char *)NULL)) == kw);
    FUZZ_CHECK(classify(p, apr_pstrcat(p, "\v\f", body, " ?. ", (char *)NULL)) == kw);

    /* Nor does the case of its ASCII letters. */
    swapped = apr_pstrdup(p, body);
    for (c = swapped; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')) {
            *c ^= 0x20;
        }
    }
    FUZZ_CHECK(classify(p, swapped) == kw);

    /*
     * A listed word the input chooses (its first byte), cased by the bits of
     * the following bytes, with white space before and white space or "!.?"
     * after, as many as those bytes say.
     */
    if (size >= 3) {
        size_t w = data[0] % NWORDS, k, n = strlen(words[w].word);
        size_t before = data[1] % 4, after = data[2] % 4, o = 0;
        char decorated[32];

        for (k = 0; k < before; k++) {
            decorated[o++] = space[data[1] >> 2 & 3];
        }
        for (k = 0; k < n; k++) {
            int lower = k + 3 < size ? data[3 + k] & 1 : 0;

            decorated[o++] = lower ? (char)(words[w].word[k] | 0x20) : words[w].word[k];
        }
        for (k = 0; k < after; k++) {
            decorated[o++] = trailing[(data[2] >> (2 + k)) % (sizeof(trailing) - 1)];
        }
        decorated[o] = '\0';
        FUZZ_CHECK(classify(p, decorated) == words[w].kw);
    }
    apr_pool_destroy(p);
    fuzz_free_all();
    return 0;
}
