/* SPDX-License-Identifier: Apache-2.0 */
/* The core's log helper: formats, then hands the line to the glue's callback. */
#include <stdarg.h>

#include <apr_strings.h>

#include "sr_log.h"

void sr_logf(const sr_log_t *log, sr_log_level_t level, const char *fmt, ...)
{
    char line[SR_LOG_MAX_LINE];
    va_list ap;

    if (!log || !log->write) {
        return;
    }
    va_start(ap, fmt);
    apr_vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log->write(log->baton, level, line);
}
