/* SPDX-License-Identifier: Apache-2.0 */
/* The keyword of an inbound SMS. APR only. */
#include <apr_lib.h>
#include <apr_strings.h>

#include "sr_keyword.h"

sr_keyword_t sr_keyword_classify(apr_pool_t *p, const char *body)
{
    static const char *const stop[] = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"};
    char *word = apr_pstrdup(p, body), *c;
    apr_size_t len, i;

    while (apr_isspace(*word)) {
        word++;
    }
    len = strlen(word);
    while (len > 0 && (apr_isspace(word[len - 1]) || strchr("!.?", word[len - 1]))) {
        word[--len] = '\0';
    }
    for (c = word; *c; c++) {
        *c = (char)apr_toupper(*c);
    }
    if (!strcmp(word, "YES") || !strcmp(word, "Y")) {
        return SR_KW_YES;
    }
    if (!strcmp(word, "NO") || !strcmp(word, "N")) {
        return SR_KW_NO;
    }
    for (i = 0; i < sizeof(stop) / sizeof(stop[0]); i++) {
        if (!strcmp(word, stop[i])) {
            return SR_KW_STOP;
        }
    }
    if (!strcmp(word, "START") || !strcmp(word, "UNSTOP")) {
        return SR_KW_START;
    }
    return SR_KW_HELP;
}
