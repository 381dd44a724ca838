/*
 * Routing. The module answers below wherever `SetHandler slotrecovery` is
 * set: "/api/shops" at the root, "/shop1/api/shops" when mounted at /shop1.
 */
#include "sr_api.h"
#include "sr_config.h"
#include "sr_dashboard.h"
#include "sr_jobs.h"
#include "sr_request.h"
#include "sr_router.h"
#include "sr_stripe_webhook.h"
#include "sr_twilio_webhooks.h"
#include "sr_validate.h"

typedef int sr_route_fn(sr_req_t *req);

#define SR_ROUTE_INTERNAL 0x1 /* needs the x-internal-secret header */

typedef struct {
    int method;          /* M_GET (also answers HEAD), M_POST or M_PATCH */
    const char *pattern; /* "{id}" matches one positive integer segment */
    sr_route_fn *handler;
    unsigned flags;
} sr_route_t;

static const sr_route_t routes[] = {
    {M_POST, "/api/shops", sr_api_shop_create, SR_ROUTE_INTERNAL},
    {M_PATCH, "/api/shops/{id}", sr_api_shop_update, SR_ROUTE_INTERNAL},
    {M_POST, "/api/shops/{id}/users", sr_api_shop_user_grant, SR_ROUTE_INTERNAL},
    {M_POST, "/api/customers", sr_api_customer_create, SR_ROUTE_INTERNAL},
    {M_POST, "/api/appointments", sr_api_appointment_create, SR_ROUTE_INTERNAL},
    {M_GET, "/api/appointments/{id}", sr_api_appointment_get, SR_ROUTE_INTERNAL},
    {M_POST, "/api/appointments/{id}/cancel", sr_api_appointment_cancel, SR_ROUTE_INTERNAL},
    {M_GET, "/api/slot-openings/{id}", sr_api_slot_opening_get, SR_ROUTE_INTERNAL},
    {M_POST, "/api/jobs/offer-loop", sr_jobs_offer_loop, SR_ROUTE_INTERNAL},
    {M_POST, "/api/jobs/sweep", sr_jobs_sweep, SR_ROUTE_INTERNAL},
    /* Webhooks carry their provider's signature instead of the internal secret. */
    {M_POST, "/api/twilio/status", sr_twilio_status_webhook, 0},
    {M_POST, "/api/twilio/inbound", sr_twilio_inbound_webhook, 0},
    {M_POST, "/api/stripe/webhook", sr_stripe_webhook, 0},
    /* The dashboard: httpd authenticates, the pages map the user to a shop. */
    {M_GET, "/app", sr_dashboard_home, 0},
    {M_GET, "/app/appointments", sr_dashboard_appointments, 0},
    {M_GET, "/app/appointments/{id}", sr_dashboard_appointment, 0},
    {M_POST, "/app/appointments/{id}/cancel", sr_dashboard_cancel, 0},
    {M_GET, "/app/slot-openings.csv", sr_dashboard_slot_openings_csv, 0},
    {M_GET, "/app/slot-openings/{id}", sr_dashboard_slot_opening, 0},
    {M_GET, "/app/assets/slotrecovery.css", sr_dashboard_stylesheet, 0},
};

/* Whether path starts with the segment "/api" or "/app". */
static int is_route_root(const char *path)
{
    return (!strncmp(path, "/api", 4) || !strncmp(path, "/app", 4)) && (path[4] == '/' || path[4] == '\0');
}

int sr_router_split(apr_pool_t *p, const char *uri, const apr_array_header_t *locations, const char **mount,
                    const char **route_path)
{
    apr_ssize_t best = -1;
    const char *c;
    int i;

    /* The mount is the <Location> the route root sits right under (or is). */
    for (i = 0; locations && i < locations->nelts; i++) {
        const char *loc = APR_ARRAY_IDX(locations, i, const char *);
        apr_size_t len = strlen(loc);

        while (len > 0 && loc[len - 1] == '/') {
            len--;
        }
        if (strncmp(uri, loc, len) || (uri[len] != '/' && uri[len] != '\0')) {
            continue;
        }
        if (is_route_root(uri + len) && (apr_ssize_t)len > best) {
            best = (apr_ssize_t)len;
        }
        else if (len >= 4 && is_route_root(uri + len - 4) && (apr_ssize_t)len - 4 > best) {
            best = (apr_ssize_t)len - 4;
        }
    }
    /* A <LocationMatch> or a mount we cannot see: the first /api or /app segment. */
    for (c = uri; best < 0 && c && *c; c = strchr(c + 1, '/')) {
        if (is_route_root(c)) {
            best = c - uri;
        }
    }
    if (best < 0) {
        return 0;
    }
    *mount = apr_pstrmemdup(p, uri, (apr_size_t)best);
    *route_path = uri + best;
    return 1;
}

/* Matches path against pattern segment by segment; captures {id}. */
static int route_matches(const char *pattern, const char *path, const char **id)
{
    while (*pattern && *path) {
        if (!strncmp(pattern, "{id}", 4)) {
            const char *end = strchr(path, '/');
            apr_size_t len = end ? (apr_size_t)(end - path) : strlen(path);
            char segment[32];

            if (len == 0 || len >= sizeof(segment)) {
                return 0;
            }
            memcpy(segment, path, len);
            segment[len] = '\0';
            if (!sr_valid_id(segment)) {
                return 0;
            }
            *id = path; /* copied by the caller */
            pattern += 4;
            path += len;
            continue;
        }
        if (*pattern != *path) {
            return 0;
        }
        pattern++;
        path++;
    }
    return !*pattern && !*path;
}

int sr_router_handler(request_rec *r)
{
    sr_dir_conf_t *dconf;
    sr_req_t req;
    const char *id = NULL, *allow = NULL;
    apr_size_t i, len;
    char *path;
    int rc;

    if (!r->handler || strcmp(r->handler, SR_HANDLER_NAME)) {
        return DECLINED;
    }
    memset(&req, 0, sizeof(req));
    req.r = r;
    req.conf = sr_config_get(r->server);
    dconf = ap_get_module_config(r->per_dir_config, &slotrecovery_module);

    if (!sr_router_split(r->pool, r->uri, dconf->locations, &req.mount, &req.path)) {
        return sr_send_error(&req, HTTP_NOT_FOUND, "no such route");
    }
    /* "/api/shops/" routes like "/api/shops". */
    path = apr_pstrdup(r->pool, req.path);
    len = strlen(path);
    while (len > 1 && path[len - 1] == '/') {
        path[--len] = '\0';
    }
    req.path = path;

    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const sr_route_t *route = &routes[i];

        if (!route_matches(route->pattern, req.path, &id)) {
            continue;
        }
        if (route->method != r->method_number) {
            const char *name = route->method == M_GET ? "GET, HEAD" : route->method == M_POST ? "POST" : "PATCH";

            allow = allow ? apr_pstrcat(r->pool, allow, ", ", name, NULL) : name;
            continue;
        }
        if (id) {
            const char *end = strchr(id, '/');

            req.id = end ? apr_pstrmemdup(r->pool, id, (apr_size_t)(end - id)) : id;
        }
        if (route->method == M_GET && (rc = ap_discard_request_body(r)) != OK) {
            return rc;
        }
        if ((route->flags & SR_ROUTE_INTERNAL) && (rc = sr_require_internal_secret(&req)) != OK) {
            return rc;
        }
        return route->handler(&req);
    }
    if (allow) {
        apr_table_setn(r->headers_out, "Allow", allow);
        return sr_send_error(&req, HTTP_METHOD_NOT_ALLOWED, "method %s not allowed here", r->method);
    }
    return sr_send_error(&req, HTTP_NOT_FOUND, "no such route");
}
