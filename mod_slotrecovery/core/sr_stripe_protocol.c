/* SPDX-License-Identifier: Apache-2.0 */
/* Stripe's protocol: Idempotency-Keys, the webhook signature scheme, events. */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "sr_crypto.h"
#include "sr_json.h"
#include "sr_stripe_protocol.h"
#include "sr_validate.h"

const char *sr_stripe_idempotency_key(apr_pool_t *p, const char *installation_id, const char *kind, const char *id,
                                      const char *token)
{
    if (!installation_id || !*installation_id) {
        return NULL;
    }
    return apr_pstrcat(p, "slotrecovery-", installation_id, "-", kind, "-", id, token ? "-" : "", token ? token : "",
                       (char *)NULL);
}

const char *sr_stripe_signature_problem(apr_pool_t *p, const char *secret, const char *header, const char *body,
                                        apr_size_t body_len, apr_interval_time_t tolerance, apr_time_t now)
{
    const char *expected;
    const char *timestamp = NULL;
    char *copy, *item, *state = NULL;
    char *signed_payload;
    apr_size_t tlen;
    apr_array_header_t *v1 = apr_array_make(p, 2, sizeof(const char *));
    apr_int64_t t;
    char *end;
    int matched = 0, k;

    if (!header || !*header) {
        return "Stripe-Signature header missing";
    }
    /* t=1492774577,v1=5257a8...,v0=6ffbb5... : items may come in any order. */
    copy = apr_pstrdup(p, header);
    for (item = apr_strtok(copy, ",", &state); item; item = apr_strtok(NULL, ",", &state)) {
        char *value = strchr(item, '=');

        while (apr_isspace(*item)) {
            item++;
        }
        if (!value) {
            continue;
        }
        *value++ = '\0';
        if (!strcmp(item, "t")) {
            timestamp = value;
        }
        else if (!strcmp(item, "v1")) {
            APR_ARRAY_PUSH(v1, const char *) = value;
        }
    }
    if (!timestamp || !apr_isdigit(*timestamp)) {
        return "Stripe-Signature has no timestamp";
    }
    if (v1->nelts == 0) {
        return "Stripe-Signature has no v1 signature";
    }
    t = apr_strtoi64(timestamp, &end, 10);
    if (*end) {
        return "Stripe-Signature timestamp is not a number";
    }
    if (t < apr_time_sec(now) - apr_time_sec(tolerance) || t > apr_time_sec(now) + apr_time_sec(tolerance)) {
        return "Stripe-Signature timestamp outside the tolerance";
    }
    /* "t.body", byte for byte: the body may hold anything, NULs included. */
    tlen = strlen(timestamp);
    signed_payload = apr_palloc(p, tlen + 1 + body_len);
    memcpy(signed_payload, timestamp, tlen);
    signed_payload[tlen] = '.';
    memcpy(signed_payload + tlen + 1, body, body_len);
    expected = sr_hmac_sha256_hex(p, secret, signed_payload, tlen + 1 + body_len);
    if (!expected) {
        return "cannot compute the signature";
    }
    /* Every candidate is compared, in constant time, whatever matched before. */
    for (k = 0; k < v1->nelts; k++) {
        const char *candidate = APR_ARRAY_IDX(v1, k, const char *);

        matched |= sr_secret_equals(candidate, expected);
    }
    return matched ? NULL : "no v1 signature matches";
}

const char *sr_stripe_parse_event(apr_pool_t *p, const char *body, apr_size_t len, sr_stripe_event_t *out)
{
    sr_json_t *event, *data, *object, *metadata, *last_error, *customer;
    const char *error = NULL, *object_type = NULL;
    apr_int64_t amount;

    memset(out, 0, sizeof(*out));
    event = sr_json_parse(p, body, len, &error);
    if (!event || !sr_json_is_object(event)) {
        return error ? apr_pstrcat(p, "event is not a JSON object: ", error, (char *)NULL)
                     : "event is not a JSON object";
    }
    if (sr_json_get_string(event, "id", &out->id) != SR_JSON_FOUND || !*out->id || strlen(out->id) > 255 ||
        sr_json_get_string(event, "type", &out->type) != SR_JSON_FOUND || strlen(out->type) > 255) {
        return "event without id or type";
    }
    if (!(data = sr_json_get_object(event, "data")) || !(object = sr_json_get_object(data, "object"))) {
        return NULL;
    }
    sr_json_get_string(object, "object", &object_type);
    if (!object_type || strcmp(object_type, "payment_intent")) {
        return NULL;
    }
    sr_json_get_string(object, "id", &out->intent_id);
    if ((metadata = sr_json_get_object(object, "metadata"))) {
        sr_json_get_string(metadata, "payment_id", &out->metadata_payment_id);
        if (out->metadata_payment_id && !sr_valid_id(out->metadata_payment_id)) {
            out->metadata_payment_id = NULL;
        }
        sr_json_get_string(metadata, "installation_id", &out->metadata_installation_id);
    }
    if (sr_json_get_int(object, "amount", &amount) == SR_JSON_FOUND) {
        out->amount = apr_psprintf(p, "%" APR_INT64_T_FMT, amount);
    }
    sr_json_get_string(object, "currency", &out->currency);
    /* An id, or the customer object when the event was expanded. */
    if (sr_json_get_string(object, "customer", &out->customer) == SR_JSON_WRONG_TYPE &&
        (customer = sr_json_get_object(object, "customer"))) {
        sr_json_get_string(customer, "id", &out->customer);
    }
    if ((last_error = sr_json_get_object(object, "last_payment_error"))) {
        sr_json_get_string(last_error, "message", &out->failure_message);
    }
    return NULL;
}
