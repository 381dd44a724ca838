/* Stripe: creating PaymentIntents for deposits and checking webhook signatures. */
#ifndef SR_STRIPE_H
#define SR_STRIPE_H

#include "mod_slotrecovery.h"
#include "sr_config.h"

typedef struct {
    apr_int64_t amount; /* minor units */
    const char *currency;
    const char *customer;       /* cus_... */
    const char *payment_method; /* pm_... */
    const char *idempotency_key;
    const char *appointment_id; /* metadata, so events find their way back */
    const char *slot_opening_id;
    const char *payment_id;
    const char *installation_id; /* metadata too: an event is ours only if it carries it; NULL: none */
} sr_stripe_intent_request_t;

typedef struct {
    const char *id;     /* pi_..., when Stripe made one (also on a card error) */
    const char *status; /* the PaymentIntent's status */
    const char *error;  /* Stripe's message when it refused or could not be reached */
    int card_declined;  /* 402: the card was refused, a payment failure */
} sr_stripe_intent_t;

/*
 * An Idempotency-Key of this installation's: "slotrecovery-<installation
 * id>-<kind>-<id>", then "-<token>" when given (a random token of the row, so
 * a database restored under the same installation id, issuing ids again, makes
 * new keys). Unique per installation on one Stripe account; NULL without an
 * installation id.
 */
const char *sr_stripe_idempotency_key(apr_pool_t *p, const char *installation_id, const char *kind, const char *id,
                                      const char *token);

/*
 * POST {base}/v1/payment_intents with confirm=true, off_session=true.
 * Refused (SR_UNAVAILABLE) without an idempotency key.
 * SR_OK with out->status when Stripe answered 2xx; SR_INVALID when it
 * refused the payment (card_declined says a card error); SR_UNAVAILABLE when
 * it could not be reached or failed (retry with the same idempotency key).
 */
sr_status_t sr_stripe_create_payment_intent(apr_pool_t *p, const sr_server_conf_t *conf,
                                            const sr_stripe_intent_request_t *in, sr_stripe_intent_t *out);

/*
 * Checks a Stripe-Signature header ("t=...,v1=...,v1=...") over the raw body:
 * HMAC-SHA256 with the webhook secret of "t.body", hex; any v1 may match;
 * compared in constant time; t within tolerance of now. NULL when valid,
 * else why not.
 */
const char *sr_stripe_signature_problem(apr_pool_t *p, const char *secret, const char *header, const char *body,
                                        apr_size_t body_len, apr_interval_time_t tolerance, apr_time_t now);

/* What the module reads of a webhook event. */
typedef struct {
    const char *id;
    const char *type;
    const char *intent_id;           /* for payment_intent.* events */
    const char *metadata_payment_id; /* our payment id, when it is one of ours */
    const char *failure_message;     /* last_payment_error.message */
    /* What matches an intent whose id we have not recorded to our payment: */
    const char *metadata_installation_id; /* this installation's id, on intents we created */
    const char *amount;                   /* the intent's amount in minor units (digits), or NULL */
    const char *currency;                 /* its currency, or NULL */
    const char *customer;                 /* its customer (cus_...), or NULL */
} sr_stripe_event_t;

/* Reads an event's JSON; NULL when usable, else what is wrong with it. */
const char *sr_stripe_parse_event(apr_pool_t *p, const char *body, apr_size_t len, sr_stripe_event_t *out);

#endif /* SR_STRIPE_H */
