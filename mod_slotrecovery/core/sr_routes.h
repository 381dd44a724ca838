/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The route table: which paths below the mount the module answers, and by
 * which method. APR only, no httpd: sr_router.c dispatches each route to its
 * handler, and the fuzz target bench/fuzz/src/fuzz_path.c walks this same table.
 */
#ifndef SR_ROUTES_H
#define SR_ROUTES_H

#include <apr_pools.h>

typedef enum {
    SR_METHOD_GET, /* also HEAD */
    SR_METHOD_POST,
    SR_METHOD_PATCH,
    SR_METHOD_OTHER
} sr_method_t;

/* One per handler; sr_router.c maps each to its function. */
typedef enum {
    SR_ROUTE_SHOP_CREATE,
    SR_ROUTE_SHOP_UPDATE,
    SR_ROUTE_SHOP_USER_GRANT,
    SR_ROUTE_CUSTOMER_CREATE,
    SR_ROUTE_APPOINTMENT_CREATE,
    SR_ROUTE_APPOINTMENT_GET,
    SR_ROUTE_APPOINTMENT_CANCEL,
    SR_ROUTE_SLOT_OPENING_GET,
    SR_ROUTE_JOB_OFFER_LOOP,
    SR_ROUTE_JOB_SWEEP,
    SR_ROUTE_JOB_OUTBOX,
    SR_ROUTE_TWILIO_STATUS,
    SR_ROUTE_TWILIO_INBOUND,
    SR_ROUTE_STRIPE_WEBHOOK,
    SR_ROUTE_DASH_HOME,
    SR_ROUTE_DASH_APPOINTMENTS,
    SR_ROUTE_DASH_APPOINTMENT,
    SR_ROUTE_DASH_CANCEL,
    SR_ROUTE_DASH_SLOT_CSV,
    SR_ROUTE_DASH_SLOT_OPENING,
    SR_ROUTE_ASSET,
    SR_ROUTE_COUNT
} sr_route_id_t;

#define SR_ROUTE_INTERNAL 0x1 /* needs the x-internal-secret header */

typedef struct {
    sr_method_t method;
    const char *pattern; /* "{id}" matches one positive integer segment (sr_path_match) */
    sr_route_id_t id;
    unsigned flags;
} sr_route_t;

/* The table, *count entries. */
const sr_route_t *sr_routes(apr_size_t *count);

/* The route path as the table is matched against it: trailing slashes dropped ("/api/shops/" is "/api/shops"). */
char *sr_route_path(apr_pool_t *p, const char *route_path);

/*
 * The route for path (from sr_route_path) and method, with *id the "{id}"
 * segment (a copy, NULL when the pattern has none). NULL when there is none:
 * then *allow lists the methods routes of that path take ("GET, HEAD, POST"),
 * NULL when no route has the path at all.
 */
const sr_route_t *sr_route_find(apr_pool_t *p, const char *path, sr_method_t method, const char **id,
                                const char **allow);

/* "GET, HEAD", "POST" or "PATCH": a method as the Allow header names it. */
const char *sr_method_allow_name(sr_method_t method);

#endif /* SR_ROUTES_H */
