/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Deposits: creating the PaymentIntent of a recovered booking, and what
 * Stripe's verdict does to the booking. The transitions run inside the
 * caller's transaction so a webhook records its event in the same commit.
 * Money taken for a booking that no longer stands is refunded: recorded as
 * due in that transaction, asked of Stripe by the worker after the commit.
 */
#ifndef SR_PAYMENTS_H
#define SR_PAYMENTS_H

#include "sr_context.h"
#include "sr_stripe.h"

typedef struct {
    const char *outcome;          /* what happened, for the event record and the log */
    const char *reopened_slot_id; /* a slot to offer again once committed, or NULL */
    int other_intent;             /* the payment has another PaymentIntent: nothing done (a failure of it) */
} sr_payment_change_t;

/*
 * The payment an event's PaymentIntent belongs to: by the intent's id, or by
 * the payment id in its metadata, taken only when the metadata also carries
 * this installation's id and the intent's amount, currency and customer are
 * the payment's (another integration on the same Stripe account may use
 * metadata.payment_id too), and, when that payment records another intent,
 * only for payment_intent.succeeded (a second intent that took money, which
 * sr_payment_succeed refunds). *payment_id NULL when it is none of ours;
 * *mismatch then says why an intent naming one of our payments, still
 * without an intent, was not taken for it (else NULL).
 */
sr_status_t sr_payment_find(sr_db_t *db, const sr_stripe_event_t *event, const char **payment_id,
                            const char **slot_opening_id, const char **mismatch);

/*
 * The payment failed: payment failed, booking cancelled, slot open again, the
 * customer's offer declined and the customer told by SMS (the outbox).
 * Nothing changes for a payment that already succeeded or failed. Call
 * inside a transaction.
 */
sr_status_t sr_payment_fail(sr_db_t *db, const char *payment_id, const char *slot_opening_id, const char *intent_id,
                            const char *message, sr_payment_change_t *out);

/*
 * The payment succeeded: booking confirmed; for a booking cancelled or
 * released meanwhile, a refund of the deposit is recorded as due. When the
 * payment records another PaymentIntent than intent_id, intent_id is a second
 * one that took the money again: its refund is recorded as due (once per
 * intent), the payment and booking left as they are. In a transaction.
 */
sr_status_t sr_payment_succeed(sr_db_t *db, const char *payment_id, const char *slot_opening_id, const char *intent_id,
                               sr_payment_change_t *out);

/*
 * Creates the PaymentIntents of payments due (a batch), and records Stripe's
 * answers, each in a transaction of its own after the claim has committed.
 * First settles what must never be charged: a cancelled booking's payment
 * becomes canceled, one whose slot starts within SlotRecoveryOfferCutoff is
 * given up. A refusal, a refused key, or SlotRecoveryPaymentMaxAttempts
 * failed tries release the booking (the customer is told by a notification
 * in the same transaction); the released slots are added to `reopened` for
 * the caller to move on. Returns how many payments were handled, -1 when the
 * database failed.
 */
int sr_payments_charge_due(sr_ctx_t *ctx, apr_array_header_t *reopened);

/* Asks Stripe for due refunds (or where pending ones stand): how many were claimed, -1 when the database failed. */
int sr_payments_refund_due(sr_ctx_t *ctx);

/* The statements sr_payments.c runs (listed in sr_statement_tables.c). */
extern const sr_statement_t *const sr_payments_statements[];

#endif /* SR_PAYMENTS_H */
