/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stripe: PaymentIntents for deposits and refunds of them, for a server's
 * configuration. The calls themselves (requests, answers, what they mean) are
 * the core's, core/sr_stripe_client.h, which documents each; these fill its
 * client from sr_server_conf_t and the libcurl client (sr_http). Webhook
 * signatures and events: core/sr_stripe_protocol.h.
 */
#ifndef SR_STRIPE_H
#define SR_STRIPE_H

#include "mod_slotrecovery.h"
#include "sr_config.h"
#include "sr_stripe_client.h"   /* sr_stripe_intent_request_t, sr_stripe_intent_t, sr_stripe_refund_*_t */
#include "sr_stripe_protocol.h" /* signatures, events, idempotency keys */

/* sr_stripe_client_create_payment_intent: POST {base}/v1/payment_intents (confirm, off_session). */
sr_status_t sr_stripe_create_payment_intent(apr_pool_t *p, const sr_server_conf_t *conf,
                                            const sr_stripe_intent_request_t *in, sr_stripe_intent_t *out);

/* sr_stripe_client_find_payment_intent: the PaymentIntent an earlier request for this deposit made. */
sr_status_t sr_stripe_find_payment_intent(apr_pool_t *p, const sr_server_conf_t *conf,
                                          const sr_stripe_intent_request_t *in, sr_stripe_intent_t *out);

/* sr_stripe_client_create_refund: POST {base}/v1/refunds. */
sr_status_t sr_stripe_create_refund(apr_pool_t *p, const sr_server_conf_t *conf, const sr_stripe_refund_request_t *in,
                                    sr_stripe_refund_t *out);

/* sr_stripe_client_find_refund: the refund an earlier request for this payment made. */
sr_status_t sr_stripe_find_refund(apr_pool_t *p, const sr_server_conf_t *conf, const sr_stripe_refund_request_t *in,
                                  sr_stripe_refund_t *out);

/* sr_stripe_client_get_refund: GET {base}/v1/refunds/{id}, where a pending refund stands. */
sr_status_t sr_stripe_get_refund(apr_pool_t *p, const sr_server_conf_t *conf, const char *refund_id,
                                 sr_stripe_refund_t *out);

#endif /* SR_STRIPE_H */
