/*
 * Routing. The module answers below wherever `SetHandler slotrecovery` is
 * set: "/api/shops" at the root, "/shop1/api/shops" when mounted at /shop1.
 */
#include "sr_api.h"
#include "sr_assets.h"
#include "sr_config.h"
#include "sr_path.h"
#include "sr_dashboard.h"
#include "sr_jobs.h"
#include "sr_request.h"
#include "sr_router.h"
#include "sr_stripe_webhook.h"
#include "sr_twilio_webhooks.h"

#include <http_core.h> /* after httpd.h: the sections of <Location> */

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
    {M_GET, "/app/assets/slotrecovery.css", sr_assets_handler, 0},
    {M_GET, "/app/assets/favicon.svg", sr_assets_handler, 0},
};

/*
 * The literal <Location> paths of this server (the main server's included):
 * where the module may be mounted. <LocationMatch> and wildcard sections are
 * left out: their path is a pattern, not a prefix. A module's per-directory
 * config is only made for sections holding one of its directives, so the
 * sections are read from the core's configuration instead.
 */
static apr_array_header_t *configured_locations(request_rec *r)
{
    core_server_config *sconf = ap_get_core_module_config(r->server->module_config);
    apr_array_header_t *sections = sconf->sec_url;
    apr_array_header_t *out = apr_array_make(r->pool, sections ? sections->nelts : 0, sizeof(const char *));
    int i;

    for (i = 0; sections && i < sections->nelts; i++) {
        core_dir_config *section = ap_get_core_module_config(APR_ARRAY_IDX(sections, i, ap_conf_vector_t *));

        if (section && section->d && !section->r && !section->d_is_fnmatch && section->d[0] == '/') {
            APR_ARRAY_PUSH(out, const char *) = section->d;
        }
    }
    return out;
}

int sr_router_handler(request_rec *r)
{
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

    rc = sr_path_split(r->pool, r->uri, configured_locations(r), &req.mount, &req.path);
    if (rc == SR_PATH_UNSAFE_MOUNT) {
        return sr_send_error(&req, HTTP_NOT_FOUND,
                             "no such route: the path before /api or /app is not a configured <Location> "
                             "and has characters a mount may not have");
    }
    if (rc != 1) {
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

        if (!sr_path_match(route->pattern, req.path, &id)) {
            continue;
        }
        if (route->method != r->method_number) {
            const char *name = route->method == M_GET ? "GET, HEAD" : route->method == M_POST ? "POST" : "PATCH";

            allow = allow ? apr_pstrcat(r->pool, allow, ", ", name, (char *)NULL) : name;
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
