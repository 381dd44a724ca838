/* SPDX-License-Identifier: Apache-2.0 */
/* Webhooks Twilio posts to the module, each checked against X-Twilio-Signature. */
#ifndef SR_TWILIO_WEBHOOKS_H
#define SR_TWILIO_WEBHOOKS_H

#include "sr_request.h"

/* POST /api/twilio/status: delivery reports for the offers' SMS. */
int sr_twilio_status_webhook(sr_req_t *req);
/* POST /api/twilio/inbound: customers' answers; replies with TwiML. */
int sr_twilio_inbound_webhook(sr_req_t *req);

#endif /* SR_TWILIO_WEBHOOKS_H */
