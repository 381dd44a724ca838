/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sr_sms_text, sr_sms_valid_utf8, sr_sms_measure (mod_slotrecovery/core/sr_sms.c).
 * Input: a name, '\n', the text after it (any bytes). The text built must be
 * valid UTF-8 (checked here independently, by the table of well-formed byte
 * sequences of Unicode 15, 3.9), begin and end with what was given, keep a
 * prefix of the name, and fit its budget unless the name was cut to its
 * minimum.
 */
#include <apr_strings.h>

#include "fuzz_common.h"
#include "sr_sms.h"

/* Length of the well-formed sequence at s (n bytes left), 0 if there is none. */
static size_t well_formed(const unsigned char *s, size_t n)
{
    unsigned char a = s[0];

    if (a < 0x80) {
        return 1;
    }
    if (a >= 0xC2 && a <= 0xDF) {
        return n >= 2 && s[1] >= 0x80 && s[1] <= 0xBF ? 2 : 0;
    }
    if (a >= 0xE0 && a <= 0xEF) {
        unsigned char lo = a == 0xE0 ? 0xA0 : 0x80, hi = a == 0xED ? 0x9F : 0xBF;

        return n >= 3 && s[1] >= lo && s[1] <= hi && s[2] >= 0x80 && s[2] <= 0xBF ? 3 : 0;
    }
    if (a >= 0xF0 && a <= 0xF4) {
        unsigned char lo = a == 0xF0 ? 0x90 : 0x80, hi = a == 0xF4 ? 0x8F : 0xBF;

        return n >= 4 && s[1] >= lo && s[1] <= hi && s[2] >= 0x80 && s[2] <= 0xBF && s[3] >= 0x80 && s[3] <= 0xBF ? 4
                                                                                                                  : 0;
    }
    return 0;
}

/* Code points of valid UTF-8, or -1. */
static long utf8_chars(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t off = 0, len;
    long chars = 0;

    while (off < n) {
        if (!(len = well_formed(s + off, n - off))) {
            return -1;
        }
        off += len;
        chars++;
    }
    return chars;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char before[] = "Booked: ";
    const uint8_t *rest;
    size_t rest_len, name_len = fuzz_split(data, size, &rest, &rest_len);
    char *name = fuzz_strndup(data, name_len), *after = fuzz_strndup(rest, rest_len);
    const char *vname, *vafter, *out, *shown;
    size_t out_len, vafter_len, shown_len;
    sr_sms_length_t len;
    apr_pool_t *p;
    long shown_chars;

    fuzz_init();
    apr_pool_create(&p, fuzz_root);
    vname = sr_sms_valid_utf8(p, name);
    vafter = sr_sms_valid_utf8(p, after);
    FUZZ_CHECK(utf8_chars(vname, strlen(vname)) >= 0 && utf8_chars(vafter, strlen(vafter)) >= 0);
    FUZZ_CHECK(sr_sms_valid_utf8(p, vname) == vname); /* valid text is passed through as it is */

    out = sr_sms_text(p, before, name, after);
    out_len = strlen(out);
    vafter_len = strlen(vafter);
    FUZZ_CHECK(utf8_chars(out, out_len) >= 0);
    FUZZ_CHECK(out_len >= sizeof(before) - 1 + vafter_len);
    FUZZ_CHECK(!memcmp(out, before, sizeof(before) - 1));
    FUZZ_CHECK(!memcmp(out + out_len - vafter_len, vafter, vafter_len));

    shown = out + sizeof(before) - 1;
    shown_len = out_len - (sizeof(before) - 1) - vafter_len;
    if (shown_len == strlen(vname) && !memcmp(shown, vname, shown_len)) {
        /* the whole name */
    }
    else {
        /* A prefix of the name, then "..." or U+2026. */
        size_t cut = shown_len >= 3 && !memcmp(shown + shown_len - 3, "...", 3)
                         ? shown_len - 3
                         : (shown_len >= 3 && !memcmp(shown + shown_len - 3, "\xE2\x80\xA6", 3) ? shown_len - 3 : 0);

        FUZZ_CHECK(cut > 0 || shown_len == 3);
        FUZZ_CHECK(cut < strlen(vname) && !memcmp(shown, vname, cut));
    }
    sr_sms_measure(out, &len);
    FUZZ_CHECK(len.segments >= 1 && len.units >= len.chars);
    shown_chars = utf8_chars(shown, shown_len);
    FUZZ_CHECK(len.segments <= (len.encoding == SR_SMS_GSM7 ? SR_SMS_GSM7_SEGMENTS : SR_SMS_UCS2_SEGMENTS) ||
               shown_chars <= SR_SMS_NAME_MIN + 3);
    apr_pool_destroy(p);
    fuzz_free_all();
    return 0;
}
