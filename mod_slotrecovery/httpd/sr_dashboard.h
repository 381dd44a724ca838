/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dashboard, rendered by the module. httpd authenticates (any authn
 * module on the <Location>); the user name maps to one shop through
 * shop_users, and every page shows that shop only.
 */
#ifndef SR_DASHBOARD_H
#define SR_DASHBOARD_H

#include "sr_db.h"
#include "sr_request.h"

int sr_dashboard_home(sr_req_t *req);              /* GET /app */
int sr_dashboard_appointments(sr_req_t *req);      /* GET /app/appointments */
int sr_dashboard_appointment(sr_req_t *req);       /* GET /app/appointments/{id} */
int sr_dashboard_cancel(sr_req_t *req);            /* POST /app/appointments/{id}/cancel */
int sr_dashboard_slot_opening(sr_req_t *req);      /* GET /app/slot-openings/{id} */
int sr_dashboard_slot_openings_csv(sr_req_t *req); /* GET /app/slot-openings.csv */

/* The statements sr_dashboard.c runs (listed in sr_statement_tables.c). */
extern const sr_statement_t *const sr_dashboard_statements[];

#endif /* SR_DASHBOARD_H */
