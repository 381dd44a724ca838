/*
 * Deposits: creating the PaymentIntent of a recovered booking, and what
 * Stripe's verdict does to the booking. The transitions run inside the
 * caller's transaction so a webhook records its event in the same commit.
 */
#ifndef SR_PAYMENTS_H
#define SR_PAYMENTS_H

#include "sr_db.h"
#include "sr_offer_loop.h"
#include "sr_stripe.h"

typedef struct {
    const char *outcome;          /* what happened, for the event record and the log */
    const char *reopened_slot_id; /* a slot to offer again once committed, or NULL */
} sr_payment_change_t;

/*
 * The payment an event's PaymentIntent belongs to: by the intent's id, or,
 * while that payment has no intent recorded, by the payment id in its
 * metadata, taken only when the metadata also carries this installation's id
 * and the intent's amount, currency and customer are the payment's (another
 * integration on the same Stripe account may use metadata.payment_id too).
 * *payment_id NULL when it is none of ours; *mismatch then says why an intent
 * naming one of our payments was not taken for it (else NULL).
 */
sr_status_t sr_payment_find(sr_db_t *db, const sr_stripe_event_t *event, const char **payment_id,
                            const char **slot_opening_id, const char **mismatch);

/*
 * The payment failed: payment failed, booking cancelled, slot open again, the
 * customer's offer declined. Nothing changes for a payment that already
 * succeeded or failed. Call inside a transaction.
 */
sr_status_t sr_payment_fail(sr_db_t *db, const char *payment_id, const char *slot_opening_id, const char *intent_id,
                            const char *message, sr_payment_change_t *out);

/* The payment succeeded: booking confirmed; after a failure, kept and flagged. In a transaction. */
sr_status_t sr_payment_succeed(sr_db_t *db, const char *payment_id, const char *slot_opening_id, const char *intent_id,
                               sr_payment_change_t *out);

/*
 * Creates the PaymentIntent of one payment, or of every payment due (NULL),
 * and records Stripe's answer; a refusal releases the booking and offers the
 * slot again. Returns how many Stripe answered, -1 when the database failed;
 * *refusal (if given) says why Stripe refused, when it did.
 */
int sr_payments_charge_due(sr_loop_t *loop, const char *payment_id, const char **refusal);

#endif /* SR_PAYMENTS_H */
