/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sr_html_escape (mod_slotrecovery/core/sr_escape.c): every value the dashboard
 * writes into a page or an attribute.
 *
 * Input: the value (a NUL ends it). Checked: the output has no < > " ' left,
 * each & in it starts one of the five entities the escaper writes, decoding
 * those gives the input back byte for byte, and a value with nothing to
 * escape comes back unchanged.
 */
#include "fuzz_common.h"
#include "sr_escape.h"

static const struct {
    char c;
    const char *entity;
} entities[] = {{'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}, {'"', "&#34;"}, {'\'', "&#39;"}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *in = fuzz_strndup(data, size), *back, *b;
    const char *out, *o;
    size_t in_len = strlen(in), i;
    int special = 0;

    fuzz_init();
    apr_pool_create(&p, fuzz_root);
    out = sr_html_escape(p, in);
    FUZZ_CHECK(out);
    FUZZ_CHECK(!strpbrk(out, "<>\"'"));
    /* Decoded: every & must start a known entity. */
    back = b = malloc(strlen(out) + 1);
    for (o = out; *o;) {
        if (*o == '&') {
            for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++) {
                if (!strncmp(o, entities[i].entity, strlen(entities[i].entity))) {
                    break;
                }
            }
            FUZZ_CHECK(i < sizeof(entities) / sizeof(entities[0]));
            *b++ = entities[i].c;
            o += strlen(entities[i].entity);
        }
        else {
            *b++ = *o++;
        }
    }
    *b = '\0';
    FUZZ_CHECK(strlen(back) == in_len && !strcmp(back, in));
    free(back);
    for (i = 0; i < in_len; i++) {
        special |= strchr("&<>\"'", in[i]) != NULL;
    }
    if (!special) {
        FUZZ_CHECK(!strcmp(out, in));
    }
    apr_pool_destroy(p);
    fuzz_free_all();
    return 0;
}
