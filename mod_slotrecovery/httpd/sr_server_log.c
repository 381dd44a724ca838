/* SPDX-License-Identifier: Apache-2.0 */
/* Core log lines into httpd's error log. */
#include <http_main.h> /* ap_server_conf */

#include "sr_server_log.h"

static void server_log_write(void *baton, sr_log_level_t level, const char *message)
{
    server_rec *s = baton ? baton : ap_server_conf;
    int aplevel;

    switch (level) {
    case SR_LOG_ERROR:
        aplevel = APLOG_ERR;
        break;
    case SR_LOG_WARN:
        aplevel = APLOG_WARNING;
        break;
    case SR_LOG_NOTICE:
        aplevel = APLOG_NOTICE;
        break;
    case SR_LOG_INFO:
        aplevel = APLOG_INFO;
        break;
    default:
        aplevel = APLOG_DEBUG;
        break;
    }
    ap_log_error(APLOG_MARK, aplevel, 0, s, SR_LOG_PREFIX "%s", message);
}

sr_log_t sr_server_log(server_rec *s)
{
    sr_log_t log = {server_log_write, s};

    return log;
}
