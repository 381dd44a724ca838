/* SPDX-License-Identifier: Apache-2.0 */
/* Form bodies: a bounded, linear parser and UTF-8 repair. APR only. */
#include <string.h>

#include <apr_escape.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "sr_form.h"

/* U+FFFD REPLACEMENT CHARACTER */
static const char replacement[] = "\xEF\xBF\xBD";

/*
 * The length of the well-formed UTF-8 sequence at s[0..n) (Unicode's table
 * 3-7: no overlong forms, surrogates or code points past U+10FFFF), or 0 with
 * *bad the length of the maximal subpart to replace. NUL counts as invalid.
 */
static apr_size_t utf8_sequence(const unsigned char *s, apr_size_t n, apr_size_t *bad)
{
    unsigned char lo = 0x80, hi = 0xBF;
    apr_size_t need, i;

    if (s[0] < 0x80) {
        *bad = 1;
        return s[0] ? 1 : 0;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        need = 2;
    }
    else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        need = 3;
        lo = s[0] == 0xE0 ? 0xA0 : 0x80;
        hi = s[0] == 0xED ? 0x9F : 0xBF;
    }
    else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        need = 4;
        lo = s[0] == 0xF0 ? 0x90 : 0x80;
        hi = s[0] == 0xF4 ? 0x8F : 0xBF;
    }
    else {
        *bad = 1;
        return 0;
    }
    for (i = 1; i < need; i++) {
        if (i >= n || s[i] < lo || s[i] > hi) {
            *bad = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need;
}

const char *sr_utf8_repair(apr_pool_t *p, const char *s, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i = 0, size = 0, n, bad;
    int repaired = 0;
    char *out, *o;

    /* First pass: is there anything to repair, and how long is the result. */
    while (i < len) {
        if ((n = utf8_sequence(u + i, len - i, &bad))) {
            size += n;
            i += n;
        }
        else {
            size += sizeof(replacement) - 1;
            i += bad;
            repaired = 1;
        }
    }
    if (!repaired) {
        return s;
    }
    out = o = apr_palloc(p, size + 1);
    for (i = 0; i < len;) {
        if ((n = utf8_sequence(u + i, len - i, &bad))) {
            memcpy(o, s + i, n);
            o += n;
            i += n;
        }
        else {
            memcpy(o, replacement, sizeof(replacement) - 1);
            o += sizeof(replacement) - 1;
            i += bad;
        }
    }
    *o = '\0';
    return out;
}

static int hex_value(char c)
{
    return apr_isdigit(c) ? c - '0' : apr_tolower(c) - 'a' + 10;
}

/*
 * Decodes s[0..len) in place and NUL-terminates it (at most at s[len]): the
 * decoded length, or -1 with *bad the offset of a malformed escape.
 */
static apr_ssize_t decode(char *s, apr_size_t len, apr_size_t *bad)
{
    apr_size_t i, o = 0;

    for (i = 0; i < len; i++) {
        char c = s[i];

        if (c == '+') {
            c = ' ';
        }
        else if (c == '%') {
            if (len - i < 3 || !apr_isxdigit(s[i + 1]) || !apr_isxdigit(s[i + 2])) {
                *bad = i;
                return -1;
            }
            c = (char)(hex_value(s[i + 1]) << 4 | hex_value(s[i + 2]));
            i += 2;
        }
        s[o++] = c;
    }
    s[o] = '\0';
    return (apr_ssize_t)o;
}

sr_form_status_t sr_form_parse(apr_pool_t *p, char *body, apr_size_t len, int max_pairs, apr_array_header_t **params,
                               apr_size_t *where)
{
    apr_size_t start = 0;

    *params = apr_array_make(p, 16, sizeof(sr_param_t));
    while (start < len) {
        char *piece = body + start, *amp = memchr(piece, '&', len - start), *eq;
        apr_size_t piece_len = amp ? (apr_size_t)(amp - piece) : len - start, name_len, bad = 0;
        apr_ssize_t n;
        sr_param_t *param;

        if (!piece_len) {
            start++;
            continue;
        }
        if ((*params)->nelts >= max_pairs) {
            return SR_FORM_TOO_MANY;
        }
        eq = memchr(piece, '=', piece_len);
        name_len = eq ? (apr_size_t)(eq - piece) : piece_len;
        param = apr_array_push(*params);
        /* Each part is decoded where it lies; its NUL goes where its '=' or '&' was. */
        if ((n = decode(piece, name_len, &bad)) < 0) {
            *where = start + bad;
            return SR_FORM_BAD_ESCAPE;
        }
        param->raw_name = piece;
        param->raw_name_len = (apr_size_t)n;
        if (eq) {
            if ((n = decode(eq + 1, piece_len - name_len - 1, &bad)) < 0) {
                *where = start + name_len + 1 + bad;
                return SR_FORM_BAD_ESCAPE;
            }
            param->raw_value = eq + 1;
            param->raw_value_len = (apr_size_t)n;
        }
        else {
            param->raw_value = "";
            param->raw_value_len = 0;
        }
        param->name = sr_utf8_repair(p, param->raw_name, param->raw_name_len);
        param->value = sr_utf8_repair(p, param->raw_value, param->raw_value_len);
        start += piece_len + 1;
    }
    return SR_FORM_OK;
}

const char *sr_form_get(const apr_array_header_t *params, const char *name)
{
    int i;

    for (i = 0; params && i < params->nelts; i++) {
        const sr_param_t *param = &APR_ARRAY_IDX(params, i, sr_param_t);

        if (!strcmp(param->name, name)) {
            return param->value;
        }
    }
    return NULL;
}

/* Building a body: what the provider clients send. */
struct sr_form {
    apr_pool_t *pool;
    apr_array_header_t *parts; /* "name=value", encoded */
};

sr_form_t *sr_form_make(apr_pool_t *p)
{
    sr_form_t *form = apr_palloc(p, sizeof(*form));

    form->pool = p;
    form->parts = apr_array_make(p, 8, sizeof(const char *));
    return form;
}

void sr_form_add(sr_form_t *form, const char *name, const char *value)
{
    APR_ARRAY_PUSH(form->parts, const char *) =
        apr_pstrcat(form->pool, apr_pescape_urlencoded(form->pool, name), "=",
                    apr_pescape_urlencoded(form->pool, value ? value : ""), (char *)NULL);
}

const char *sr_form_encode(const sr_form_t *form)
{
    return apr_array_pstrcat(form->pool, form->parts, '&');
}
