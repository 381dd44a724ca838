/* SPDX-License-Identifier: Apache-2.0 */
/* Stripe's REST calls: the requests (form bodies, Idempotency-Key, Bearer key) and what the answers mean. */
#include <string.h>
#include <strings.h>

#include <apr_escape.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "sr_form.h"
#include "sr_json.h"
#include "sr_stripe_client.h"

/* Said of every call made without a secret key (the glue's directive names it). */
#define SR_STRIPE_NOT_CONFIGURED "Stripe is not configured (SlotRecoveryStripeSecretKey)"

/* What Stripe answered one call with. */
typedef struct {
    int status;           /* HTTP status; 0 when no answer arrived */
    sr_json_t *doc;       /* the JSON object answered, NULL when the body was none */
    sr_json_t *error_obj; /* its "error" member */
    const char *error;    /* what went wrong, for the log and the row; NULL on success */
    const char *message;  /* Stripe's own words for it (error.message), when it gave some */
    const char *error_type;
    const char *error_code;
} stripe_answer_t;

static void stripe_read_answer(apr_pool_t *p, apr_status_t rv, const sr_http_response_t *res, stripe_answer_t *a)
{
    const char *parse_error = NULL;

    memset(a, 0, sizeof(*a));
    if (rv != APR_SUCCESS) {
        a->error = apr_pstrcat(p, "Stripe unreachable: ", res->error, (char *)NULL);
        return;
    }
    a->status = res->status;
    a->doc = sr_json_parse(p, res->body, res->body_len, &parse_error);
    if (!a->doc || !sr_json_is_object(a->doc)) {
        a->doc = NULL;
        a->error = apr_psprintf(p, "Stripe answered %d with no JSON object", res->status);
        return;
    }
    if (res->status >= 200 && res->status < 300) {
        return;
    }
    if ((a->error_obj = sr_json_get_object(a->doc, "error"))) {
        sr_json_get_string(a->error_obj, "message", &a->message);
        sr_json_get_string(a->error_obj, "type", &a->error_type);
        sr_json_get_string(a->error_obj, "code", &a->error_code);
    }
    a->error =
        apr_psprintf(p, "Stripe answered %d%s%s", res->status, a->message ? ": " : "", a->message ? a->message : "");
}

static void stripe_perform(apr_pool_t *p, const sr_stripe_client_t *c, const sr_http_request_t *req, stripe_answer_t *a)
{
    sr_http_response_t res;
    apr_status_t rv;

    memset(&res, 0, sizeof(res));
    rv = sr_http_client_perform(c->http, p, req, &res);
    stripe_read_answer(p, rv, &res, a);
    if (a->error) {
        /* The kind of refusal too (card_error, card_declined): what the stored message does not say. */
        sr_logf(c->log, SR_LOG_DEBUG, "Stripe %s %s: %s%s", req->method, req->url, a->error,
                a->error_type || a->error_code
                    ? apr_psprintf(p, " [%s%s%s]", a->error_type ? a->error_type : "",
                                   a->error_type && a->error_code ? " " : "", a->error_code ? a->error_code : "")
                    : "");
    }
}

/*
 * What an answer means: SR_OK for a 2xx object; SR_INVALID when Stripe refused
 * the request itself (a 4xx other than those below: asking again is futile);
 * SR_UNAVAILABLE when asking again later may work (no answer, no JSON, 5xx,
 * 409 or 429), with *permanent set for 401/403: the key is wrong or lacks the
 * permission, and only the shop fixing it helps.
 */
static sr_status_t stripe_verdict(const stripe_answer_t *a, int *permanent)
{
    *permanent = 0;
    if (a->doc && a->status >= 200 && a->status < 300) {
        return SR_OK;
    }
    if (a->doc && (a->status == 401 || a->status == 403)) {
        *permanent = 1;
        return SR_UNAVAILABLE;
    }
    if (a->doc && a->status >= 400 && a->status < 500 && a->status != 409 && a->status != 429) {
        return SR_INVALID;
    }
    return SR_UNAVAILABLE;
}

/* A call to {base}{path}: the secret key as a Bearer token, the Idempotency-Key when given. */
static void stripe_request(apr_pool_t *p, const sr_stripe_client_t *c, sr_http_request_t *req, const char *method,
                           const char *path, const sr_form_t *form, const char *idempotency_key)
{
    apr_table_t *headers = apr_table_make(p, 1);

    if (idempotency_key) {
        apr_table_setn(headers, "Idempotency-Key", idempotency_key);
    }
    memset(req, 0, sizeof(*req));
    req->method = method;
    req->url = apr_pstrcat(p, c->api_base, path, (char *)NULL);
    req->bearer_token = c->secret_key;
    req->headers = headers;
    req->form = form ? sr_form_encode(form) : NULL;
    req->timeout = c->timeout;
}

sr_status_t sr_stripe_client_create_payment_intent(apr_pool_t *p, const sr_stripe_client_t *c,
                                                   const sr_stripe_intent_request_t *in, sr_stripe_intent_t *out)
{
    sr_http_request_t req;
    sr_form_t *form = sr_form_make(p);
    stripe_answer_t a;
    sr_json_t *intent;
    sr_status_t status;

    memset(out, 0, sizeof(*out));
    if (!c->secret_key) {
        out->error = SR_STRIPE_NOT_CONFIGURED;
        return SR_UNAVAILABLE;
    }
    if (!in->idempotency_key) {
        out->error = "no Idempotency-Key: table installation has no row (migration 005)";
        return SR_UNAVAILABLE;
    }
    sr_form_add(form, "amount", apr_psprintf(p, "%" APR_INT64_T_FMT, in->amount));
    sr_form_add(form, "currency", in->currency);
    sr_form_add(form, "customer", in->customer);
    sr_form_add(form, "payment_method", in->payment_method);
    sr_form_add(form, "confirm", "true");
    sr_form_add(form, "off_session", "true");
    sr_form_add(form, "description", "Deposit for a recovered appointment");
    sr_form_add(form, "metadata[appointment_id]", in->appointment_id);
    sr_form_add(form, "metadata[slot_opening_id]", in->slot_opening_id);
    sr_form_add(form, "metadata[payment_id]", in->payment_id);
    if (in->installation_id) {
        sr_form_add(form, "metadata[installation_id]", in->installation_id);
    }
    stripe_request(p, c, &req, "POST", "/v1/payment_intents", form, in->idempotency_key);

    stripe_perform(p, c, &req, &a);
    status = stripe_verdict(&a, &out->permanent);
    /* A refusal is stored in Stripe's words (the card's message); anything else says what Stripe answered. */
    out->error = status == SR_INVALID && a.message ? a.message : a.error;
    out->error_type = a.error_type;
    out->error_code = a.error_code;
    /* Stripe keeps its own 5xx under the key (a proxy's non-JSON page is not Stripe's, and is not kept). */
    out->key_spent = status == SR_UNAVAILABLE && a.doc && a.status >= 500;
    if (status == SR_OK) {
        if (sr_json_get_string(a.doc, "id", &out->id) != SR_JSON_FOUND ||
            sr_json_get_string(a.doc, "status", &out->status) != SR_JSON_FOUND) {
            out->error = "Stripe answered without a PaymentIntent id and status";
            return SR_UNAVAILABLE;
        }
        return SR_OK;
    }
    if (a.error_obj && (intent = sr_json_get_object(a.error_obj, "payment_intent"))) {
        sr_json_get_string(intent, "id", &out->id);
        sr_json_get_string(intent, "status", &out->status);
    }
    /* Only a card_error is the card's verdict; a bare 402 is Stripe's "request failed" for a payment. */
    out->card_declined = status == SR_INVALID && (a.error_type ? !strcmp(a.error_type, "card_error") : a.status == 402);
    return status;
}

/* Whether a listed PaymentIntent is the one asked for this deposit (baton: the sr_stripe_intent_request_t). */
static int intent_matches(const sr_json_t *pi, const void *baton)
{
    const sr_stripe_intent_request_t *in = baton;
    sr_json_t *metadata = sr_json_get_object(pi, "metadata");
    const char *payment_id = NULL, *installation_id = NULL, *currency = NULL, *status = NULL;
    apr_int64_t amount = -1;

    if (!metadata) {
        return 0;
    }
    sr_json_get_string(metadata, "payment_id", &payment_id);
    sr_json_get_string(metadata, "installation_id", &installation_id);
    sr_json_get_int(pi, "amount", &amount);
    sr_json_get_string(pi, "currency", &currency);
    sr_json_get_string(pi, "status", &status);
    return payment_id && !strcmp(payment_id, in->payment_id) &&
           (in->installation_id ? installation_id && !strcmp(installation_id, in->installation_id)
                                : !installation_id) &&
           amount == in->amount && currency && !strcasecmp(currency, in->currency) && status &&
           strcmp(status, "canceled");
}

typedef int stripe_list_match_fn(const sr_json_t *object, const void *baton);

/*
 * Walks a Stripe list (path ends in a query, 100 objects a page, at most
 * SR_STRIPE_LIST_PAGES pages) for the first object `matches` accepts: SR_OK
 * with *found, SR_NOT_FOUND after the last page, SR_UNAVAILABLE with *error
 * when Stripe did not answer a page (or the list is too long to walk).
 */
static sr_status_t stripe_list_find(apr_pool_t *p, const sr_stripe_client_t *c, const char *path,
                                    stripe_list_match_fn *matches, const void *baton, sr_json_t **found, int *permanent,
                                    const char **error)
{
    const char *after = NULL;
    int page;

    *found = NULL;
    for (page = 0; page < SR_STRIPE_LIST_PAGES; page++) {
        sr_http_request_t req;
        stripe_answer_t a;
        sr_json_t *data;
        apr_size_t i, n;
        int has_more = 0;

        stripe_request(p, c, &req, "GET",
                       apr_pstrcat(p, path, "&limit=100", after ? "&starting_after=" : "",
                                   after ? apr_pescape_urlencoded(p, after) : "", (char *)NULL),
                       NULL, NULL);
        stripe_perform(p, c, &req, &a);
        if (stripe_verdict(&a, permanent) != SR_OK) {
            *error = a.error;
            return SR_UNAVAILABLE;
        }
        data = sr_json_get_object(a.doc, "data");
        n = sr_json_array_size(data);
        for (i = 0; i < n; i++) {
            sr_json_t *object = sr_json_array_get(data, i);

            if (object && matches(object, baton)) {
                *found = object;
                return SR_OK;
            }
        }
        sr_json_get_bool(a.doc, "has_more", &has_more);
        if (!has_more || n == 0 || sr_json_get_string(sr_json_array_get(data, n - 1), "id", &after) != SR_JSON_FOUND) {
            return SR_NOT_FOUND;
        }
    }
    *error = "too many objects to list";
    return SR_UNAVAILABLE;
}

sr_status_t sr_stripe_client_find_payment_intent(apr_pool_t *p, const sr_stripe_client_t *c,
                                                 const sr_stripe_intent_request_t *in, sr_stripe_intent_t *out)
{
    const char *error = NULL;
    sr_json_t *pi, *last_error;
    sr_status_t status;

    memset(out, 0, sizeof(*out));
    if (!c->secret_key) {
        out->error = SR_STRIPE_NOT_CONFIGURED;
        return SR_UNAVAILABLE;
    }
    status = stripe_list_find(
        p, c, apr_pstrcat(p, "/v1/payment_intents?customer=", apr_pescape_urlencoded(p, in->customer), (char *)NULL),
        intent_matches, in, &pi, &out->permanent, &error);
    if (status == SR_UNAVAILABLE) {
        out->error = apr_pstrcat(p, "cannot look the PaymentIntent up: ", error, (char *)NULL);
    }
    if (status != SR_OK) {
        return status;
    }
    if (sr_json_get_string(pi, "id", &out->id) != SR_JSON_FOUND ||
        sr_json_get_string(pi, "status", &out->status) != SR_JSON_FOUND) {
        out->id = out->status = NULL;
        out->error = "Stripe listed a PaymentIntent without an id and status";
        return SR_UNAVAILABLE;
    }
    last_error = sr_json_get_object(pi, "last_payment_error");
    if (!strcmp(out->status, "requires_payment_method") && last_error) {
        /* What the creation would have answered with its 402: the card's refusal. */
        sr_json_get_string(last_error, "message", &out->error);
        sr_json_get_string(last_error, "type", &out->error_type);
        sr_json_get_string(last_error, "code", &out->error_code);
        out->card_declined = out->error_type && !strcmp(out->error_type, "card_error");
        if (!out->error) {
            out->error = "the card was refused";
        }
        return SR_INVALID;
    }
    return SR_OK;
}

/* --- refunds ---------------------------------------------------------------------------- */

/* Reads a Refund object into out. */
static sr_status_t refund_object(const sr_json_t *doc, sr_stripe_refund_t *out)
{
    if (sr_json_get_string(doc, "id", &out->id) != SR_JSON_FOUND ||
        sr_json_get_string(doc, "status", &out->status) != SR_JSON_FOUND ||
        sr_json_get_int(doc, "amount", &out->amount) != SR_JSON_FOUND) {
        out->id = out->status = NULL;
        out->error = "Stripe answered without a Refund id, status and amount";
        return SR_UNAVAILABLE;
    }
    sr_json_get_string(doc, "failure_reason", &out->failure_reason);
    return SR_OK;
}

static sr_status_t refund_answer(const stripe_answer_t *a, sr_stripe_refund_t *out)
{
    sr_status_t status = stripe_verdict(a, &out->permanent);

    out->error = status == SR_INVALID && a->message ? a->message : a->error;
    out->key_spent = status == SR_UNAVAILABLE && a->doc && a->status >= 500;
    return status == SR_OK ? refund_object(a->doc, out) : status;
}

/* Whether a listed Refund is the one asked for this payment, and may still stand (baton: the request). */
static int refund_matches(const sr_json_t *re, const void *baton)
{
    const sr_stripe_refund_request_t *in = baton;
    sr_json_t *metadata = sr_json_get_object(re, "metadata");
    const char *payment_id = NULL, *installation_id = NULL, *status = NULL;

    if (!metadata) {
        return 0;
    }
    sr_json_get_string(metadata, "payment_id", &payment_id);
    sr_json_get_string(metadata, "installation_id", &installation_id);
    sr_json_get_string(re, "status", &status);
    return payment_id && !strcmp(payment_id, in->payment_id) && installation_id && in->installation_id &&
           !strcmp(installation_id, in->installation_id) && status && strcmp(status, "failed") &&
           strcmp(status, "canceled");
}

sr_status_t sr_stripe_client_find_refund(apr_pool_t *p, const sr_stripe_client_t *c,
                                         const sr_stripe_refund_request_t *in, sr_stripe_refund_t *out)
{
    const char *error = NULL;
    sr_json_t *re;
    sr_status_t status;

    memset(out, 0, sizeof(*out));
    if (!c->secret_key) {
        out->error = SR_STRIPE_NOT_CONFIGURED;
        return SR_UNAVAILABLE;
    }
    status = stripe_list_find(
        p, c,
        apr_pstrcat(p, "/v1/refunds?payment_intent=", apr_pescape_urlencoded(p, in->payment_intent), (char *)NULL),
        refund_matches, in, &re, &out->permanent, &error);
    if (status == SR_UNAVAILABLE) {
        out->error = apr_pstrcat(p, "cannot look the refund up: ", error, (char *)NULL);
    }
    return status == SR_OK ? refund_object(re, out) : status;
}

sr_status_t sr_stripe_client_create_refund(apr_pool_t *p, const sr_stripe_client_t *c,
                                           const sr_stripe_refund_request_t *in, sr_stripe_refund_t *out)
{
    sr_http_request_t req;
    sr_form_t *form = sr_form_make(p);
    stripe_answer_t a;

    memset(out, 0, sizeof(*out));
    if (!c->secret_key) {
        out->error = SR_STRIPE_NOT_CONFIGURED;
        return SR_UNAVAILABLE;
    }
    sr_form_add(form, "payment_intent", in->payment_intent);
    sr_form_add(form, "amount", apr_psprintf(p, "%" APR_INT64_T_FMT, in->amount));
    sr_form_add(form, "metadata[installation_id]", in->installation_id);
    sr_form_add(form, "metadata[payment_id]", in->payment_id);
    sr_form_add(form, "metadata[reason]", "booking_no_longer_stands");
    stripe_request(p, c, &req, "POST", "/v1/refunds", form, in->idempotency_key);
    stripe_perform(p, c, &req, &a);
    return refund_answer(&a, out);
}

sr_status_t sr_stripe_client_get_refund(apr_pool_t *p, const sr_stripe_client_t *c, const char *refund_id,
                                        sr_stripe_refund_t *out)
{
    sr_http_request_t req;
    stripe_answer_t a;

    memset(out, 0, sizeof(*out));
    if (!c->secret_key) {
        out->error = SR_STRIPE_NOT_CONFIGURED;
        return SR_UNAVAILABLE;
    }
    stripe_request(p, c, &req, "GET",
                   apr_pstrcat(p, "/v1/refunds/", apr_pescape_path_segment(p, refund_id), (char *)NULL), NULL, NULL);
    stripe_perform(p, c, &req, &a);
    return refund_answer(&a, out);
}
