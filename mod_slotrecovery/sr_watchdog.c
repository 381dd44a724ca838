/*
 * A named singleton watchdog: one child of this httpd runs the sweep every
 * SlotRecoverySweepInterval, with a database connection opened and closed
 * around each run (as mod_proxy_hcheck and mod_md do). After a graceful
 * restart a child of the new generation takes over. Several httpd on one
 * database each sweep; the statements make that safe.
 */
#include <apr_optional.h>
#include <mod_watchdog.h>

#include "sr_config.h"
#include "sr_db.h"
#include "sr_offer_loop.h"
#include "sr_watchdog.h"

#define SR_WATCHDOG_NAME "_slotrecovery_"

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) * wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) * wd_register_callback;

static apr_status_t sweep_callback(int state, void *data, apr_pool_t *ptemp)
{
    server_rec *s = data;
    sr_loop_t loop;
    sr_sweep_report_t report;
    apr_time_t started;

    if (state != AP_WATCHDOG_STATE_RUNNING) {
        return APR_SUCCESS;
    }
    memset(&loop, 0, sizeof(loop));
    loop.s = s;
    loop.conf = sr_config_get(s);
    loop.pool = ptemp;
    loop.db = sr_db_open(ptemp, s);
    if (!loop.db) {
        /* Logged by sr_db_open; the next run tries again. */
        return APR_SUCCESS;
    }
    started = apr_time_now();
    if (sr_offer_loop_sweep(&loop, &report) == SR_OK) {
        int level = report.offers_expired || report.offers_sent || report.slots_expired ? APLOG_INFO : APLOG_DEBUG;

        ap_log_error(APLOG_MARK, level, 0, s,
                     SR_LOG_PREFIX "sweep: %d offers expired, %d sent, %d failed; %d slots advanced, %d expired "
                                   "(%" APR_TIME_T_FMT " ms)",
                     report.offers_expired, report.offers_sent, report.offers_failed, report.slots_advanced,
                     report.slots_expired, apr_time_as_msec(apr_time_now() - started));
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, SR_LOG_PREFIX "sweep stopped: database unavailable");
    }
    sr_db_close(loop.db);
    return APR_SUCCESS;
}

int sr_watchdog_register(apr_pool_t *pconf, server_rec *s)
{
    ap_watchdog_t *watchdog;
    apr_status_t rv;

    wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!wd_get_instance || !wd_register_callback) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     SR_LOG_PREFIX "mod_watchdog is not available: the offer loop's sweep needs it");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* 0: runs in a child, not the parent; 1: one child of the server runs it. */
    rv = wd_get_instance(&watchdog, SR_WATCHDOG_NAME, 0, 1, pconf);
    if (rv == APR_SUCCESS) {
        rv = wd_register_callback(watchdog, sr_config_get(s)->sweep_interval, s, sweep_callback);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, SR_LOG_PREFIX "cannot register the sweep with mod_watchdog");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}
