/* SPDX-License-Identifier: Apache-2.0 */
/* Twilio's protocol, without any I/O: its webhook signatures. Core: APR only. */
#ifndef SR_TWILIO_PROTOCOL_H
#define SR_TWILIO_PROTOCOL_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "sr_form.h" /* sr_param_t */

/*
 * Twilio's request validation: base64(HMAC-SHA1(auth token, url followed by
 * each POST parameter's name and value, sorted by name)), compared in constant
 * time. params holds the decoded form fields (sr_param_t): the MAC covers
 * their raw bytes, before any UTF-8 repair.
 */
int sr_twilio_signature_valid(apr_pool_t *p, const char *auth_token, const char *url, const apr_array_header_t *params,
                              const char *signature);

#endif /* SR_TWILIO_PROTOCOL_H */
