/* SPDX-License-Identifier: Apache-2.0 */
/* The periodic sweep of the offer loop, driven by httpd's mod_watchdog. */
#ifndef SR_WATCHDOG_H
#define SR_WATCHDOG_H

#include "mod_slotrecovery.h"
#include "sr_db.h"

/* From post_config, before mod_watchdog's own post_config runs. */
int sr_watchdog_register(apr_pool_t *pconf, server_rec *s);

/* From check_config (so `apachectl configtest` shows it): warns when no server can sweep. */
void sr_watchdog_check_config(server_rec *s);

/* The statements sr_watchdog.c runs (listed in sr_statement_tables.c). */
extern const sr_statement_t *const sr_watchdog_statements[];

#endif /* SR_WATCHDOG_H */
