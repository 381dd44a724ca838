/* SPDX-License-Identifier: Apache-2.0 */
/* The slotrecovery handler: finds where the module is mounted and routes below it. */
#ifndef SR_ROUTER_H
#define SR_ROUTER_H

#include "mod_slotrecovery.h"

#define SR_HANDLER_NAME "slotrecovery"

int sr_router_translate(request_rec *r);
int sr_router_map_to_storage(request_rec *r);
int sr_router_handler(request_rec *r);

#endif /* SR_ROUTER_H */
