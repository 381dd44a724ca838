/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Twilio: sending SMS for a server's configuration. The calls themselves
 * (requests, answers, what they mean) are the core's, core/sr_twilio_client.h;
 * these fill its client from sr_server_conf_t and the libcurl client
 * (sr_http). Webhook signatures: core/sr_twilio_protocol.h.
 */
#ifndef SR_TWILIO_H
#define SR_TWILIO_H

#include "mod_slotrecovery.h"
#include "sr_config.h"
#include "sr_form.h"
#include "sr_twilio_client.h"   /* sr_twilio_sms_t, sr_twilio_send_t, SR_TWILIO_UNSUBSCRIBED */
#include "sr_twilio_protocol.h" /* webhook signatures */

/* Whether conf can send SMS at all: an Account SID and an auth token. */
int sr_twilio_configured(const sr_server_conf_t *conf);

/*
 * Sends n messages, at once when there are several (a sweep's batch), each a
 * POST {base}/2010-04-01/Accounts/{sid}/Messages.json: out[i] has the message
 * sid when Twilio accepted sms[i], else why not (sr_twilio_client_send_all).
 */
void sr_twilio_send_all(apr_pool_t *p, const sr_server_conf_t *conf, int n, const sr_twilio_sms_t *sms,
                        sr_twilio_send_t *out);

#endif /* SR_TWILIO_H */
