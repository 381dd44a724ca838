/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sr_form_parse and sr_utf8_repair (mod_slotrecovery/core/sr_form.c): the form
 * body reader of the Twilio webhooks and the dashboard.
 *
 * Input: an application/x-www-form-urlencoded body, parsed in place from an
 * exact-size heap copy (len + 1 bytes, as sr_read_body gives it), with the
 * module's field limit and with a limit of 3. Checked against a reading of
 * the same body written here independently: the outcome (too many fields, the
 * offset of the first malformed escape), each field's raw bytes, that each
 * text field is valid UTF-8 without NUL and equal to the raw bytes when those
 * were, and that the fields, %-encoded again, parse back to the same bytes.
 */
#include <apr_strings.h>
#include <apr_tables.h>

#include "fuzz_common.h"
#include "sr_form.h"

static int hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes s[0..n) into out; -1 with *bad at a malformed escape, else the length. */
static long ref_decode(const uint8_t *s, size_t n, char *out, size_t *bad)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (n - i < 3 || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) {
                *bad = i;
                return -1;
            }
            out[o++] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        }
        else {
            out[o++] = s[i] == '+' ? ' ' : (char)s[i];
        }
    }
    return (long)o;
}

/* Whether s[0..n) is valid UTF-8 without NUL, by decoding each code point. */
static int valid_text(const uint8_t *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned long cp;
        size_t len, k;

        if (s[i] == 0) {
            return 0;
        }
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if ((s[i] & 0xE0) == 0xC0) {
            len = 2, cp = s[i] & 0x1F;
        }
        else if ((s[i] & 0xF0) == 0xE0) {
            len = 3, cp = s[i] & 0x0F;
        }
        else if ((s[i] & 0xF8) == 0xF0) {
            len = 4, cp = s[i] & 0x07;
        }
        else {
            return 0;
        }
        if (n - i < len) {
            return 0;
        }
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return 0;
            }
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF)) {
            return 0;
        }
        i += len;
    }
    return 1;
}

static void check_text(const char *text, const char *raw, size_t raw_len)
{
    size_t len = strlen(text);

    FUZZ_CHECK(valid_text((const uint8_t *)text, len));
    if (valid_text((const uint8_t *)raw, raw_len)) {
        FUZZ_CHECK(len == raw_len && !memcmp(text, raw, len));
    }
    else {
        /* Each replaced byte (or run of bytes) becomes the 3 bytes of U+FFFD. */
        FUZZ_CHECK(len <= 3 * raw_len && strstr(text, "\xEF\xBF\xBD"));
    }
}

/* The body parsed here, in order: the expected outcome and raw fields. */
typedef struct {
    sr_form_status_t status;
    size_t where;
    int n;
    char **name, **value;
    long *name_len, *value_len;
} ref_t;

static void ref_parse(const uint8_t *body, size_t len, int max, ref_t *ref)
{
    size_t start = 0;

    memset(ref, 0, sizeof(*ref));
    ref->name = calloc(len + 1, sizeof(char *));
    ref->value = calloc(len + 1, sizeof(char *));
    ref->name_len = calloc(len + 1, sizeof(long));
    ref->value_len = calloc(len + 1, sizeof(long));
    while (start < len) {
        size_t end = start, eq, bad = 0;

        while (end < len && body[end] != '&') {
            end++;
        }
        if (end == start) {
            start++;
            continue;
        }
        if (ref->n >= max) {
            ref->status = SR_FORM_TOO_MANY;
            return;
        }
        for (eq = start; eq < end && body[eq] != '='; eq++) {
        }
        ref->name[ref->n] = malloc(len + 1);
        ref->value[ref->n] = malloc(len + 1);
        ref->name_len[ref->n] = ref_decode(body + start, eq - start, ref->name[ref->n], &bad);
        if (ref->name_len[ref->n] < 0) {
            ref->n++;
            ref->status = SR_FORM_BAD_ESCAPE;
            ref->where = start + bad;
            return;
        }
        ref->value_len[ref->n] = eq < end ? ref_decode(body + eq + 1, end - eq - 1, ref->value[ref->n], &bad) : 0;
        if (ref->value_len[ref->n] < 0) {
            ref->n++;
            ref->status = SR_FORM_BAD_ESCAPE;
            ref->where = eq + 1 + bad;
            return;
        }
        ref->n++;
        start = end + 1;
    }
}

static void ref_free(ref_t *ref)
{
    int i;

    for (i = 0; i < ref->n; i++) {
        free(ref->name[i]);
        free(ref->value[i]);
    }
    free(ref->name);
    free(ref->value);
    free(ref->name_len);
    free(ref->value_len);
}

static apr_status_t free_copy(void *copy)
{
    free(copy);
    return APR_SUCCESS;
}

/* Parses an exact-size copy of body[0..len), limit max, and checks it against ref_parse. */
static apr_array_header_t *parse_and_check(apr_pool_t *p, const uint8_t *body, size_t len, int max)
{
    char *copy = malloc(len + 1);
    apr_array_header_t *params = NULL;
    apr_size_t where = (apr_size_t)-1;
    sr_form_status_t status;
    ref_t ref;
    int i;

    memcpy(copy, body, len);
    copy[len] = '\0';
    status = sr_form_parse(p, copy, len, max, &params, &where);
    ref_parse(body, len, max, &ref);
    FUZZ_CHECK(status == ref.status);
    FUZZ_CHECK(params);
    if (status == SR_FORM_BAD_ESCAPE) {
        FUZZ_CHECK(where == ref.where && body[where] == '%');
    }
    if (status == SR_FORM_OK) {
        FUZZ_CHECK(params->nelts == ref.n && params->nelts <= max);
        for (i = 0; i < params->nelts; i++) {
            const sr_param_t *f = &APR_ARRAY_IDX(params, i, sr_param_t);

            FUZZ_CHECK((long)f->raw_name_len == ref.name_len[i] && !memcmp(f->raw_name, ref.name[i], f->raw_name_len));
            FUZZ_CHECK((long)f->raw_value_len == ref.value_len[i] &&
                       !memcmp(f->raw_value, ref.value[i], f->raw_value_len));
            FUZZ_CHECK(f->raw_name[f->raw_name_len] == '\0' && f->raw_value[f->raw_value_len] == '\0');
            check_text(f->name, f->raw_name, f->raw_name_len);
            check_text(f->value, f->raw_value, f->raw_value_len);
        }
        /* The fields point into the copy: keep it until the pool goes. */
        apr_pool_cleanup_register(p, copy, free_copy, apr_pool_cleanup_null);
        ref_free(&ref);
        return params;
    }
    ref_free(&ref);
    free(copy);
    return NULL;
}

/* Every byte %-encoded, fields joined by '&': parses back to the same bytes. */
static void check_round_trip(apr_pool_t *p, const apr_array_header_t *params)
{
    static const char digits[] = "0123456789ABCDEF";
    apr_size_t size = 1;
    apr_array_header_t *again;
    char *enc, *o;
    int i;

    for (i = 0; i < params->nelts; i++) {
        const sr_param_t *f = &APR_ARRAY_IDX(params, i, sr_param_t);

        size += 3 * (f->raw_name_len + f->raw_value_len) + 2;
    }
    o = enc = apr_palloc(p, size);
    for (i = 0; i < params->nelts; i++) {
        const sr_param_t *f = &APR_ARRAY_IDX(params, i, sr_param_t);
        apr_size_t k;

        if (i) {
            *o++ = '&';
        }
        for (k = 0; k < f->raw_name_len; k++) {
            *o++ = '%', *o++ = digits[(unsigned char)f->raw_name[k] >> 4], *o++ = digits[f->raw_name[k] & 15];
        }
        *o++ = '=';
        for (k = 0; k < f->raw_value_len; k++) {
            *o++ = '%', *o++ = digits[(unsigned char)f->raw_value[k] >> 4], *o++ = digits[f->raw_value[k] & 15];
        }
    }
    again = parse_and_check(p, (const uint8_t *)enc, (size_t)(o - enc), params->nelts);
    FUZZ_CHECK(again && again->nelts == params->nelts);
    for (i = 0; i < params->nelts; i++) {
        const sr_param_t *a = &APR_ARRAY_IDX(params, i, sr_param_t), *b = &APR_ARRAY_IDX(again, i, sr_param_t);

        FUZZ_CHECK(a->raw_name_len == b->raw_name_len && !memcmp(a->raw_name, b->raw_name, a->raw_name_len));
        FUZZ_CHECK(a->raw_value_len == b->raw_value_len && !memcmp(a->raw_value, b->raw_value, a->raw_value_len));
        FUZZ_CHECK(!strcmp(a->name, b->name) && !strcmp(a->value, b->value));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_array_header_t *params;
    apr_pool_t *p;

    fuzz_init();
    apr_pool_create(&p, fuzz_root);
    params = parse_and_check(p, data, size, SR_FORM_MAX_PAIRS);
    if (params && params->nelts) {
        check_round_trip(p, params);
    }
    parse_and_check(p, data, size, 3);
    /* The repair alone, over the raw input. */
    {
        char *copy = fuzz_strndup(data, size);

        check_text(sr_utf8_repair(p, copy, size), copy, size);
    }
    apr_pool_destroy(p);
    fuzz_free_all();
    return 0;
}
