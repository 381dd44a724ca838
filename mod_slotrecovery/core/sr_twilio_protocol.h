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

/*
 * The URLs Twilio may have signed for a request to `url` (the public URL): the
 * URL itself and, as Twilio's own validators accept, the same without its port
 * and with the scheme's default port added. A NULL-terminated list.
 */
const char *const *sr_twilio_signed_url_candidates(apr_pool_t *p, const char *url);

/* Whether `signature` is Twilio's for a request to `url` under any of those URLs. */
int sr_twilio_request_signature_valid(apr_pool_t *p, const char *auth_token, const char *url,
                                      const apr_array_header_t *params, const char *signature);

#endif /* SR_TWILIO_PROTOCOL_H */
