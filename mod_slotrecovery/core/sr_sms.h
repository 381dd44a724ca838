/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SMS text: what a message costs in segments, and how a name (a shop's) is
 * kept in it without breaking a character. APR only, no httpd: the core side
 * of the module (issue 12).
 *
 * A text is sent in GSM-7 when every character is in the GSM 03.38 default
 * alphabet or its extension table (whose characters, such as [ ] { } ^ ~ | \
 * and the euro sign, take two septets): 160 septets in one segment, 153 a
 * segment when split. Anything else goes as UCS-2 (UTF-16 code units; a
 * character beyond the BMP takes two): 70 in one segment, 67 a segment when
 * split. A split never cuts a character (or an escape pair) in two.
 */
#ifndef SR_SMS_H
#define SR_SMS_H

#include <apr_pools.h>

typedef enum { SR_SMS_GSM7, SR_SMS_UCS2 } sr_sms_encoding_t;

typedef struct {
    sr_sms_encoding_t encoding;
    apr_size_t chars; /* characters (code points) */
    apr_size_t units; /* septets in GSM-7, UTF-16 code units in UCS-2 */
    int segments;
} sr_sms_length_t;

/*
 * The budget of a text the module builds: one segment in GSM-7; two in UCS-2,
 * which the English words of an offer (about 115 characters) need anyway, so
 * a name in any script costs no third segment.
 */
#define SR_SMS_GSM7_SEGMENTS 1
#define SR_SMS_UCS2_SEGMENTS 2
/* A name is never cut to fewer characters than this: who is texting must stay recognisable. */
#define SR_SMS_NAME_MIN 12

/* Measures UTF-8 text; a byte that is not part of a well-formed character counts as U+FFFD. */
void sr_sms_measure(const char *text, sr_sms_length_t *out);

/* The text as valid UTF-8: a byte that is not part of a well-formed character becomes U+FFFD. */
const char *sr_sms_valid_utf8(apr_pool_t *p, const char *text);

/*
 * before + name + after, valid UTF-8, within the budget above: when the whole
 * does not fit, the name is cut at a character boundary (never between a
 * character and the marks or joiners that go with it), trailing spaces
 * dropped, and ended with an ellipsis ("..." when the text stays GSM-7, else
 * U+2026), as little as needed, but never below SR_SMS_NAME_MIN characters.
 */
const char *sr_sms_text(apr_pool_t *p, const char *before, const char *name, const char *after);

#endif /* SR_SMS_H */
