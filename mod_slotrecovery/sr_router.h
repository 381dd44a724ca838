/* The slotrecovery handler: finds where the module is mounted and routes below it. */
#ifndef SR_ROUTER_H
#define SR_ROUTER_H

#include "mod_slotrecovery.h"

#define SR_HANDLER_NAME "slotrecovery"

int sr_router_handler(request_rec *r);

/*
 * Splits a request path into the mount prefix and the route path below it
 * ("/api/..." or "/app/..."), using the <Location> paths the request sits in.
 * Returns 0 when the path has no route root.
 */
int sr_router_split(apr_pool_t *p, const char *uri, const apr_array_header_t *locations, const char **mount,
                    const char **route_path);

#endif /* SR_ROUTER_H */
