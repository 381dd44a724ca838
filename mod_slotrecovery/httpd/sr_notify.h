/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Texts to customers outside a reply: an outbox. A notification is written in
 * the transaction that changes the customer's booking, so it exists exactly
 * when the change does; the sweep sends it after the commit through Twilio,
 * retried with backoff while Twilio fails, and records Twilio's message SID.
 */
#ifndef SR_NOTIFY_H
#define SR_NOTIFY_H

#include "sr_context.h"

/* What a customer is told about a deposit whose booking was released. */
typedef enum {
    SR_NOTICE_NONE = 0,
    SR_NOTICE_GAVE_UP,      /* Stripe could not be asked in time */
    SR_NOTICE_DECLINED,     /* the card was declined */
    SR_NOTICE_SHOP_PROBLEM, /* Stripe refused the shop's request: its setup */
    SR_NOTICE_FAILED        /* Stripe reported the payment failed */
} sr_notice_t;

/* Tries to send one notification before giving up on it. */
#define SR_NOTIFY_MAX_ATTEMPTS 10

/*
 * Queues the text about a payment's booking for its customer (once per
 * payment; none for a customer who opted out). In the caller's transaction.
 */
sr_status_t sr_notify_payment(sr_db_t *db, const char *payment_id, sr_notice_t notice);

/* Sends a batch of due notifications; how many were claimed, -1 when the database failed. */
int sr_notify_send_due(sr_ctx_t *ctx);

/* The statements sr_notify.c runs (listed in sr_statement_tables.c). */
extern const sr_statement_t *const sr_notify_statements[];

#endif /* SR_NOTIFY_H */
