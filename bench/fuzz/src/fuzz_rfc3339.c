/*
 * sr_parse_rfc3339 (mod_slotrecovery/sr_validate.c). Input: the string (NULs
 * end it, as in a C string from JSON). A parsed time, formatted again in UTC
 * as "YYYY-MM-DDTHH:MM:SS.ffffffZ", must parse to the same instant.
 */
#include <apr_strings.h>
#include <apr_time.h>

#include "fuzz_common.h"
#include "sr_validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_strndup(data, size);
    apr_time_t when = 0, again = 0;
    apr_time_exp_t tm;
    char canonical[64];

    fuzz_init();
    if (sr_parse_rfc3339(s, &when)) {
        FUZZ_CHECK(apr_time_exp_gmt(&tm, when) == APR_SUCCESS);
        if (tm.tm_year + 1900 >= 1970 && tm.tm_year + 1900 <= 9999) {
            apr_snprintf(canonical, sizeof(canonical), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_usec);
            FUZZ_CHECK(sr_parse_rfc3339(canonical, &again));
            FUZZ_CHECK(again == when);
        }
    }
    fuzz_free_all();
    return 0;
}
