/* SPDX-License-Identifier: Apache-2.0 */
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
#include "sr_routes.h"
#include "sr_stripe_webhook.h"
#include "sr_twilio_webhooks.h"

#include <http_core.h> /* after httpd.h: the sections of <Location> */
#include <http_request.h>

typedef int sr_route_fn(sr_req_t *req);

/* The handler of each route of the table (sr_routes.c). */
static sr_route_fn *const handlers[SR_ROUTE_COUNT] = {
    [SR_ROUTE_SHOP_CREATE] = sr_api_shop_create,
    [SR_ROUTE_SHOP_UPDATE] = sr_api_shop_update,
    [SR_ROUTE_SHOP_USER_GRANT] = sr_api_shop_user_grant,
    [SR_ROUTE_CUSTOMER_CREATE] = sr_api_customer_create,
    [SR_ROUTE_APPOINTMENT_CREATE] = sr_api_appointment_create,
    [SR_ROUTE_APPOINTMENT_GET] = sr_api_appointment_get,
    [SR_ROUTE_APPOINTMENT_CANCEL] = sr_api_appointment_cancel,
    [SR_ROUTE_SLOT_OPENING_GET] = sr_api_slot_opening_get,
    [SR_ROUTE_JOB_OFFER_LOOP] = sr_jobs_offer_loop,
    [SR_ROUTE_JOB_SWEEP] = sr_jobs_sweep,
    [SR_ROUTE_JOB_OUTBOX] = sr_jobs_outbox,
    [SR_ROUTE_TWILIO_STATUS] = sr_twilio_status_webhook,
    [SR_ROUTE_TWILIO_INBOUND] = sr_twilio_inbound_webhook,
    [SR_ROUTE_STRIPE_WEBHOOK] = sr_stripe_webhook,
    [SR_ROUTE_DASH_HOME] = sr_dashboard_home,
    [SR_ROUTE_DASH_APPOINTMENTS] = sr_dashboard_appointments,
    [SR_ROUTE_DASH_APPOINTMENT] = sr_dashboard_appointment,
    [SR_ROUTE_DASH_CANCEL] = sr_dashboard_cancel,
    [SR_ROUTE_DASH_SLOT_CSV] = sr_dashboard_slot_openings_csv,
    [SR_ROUTE_DASH_SLOT_OPENING] = sr_dashboard_slot_opening,
    [SR_ROUTE_ASSET] = sr_assets_handler,
};

static sr_method_t route_method(const request_rec *r)
{
    switch (r->method_number) {
    case M_GET: /* HEAD too */
        return SR_METHOD_GET;
    case M_POST:
        return SR_METHOD_POST;
    case M_PATCH:
        return SR_METHOD_PATCH;
    default:
        return SR_METHOD_OTHER;
    }
}

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

/* A request whose <Location> says `SetHandler slotrecovery`, marked by sr_router_translate. */
static int ours_marker;

/*
 * Runs first among translate_name, where the <Location> sections already
 * apply: marks a request our handler will take, so sr_router_map_to_storage
 * can spare it the filesystem walk. Declines always: the translation itself
 * is left to whoever does it.
 */
int sr_router_translate(request_rec *r)
{
    core_dir_config *d = ap_get_core_module_config(r->per_dir_config);
    const char *handler, *err = NULL;

    if (!d || !d->expr_handler) {
        return DECLINED;
    }
    handler = ap_expr_str_exec(r, d->expr_handler, &err);
    if (!err && handler && !strcmp(handler, SR_HANDLER_NAME)) {
        ap_set_module_config(r->request_config, &slotrecovery_module, &ours_marker);
    }
    return DECLINED;
}

/*
 * Our URLs name no file: httpd's directory walk would lstat every component
 * of DocumentRoot + URI (9 system calls for /api/stripe/webhook, 7 % of the
 * CPU of an ignored Stripe event). As mod_proxy does, such a request is not
 * mapped to storage: <Location> sections apply to it, <Directory> and
 * .htaccess do not.
 */
int sr_router_map_to_storage(request_rec *r)
{
    return ap_get_module_config(r->request_config, &slotrecovery_module) == &ours_marker ? OK : DECLINED;
}

int sr_router_handler(request_rec *r)
{
    sr_req_t req;
    const sr_route_t *route;
    const char *allow = NULL;
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
    req.path = sr_route_path(r->pool, req.path);
    route = sr_route_find(r->pool, req.path, route_method(r), &req.id, &allow);
    if (route) {
        if (route->method == SR_METHOD_GET && (rc = ap_discard_request_body(r)) != OK) {
            return rc;
        }
        if ((route->flags & SR_ROUTE_INTERNAL) && (rc = sr_require_internal_secret(&req)) != OK) {
            return rc;
        }
        return handlers[route->id](&req);
    }
    if (allow) {
        apr_table_setn(r->headers_out, "Allow", allow);
        return sr_send_error(&req, HTTP_METHOD_NOT_ALLOWED, "method %s not allowed here", r->method);
    }
    return sr_send_error(&req, HTTP_NOT_FOUND, "no such route");
}
