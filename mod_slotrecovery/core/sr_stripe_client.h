/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stripe's REST calls the module makes (PaymentIntents for deposits, their
 * refunds), without I/O of its own: requests are built here and performed
 * through an sr_http_client_t, answers are read here. The glue
 * (httpd/sr_stripe.c) fills the client from the server's configuration.
 */
#ifndef SR_STRIPE_CLIENT_H
#define SR_STRIPE_CLIENT_H

#include <apr_pools.h>
#include <apr_time.h>

#include "sr_http_client.h"
#include "sr_log.h"
#include "sr_status.h"

/* Where and as whom to call Stripe. */
typedef struct {
    const char *api_base;        /* https://api.stripe.com (no trailing slash) */
    const char *secret_key;      /* sk_...; NULL: Stripe is not configured */
    apr_interval_time_t timeout; /* one call */
    const sr_http_client_t *http;
    const sr_log_t *log; /* failed calls at debug; may be NULL */
} sr_stripe_client_t;

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
    const char *id;         /* pi_..., when Stripe made one (also on a card error) */
    const char *status;     /* the PaymentIntent's status */
    const char *error;      /* Stripe's message when it refused, or what went wrong */
    const char *error_type; /* Stripe's error.type (card_error, invalid_request_error, ...) */
    const char *error_code; /* error.code (card_declined, amount_too_small, ...) */
    int card_declined;      /* a card_error: the card was refused, a payment failure */
    int permanent;          /* 401/403: the key is wrong; retrying cannot help until the shop fixes it */
    int key_spent;          /* Stripe answered a 5xx: saved under the Idempotency-Key, replayed to every retry */
} sr_stripe_intent_t;

typedef struct {
    const char *payment_intent; /* pi_... to refund */
    apr_int64_t amount;         /* minor units */
    const char *idempotency_key;
    const char *installation_id; /* metadata */
    const char *payment_id;
} sr_stripe_refund_request_t;

typedef struct {
    const char *id;             /* re_... */
    const char *status;         /* pending, requires_action, succeeded, failed, canceled */
    apr_int64_t amount;         /* what Stripe refunds */
    const char *failure_reason; /* when failed */
    const char *error;          /* why there is no Refund */
    int permanent;              /* 401/403 */
    int key_spent;              /* Stripe answered a 5xx: saved under the Idempotency-Key, replayed to every retry */
} sr_stripe_refund_t;

/* The most pages of 100 a lookup walks before it gives up (SR_UNAVAILABLE). */
#define SR_STRIPE_LIST_PAGES 20

/*
 * POST {base}/v1/payment_intents with confirm=true, off_session=true.
 * Refused (SR_UNAVAILABLE) without an idempotency key.
 * SR_OK with out->status when Stripe answered 2xx; SR_INVALID when it
 * refused: the card (card_declined, a card_error) or the request itself
 * (invalid_request_error, idempotency_error: the shop's setup, not the
 * customer's card); SR_UNAVAILABLE when it could not be reached or failed
 * (retry with the same idempotency key), permanent for a refused key.
 */
sr_status_t sr_stripe_client_create_payment_intent(apr_pool_t *p, const sr_stripe_client_t *c,
                                                   const sr_stripe_intent_request_t *in, sr_stripe_intent_t *out);

/*
 * The PaymentIntent an earlier request for this deposit made, if any: GET
 * {base}/v1/payment_intents?customer=... (a list, strongly consistent, unlike
 * the search API), paged, matched on metadata payment_id and installation_id
 * (absent on both sides for a payment from before migration 007), amount and
 * currency; a canceled one is not counted. SR_NOT_FOUND when there is none;
 * SR_OK with out->id and out->status; SR_INVALID, as a refusal of the
 * creation, when the card refused it (requires_payment_method with a
 * last_payment_error); SR_UNAVAILABLE when Stripe could not tell.
 */
sr_status_t sr_stripe_client_find_payment_intent(apr_pool_t *p, const sr_stripe_client_t *c,
                                                 const sr_stripe_intent_request_t *in, sr_stripe_intent_t *out);

/*
 * POST {base}/v1/refunds (payment_intent, amount, metadata). The same
 * statuses as sr_stripe_client_create_payment_intent: SR_OK with a Refund,
 * SR_INVALID when Stripe refused it, SR_UNAVAILABLE to retry with the key.
 */
sr_status_t sr_stripe_client_create_refund(apr_pool_t *p, const sr_stripe_client_t *c,
                                           const sr_stripe_refund_request_t *in, sr_stripe_refund_t *out);

/*
 * The refund an earlier request for this payment made, if any: GET
 * {base}/v1/refunds?payment_intent=... (paged), matched on metadata
 * payment_id and installation_id; a failed or canceled one is not counted.
 * SR_OK with the Refund, SR_NOT_FOUND when there is none, SR_UNAVAILABLE when
 * Stripe could not tell.
 */
sr_status_t sr_stripe_client_find_refund(apr_pool_t *p, const sr_stripe_client_t *c,
                                         const sr_stripe_refund_request_t *in, sr_stripe_refund_t *out);

/* GET {base}/v1/refunds/{id}: where a pending refund stands. */
sr_status_t sr_stripe_client_get_refund(apr_pool_t *p, const sr_stripe_client_t *c, const char *refund_id,
                                        sr_stripe_refund_t *out);

#endif /* SR_STRIPE_CLIENT_H */
