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

/*
 * Outcome of a domain operation. The router maps it to an HTTP status; the
 * domain code never speaks HTTP itself.
 */
typedef enum {
    SR_OK = 0,
    SR_INVALID,    /* the caller sent something wrong: 400 */
    SR_NOT_FOUND,  /* a referenced row does not exist (or is not the caller's): 404 */
    SR_CONFLICT,   /* the request collides with the current state: 409 */
    SR_UNAVAILABLE /* PostgreSQL (or a provider) is unreachable: 503, retry later */
} sr_status_t;

#endif /* MOD_SLOTRECOVERY_H */
