/* SPDX-License-Identifier: Apache-2.0 */
/* The Stripe webhook: signed events that settle deposits, each acted on once. */
#ifndef SR_STRIPE_WEBHOOK_H
#define SR_STRIPE_WEBHOOK_H

#include "sr_db.h"
#include "sr_request.h"

/* POST /api/stripe/webhook */
int sr_stripe_webhook(sr_req_t *req);

/* The statements sr_stripe_webhook.c runs (listed in sr_statement_tables.c). */
extern const sr_statement_t *const sr_stripe_webhook_statements[];

#endif /* SR_STRIPE_WEBHOOK_H */
