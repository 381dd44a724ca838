/* SPDX-License-Identifier: Apache-2.0 */
/* The route table and the lookup the router does in it. APR only. */
#include <apr_strings.h>

#include "sr_path.h"
#include "sr_routes.h"

static const sr_route_t routes[] = {
    {SR_METHOD_POST, "/api/shops", SR_ROUTE_SHOP_CREATE, SR_ROUTE_INTERNAL},
    {SR_METHOD_PATCH, "/api/shops/{id}", SR_ROUTE_SHOP_UPDATE, SR_ROUTE_INTERNAL},
    {SR_METHOD_POST, "/api/shops/{id}/users", SR_ROUTE_SHOP_USER_GRANT, SR_ROUTE_INTERNAL},
    {SR_METHOD_POST, "/api/customers", SR_ROUTE_CUSTOMER_CREATE, SR_ROUTE_INTERNAL},
    {SR_METHOD_POST, "/api/appointments", SR_ROUTE_APPOINTMENT_CREATE, SR_ROUTE_INTERNAL},
    {SR_METHOD_GET, "/api/appointments/{id}", SR_ROUTE_APPOINTMENT_GET, SR_ROUTE_INTERNAL},
    {SR_METHOD_POST, "/api/appointments/{id}/cancel", SR_ROUTE_APPOINTMENT_CANCEL, SR_ROUTE_INTERNAL},
    {SR_METHOD_GET, "/api/slot-openings/{id}", SR_ROUTE_SLOT_OPENING_GET, SR_ROUTE_INTERNAL},
    {SR_METHOD_POST, "/api/jobs/offer-loop", SR_ROUTE_JOB_OFFER_LOOP, SR_ROUTE_INTERNAL},
    {SR_METHOD_POST, "/api/jobs/sweep", SR_ROUTE_JOB_SWEEP, SR_ROUTE_INTERNAL},
    {SR_METHOD_POST, "/api/jobs/outbox", SR_ROUTE_JOB_OUTBOX, SR_ROUTE_INTERNAL},
    /* Webhooks carry their provider's signature instead of the internal secret. */
    {SR_METHOD_POST, "/api/twilio/status", SR_ROUTE_TWILIO_STATUS, 0},
    {SR_METHOD_POST, "/api/twilio/inbound", SR_ROUTE_TWILIO_INBOUND, 0},
    {SR_METHOD_POST, "/api/stripe/webhook", SR_ROUTE_STRIPE_WEBHOOK, 0},
    /* The dashboard: httpd authenticates, the pages map the user to a shop. */
    {SR_METHOD_GET, "/app", SR_ROUTE_DASH_HOME, 0},
    {SR_METHOD_GET, "/app/appointments", SR_ROUTE_DASH_APPOINTMENTS, 0},
    {SR_METHOD_GET, "/app/appointments/{id}", SR_ROUTE_DASH_APPOINTMENT, 0},
    {SR_METHOD_POST, "/app/appointments/{id}/cancel", SR_ROUTE_DASH_CANCEL, 0},
    {SR_METHOD_GET, "/app/slot-openings.csv", SR_ROUTE_DASH_SLOT_CSV, 0},
    {SR_METHOD_GET, "/app/slot-openings/{id}", SR_ROUTE_DASH_SLOT_OPENING, 0},
    {SR_METHOD_GET, "/app/assets/slotrecovery.css", SR_ROUTE_ASSET, 0},
    {SR_METHOD_GET, "/app/assets/favicon.svg", SR_ROUTE_ASSET, 0},
};

const sr_route_t *sr_routes(apr_size_t *count)
{
    *count = sizeof(routes) / sizeof(routes[0]);
    return routes;
}

char *sr_route_path(apr_pool_t *p, const char *route_path)
{
    char *path = apr_pstrdup(p, route_path);
    apr_size_t len = strlen(path);

    while (len > 1 && path[len - 1] == '/') {
        path[--len] = '\0';
    }
    return path;
}

const char *sr_method_allow_name(sr_method_t method)
{
    return method == SR_METHOD_GET ? "GET, HEAD" : method == SR_METHOD_POST ? "POST" : "PATCH";
}

const sr_route_t *sr_route_find(apr_pool_t *p, const char *path, sr_method_t method, const char **id,
                                const char **allow)
{
    apr_size_t i;

    *id = NULL;
    *allow = NULL;
    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const sr_route_t *route = &routes[i];
        const char *at = NULL;

        if (!sr_path_match(route->pattern, path, &at)) {
            continue;
        }
        if (route->method != method) {
            const char *name = sr_method_allow_name(route->method);

            *allow = *allow ? apr_pstrcat(p, *allow, ", ", name, (char *)NULL) : name;
            continue;
        }
        if (at) {
            const char *end = strchr(at, '/');

            *id = end ? apr_pstrmemdup(p, at, (apr_size_t)(end - at)) : at;
        }
        return route;
    }
    return NULL;
}
