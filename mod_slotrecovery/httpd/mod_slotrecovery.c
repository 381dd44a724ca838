/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_slotrecovery: wins back cancelled appointments by offering the freed
 * slot to a shop's waitlist by SMS and charging a deposit to whoever takes it.
 *
 * This file is the glue to httpd: the module record and its hooks. The work
 * is done in the sr_*.c files, one concern each.
 */
#include <http_core.h> /* ap_state_query */

#include "mod_slotrecovery.h"
#include "sr_config.h"
#include "sr_db.h"
#include "sr_http.h"
#include "sr_router.h"
#include "sr_watchdog.h"

static int sr_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    int rc;

    sr_config_finalize(s);
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        sr_watchdog_check_config(s);
    }
    /* Registered before mod_dbd's post_config, which gathers the statements. */
    if ((rc = sr_db_register_statements(pconf, s)) != OK) {
        return rc;
    }
    /* libcurl's global state is set up once, while the parent has no threads. */
    sr_http_global_init();
    /* Before mod_watchdog's post_config (APR_HOOK_LAST), which starts the instances. */
    return sr_watchdog_register(pconf, s);
}

/*
 * Runs for `apachectl configtest` too, after the virtual hosts' settings are
 * merged. Only the first pass speaks here, to the console; later passes run
 * after httpd detached from it, so post_config says the same in the error log.
 */
static int sr_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        sr_watchdog_check_config(s);
    }
    return OK;
}

static void sr_child_init(apr_pool_t *pchild, server_rec *s)
{
    sr_http_child_init(pchild, s);
}

static void sr_register_hooks(apr_pool_t *p)
{
    static const char *const before_dbd[] = {"mod_dbd.c", NULL};

    ap_hook_check_config(sr_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(sr_post_config, NULL, before_dbd, APR_HOOK_MIDDLE);
    ap_hook_child_init(sr_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_translate_name(sr_router_translate, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_map_to_storage(sr_router_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(sr_router_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

/*
 * Declared without AP_DECLARE_MODULE: the private header already says
 * APLOG_USE_MODULE. The build hides every other symbol; httpd looks this one up.
 */
/* clang-format off */ /* it would put one member a line */
__attribute__((visibility("default"))) module AP_MODULE_DECLARE_DATA slotrecovery_module = {
    STANDARD20_MODULE_STUFF,    NULL,                    /* no per-directory config (mounts: sr_router.c) */
    NULL,                       sr_config_create_server, /* per-server config: the directives */
    sr_config_merge_server,     sr_config_directives,    sr_register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_ALWAYS_MERGE
#endif
};
/* clang-format on */
