/* SPDX-License-Identifier: Apache-2.0 */
/* SMS text: segments, encodings, names cut on character boundaries. APR only. */
#include <string.h>

#include <apr_strings.h>

#include "sr_sms.h"

#define REPLACEMENT 0xFFFDu
#define GSM7_SINGLE 160
#define GSM7_PART 153
#define UCS2_SINGLE 70
#define UCS2_PART 67

/*
 * The code point at s (n bytes left) and its length in bytes. A byte that
 * starts no well-formed sequence (a stray continuation byte, an overlong form,
 * a surrogate, beyond U+10FFFF, a truncated sequence) is U+FFFD, one byte long.
 */
static apr_size_t utf8_next(const unsigned char *s, apr_size_t n, apr_uint32_t *cp)
{
    apr_uint32_t c = s[0], min;
    apr_size_t len, i;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, c &= 0x1F, min = 0x80;
    }
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, c &= 0x0F, min = 0x800;
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, c &= 0x07, min = 0x10000;
    }
    else {
        *cp = REPLACEMENT;
        return 1;
    }
    if (n < len) {
        *cp = REPLACEMENT;
        return 1;
    }
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = REPLACEMENT;
            return 1;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        *cp = REPLACEMENT;
        return 1;
    }
    *cp = c;
    return len;
}

/* Septets a character takes in GSM-7: 1 (default alphabet), 2 (extension table), 0 (not in GSM-7). */
static int gsm7_cost(apr_uint32_t c)
{
    static const apr_uint32_t latin_greek[] = {0xA1,  0xA3,  0xA4,  0xA5,  0xA7,  0xBF,  0xC4,  0xC5,  0xC6, 0xC7,
                                               0xC9,  0xD1,  0xD6,  0xD8,  0xDC,  0xDF,  0xE0,  0xE4,  0xE5, 0xE6,
                                               0xE8,  0xE9,  0xEC,  0xF1,  0xF2,  0xF6,  0xF8,  0xF9,  0xFC, 0x393,
                                               0x394, 0x398, 0x39B, 0x39E, 0x3A0, 0x3A3, 0x3A6, 0x3A8, 0x3A9};
    apr_size_t i;

    if (c == '\n' || c == '\r') {
        return 1;
    }
    if (c == '\f' || c == 0x20AC) {
        return 2;
    }
    if (c >= 0x20 && c < 0x7F) {
        if (c == '`') {
            return 0;
        }
        return strchr("[\\]^{|}~", (int)c) ? 2 : 1;
    }
    for (i = 0; i < sizeof(latin_greek) / sizeof(latin_greek[0]); i++) {
        if (latin_greek[i] == c) {
            return 1;
        }
    }
    return 0;
}

/* A character that belongs to the one before it: a combining mark, a joiner, a variation selector, a skin tone. */
static int joins_previous(apr_uint32_t c)
{
    return (c >= 0x300 && c <= 0x36F) || (c >= 0x1AB0 && c <= 0x1AFF) || (c >= 0x1DC0 && c <= 0x1DFF) ||
           (c >= 0x20D0 && c <= 0x20FF) || (c >= 0xFE20 && c <= 0xFE2F) || (c >= 0xFE00 && c <= 0xFE0F) ||
           c == 0x200D || (c >= 0x1F3FB && c <= 0x1F3FF) || (c >= 0xE0020 && c <= 0xE007F) ||
           (c >= 0xE0100 && c <= 0xE01EF) || (c >= 0x3099 && c <= 0x309A);
}

typedef struct {
    const char *s;
    apr_size_t len;
} part_t;

/* Measures the concatenation of parts without building it. */
static void measure_parts(const part_t *parts, int nparts, sr_sms_length_t *out)
{
    apr_size_t total = 0, in_part = 0, chars = 0, off;
    int gsm = 1, segments = 1, i, pass;

    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < nparts; i++) {
            const unsigned char *s = (const unsigned char *)parts[i].s;

            for (off = 0; off < parts[i].len;) {
                apr_uint32_t cp;
                apr_size_t cost;

                off += utf8_next(s + off, parts[i].len - off, &cp);
                if (pass == 0) {
                    gsm = gsm && gsm7_cost(cp) > 0;
                    chars++;
                    continue;
                }
                cost = gsm ? (apr_size_t)gsm7_cost(cp) : (cp > 0xFFFF ? 2 : 1);
                total += cost;
                /* Split parts are packed without cutting a character (or an escape pair). */
                if (in_part + cost > (gsm ? GSM7_PART : UCS2_PART)) {
                    segments++;
                    in_part = cost;
                }
                else {
                    in_part += cost;
                }
            }
        }
    }
    out->encoding = gsm ? SR_SMS_GSM7 : SR_SMS_UCS2;
    out->chars = chars;
    out->units = total;
    out->segments = total <= (gsm ? GSM7_SINGLE : UCS2_SINGLE) ? 1 : segments;
}

void sr_sms_measure(const char *text, sr_sms_length_t *out)
{
    part_t part = {text, strlen(text)};

    measure_parts(&part, 1, out);
}

const char *sr_sms_valid_utf8(apr_pool_t *p, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    apr_size_t n = strlen(text), off, len, bad = 0;
    apr_uint32_t cp;
    char *out, *o;

    for (off = 0; off < n; off += len) {
        len = utf8_next(s + off, n - off, &cp);
        bad += cp == REPLACEMENT && len == 1;
    }
    if (bad == 0) {
        return text;
    }
    o = out = apr_palloc(p, n + 2 * bad + 1); /* U+FFFD takes 3 bytes where the bad one took 1 */
    for (off = 0; off < n; off += len) {
        len = utf8_next(s + off, n - off, &cp);
        if (cp == REPLACEMENT && len == 1) {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
        }
        else {
            memcpy(o, s + off, len);
            o += len;
        }
    }
    *o = '\0';
    return out;
}

static int fits(const sr_sms_length_t *len)
{
    return len->segments <= (len->encoding == SR_SMS_GSM7 ? SR_SMS_GSM7_SEGMENTS : SR_SMS_UCS2_SEGMENTS);
}

/* Where the name may be cut so that `keep` characters stay: never inside a character's combining sequence. */
static apr_size_t cut_before(const apr_uint32_t *cps, const apr_size_t *offsets, apr_size_t keep)
{
    apr_size_t regional = 0, i;

    while (keep > 0 && (joins_previous(cps[keep]) || cps[keep - 1] == 0x200D)) {
        keep--;
    }
    /* A flag is a pair of regional indicators: keep whole pairs. */
    for (i = keep; i > 0 && cps[i - 1] >= 0x1F1E6 && cps[i - 1] <= 0x1F1FF; i--) {
        regional++;
    }
    keep -= regional % 2;
    while (keep > 0 && (cps[keep - 1] == ' ' || cps[keep - 1] == 0x3000)) {
        keep--;
    }
    return offsets[keep];
}

const char *sr_sms_text(apr_pool_t *p, const char *before, const char *name, const char *after)
{
    const char *n = sr_sms_valid_utf8(p, name);
    apr_size_t nlen = strlen(n), nchars = 0, off, keep, cut;
    apr_uint32_t *cps;
    apr_size_t *offsets;
    sr_sms_length_t len;
    part_t parts[4];

    before = sr_sms_valid_utf8(p, before);
    after = sr_sms_valid_utf8(p, after);
    parts[0] = (part_t){before, strlen(before)};
    parts[1] = (part_t){n, nlen};
    parts[2] = (part_t){after, strlen(after)};
    measure_parts(parts, 3, &len);
    if (fits(&len)) {
        return apr_pstrcat(p, before, n, after, (char *)NULL);
    }
    /* The name's characters and where each starts (offsets[nchars] is its end). */
    cps = apr_palloc(p, (nlen + 1) * sizeof(*cps));
    offsets = apr_palloc(p, (nlen + 1) * sizeof(*offsets));
    for (off = 0; off < nlen; nchars++) {
        offsets[nchars] = off;
        off += utf8_next((const unsigned char *)n + off, nlen - off, &cps[nchars]);
    }
    offsets[nchars] = nlen;
    cps[nchars] = 0;
    if (nchars <= SR_SMS_NAME_MIN) {
        return apr_pstrcat(p, before, n, after, (char *)NULL);
    }
    /* Each character costs at least one unit: no point trying longer than the largest budget. */
    keep = nchars - 1;
    if (keep > GSM7_SINGLE) {
        keep = GSM7_SINGLE;
    }
    for (;; keep--) {
        const char *ellipsis;

        cut = cut_before(cps, offsets, keep);
        parts[1].len = cut;
        /* "..." keeps a GSM-7 text in GSM-7; in UCS-2 one character does. */
        parts[2] = (part_t){after, strlen(after)};
        measure_parts(parts, 3, &len);
        ellipsis = len.encoding == SR_SMS_GSM7 ? "..." : "\xE2\x80\xA6";
        parts[2] = (part_t){ellipsis, strlen(ellipsis)};
        parts[3] = (part_t){after, strlen(after)};
        measure_parts(parts, 4, &len);
        if (fits(&len) || keep <= SR_SMS_NAME_MIN) {
            return apr_pstrcat(p, before, apr_pstrmemdup(p, n, cut), ellipsis, after, (char *)NULL);
        }
    }
}
