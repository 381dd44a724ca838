/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stripe's protocol, without any I/O: the Idempotency-Keys the module sends,
 * webhook signatures and what it reads of an event. Core: APR and jansson only.
 */
#ifndef SR_STRIPE_PROTOCOL_H
#define SR_STRIPE_PROTOCOL_H

#include <apr_pools.h>
#include <apr_time.h>

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

#endif /* SR_STRIPE_PROTOCOL_H */
