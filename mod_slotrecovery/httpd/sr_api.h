/* SPDX-License-Identifier: Apache-2.0 */
/* The internal JSON API: shops, customers, appointments, slot openings. */
#ifndef SR_API_H
#define SR_API_H

#include "sr_db.h"
#include "sr_request.h"

int sr_api_shop_create(sr_req_t *req);
int sr_api_shop_update(sr_req_t *req);
int sr_api_shop_user_grant(sr_req_t *req);
int sr_api_customer_create(sr_req_t *req);
int sr_api_appointment_create(sr_req_t *req);
int sr_api_appointment_get(sr_req_t *req);
int sr_api_appointment_cancel(sr_req_t *req);
int sr_api_slot_opening_get(sr_req_t *req);

/* The statements sr_api.c runs (listed in sr_statement_tables.c). */
extern const sr_statement_t *const sr_api_statements[];

#endif /* SR_API_H */
