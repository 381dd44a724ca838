/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How core code logs without knowing httpd: a callback the glue fills
 * (sr_server_log in httpd/: ap_log_error for a server_rec, with the module's
 * prefix). The core says what happened; the glue decides where it goes.
 */
#ifndef SR_LOG_H
#define SR_LOG_H

/* syslog's order, as httpd's APLOG_* levels. */
typedef enum { SR_LOG_ERROR = 3, SR_LOG_WARN = 4, SR_LOG_NOTICE = 5, SR_LOG_INFO = 6, SR_LOG_DEBUG = 7 } sr_log_level_t;

typedef struct sr_log {
    /* Writes one line (message has no newline and no prefix). */
    void (*write)(void *baton, sr_log_level_t level, const char *message);
    void *baton;
} sr_log_t;

/* The longest line sr_logf() writes; longer ones are cut. */
#define SR_LOG_MAX_LINE 2048

/* Formats a line (apr_snprintf's formats) and writes it; nothing when log or its write is NULL. */
void sr_logf(const sr_log_t *log, sr_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* SR_LOG_H */
