/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sr_field_* checks (mod_slotrecovery/core/sr_validate.c) over sr_json_parse
 * of the input. Every check runs on every member name below, required and
 * optional, on a fresh sr_fields_t; what a check accepts must satisfy the
 * check again (phones, ids, times parse back).
 */
#include <apr_strings.h>

#include "fuzz_common.h"
#include "sr_json.h"
#include "sr_validate.h"

static const char *const keys[] = {"name", "phone", "email", "id", "n", "b", "currency", "timezone", "clock", "time",
                                   "token", "x"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    sr_json_t *obj;
    const char *error = NULL;
    char *copy = malloc(size ? size : 1);
    size_t k;
    int required;

    fuzz_init();
    apr_pool_create(&p, fuzz_root);
    memcpy(copy, data, size);
    obj = sr_json_parse(p, copy, size, &error);
    FUZZ_CHECK(obj || error);
    if (obj && sr_json_is_object(obj)) {
        for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            for (required = 0; required < 2; required++) {
                const char *key = keys[k];
                const char *out;
                apr_time_t when;
                sr_fields_t f;

#define RUN(call, then)                                                                                                \
    do {                                                                                                               \
        out = NULL;                                                                                                    \
        sr_fields_init(&f, p, obj);                                                                                    \
        if (call) {                                                                                                    \
            FUZZ_CHECK(!f.error);                                                                                      \
            if (out) {                                                                                                 \
                then;                                                                                                  \
            }                                                                                                          \
            else {                                                                                                     \
                FUZZ_CHECK(!required);                                                                                 \
            }                                                                                                          \
        }                                                                                                              \
        else {                                                                                                         \
            FUZZ_CHECK(f.error && *f.error);                                                                           \
        }                                                                                                              \
    } while (0)

                RUN(sr_field_text(&f, key, required, 200, &out), FUZZ_CHECK(*out));
                RUN(sr_field_phone(&f, key, required, &out), FUZZ_CHECK(sr_valid_phone(out)));
                RUN(sr_field_email(&f, key, required, &out), FUZZ_CHECK(strchr(out, '@')));
                RUN(sr_field_token(&f, key, required, &out), FUZZ_CHECK(*out && strlen(out) <= 255));
                RUN(sr_field_id(&f, key, required, &out), FUZZ_CHECK(sr_valid_id(out)));
                RUN(sr_field_int(&f, key, required, -5, 86400, &out),
                    FUZZ_CHECK(apr_atoi64(out) >= -5 && apr_atoi64(out) <= 86400));
                RUN(sr_field_bool(&f, key, required, &out), FUZZ_CHECK(!strcmp(out, "true") || !strcmp(out, "false")));
                RUN(sr_field_currency(&f, key, required, &out), FUZZ_CHECK(strlen(out) == 3));
                RUN(sr_field_timezone(&f, key, required, &out), FUZZ_CHECK(*out && strlen(out) <= 64));
                RUN(sr_field_clock(&f, key, required, &out), FUZZ_CHECK(strlen(out) == 5));
                {
                    apr_time_t again = 0;

                    RUN(sr_field_time(&f, key, required, &out, &when),
                        FUZZ_CHECK(sr_parse_rfc3339(out, &again) && again == when));
                }
#undef RUN
            }
        }
        /* Chained as the API does: the first error wins, the rest return 0 at once. */
        {
            sr_fields_t f;
            const char *a = NULL, *b = NULL, *c = NULL;

            sr_fields_init(&f, p, obj);
            if (!(sr_field_text(&f, "name", 1, 200, &a) && sr_field_phone(&f, "phone", 1, &b) &&
                  sr_field_id(&f, "id", 0, &c))) {
                FUZZ_CHECK(f.error);
            }
        }
    }
    free(copy);
    apr_pool_destroy(p);
    return 0;
}
