/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_slotrecovery: private header shared by every source file of the module.
 *
 * Declaring APLOG_USE_MODULE here (rather than through AP_DECLARE_MODULE in one
 * file) makes every file log as this module, so per-module LogLevel
 * ("LogLevel slotrecovery:debug") applies to all of them.
 */
#ifndef MOD_SLOTRECOVERY_H
#define MOD_SLOTRECOVERY_H

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>

APLOG_USE_MODULE(slotrecovery);

extern module AP_MODULE_DECLARE_DATA slotrecovery_module;

/* Every log line of the module starts with this, so operators can grep for it. */
#define SR_LOG_PREFIX "mod_slotrecovery: "

/* sr_status_t, the outcome of a domain operation, is the core's (core/sr_status.h). */
#include "sr_status.h"

#endif /* MOD_SLOTRECOVERY_H */
