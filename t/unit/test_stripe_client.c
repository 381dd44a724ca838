/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/sr_stripe_client: the requests the module sends Stripe (URL, method,
 * exact form body and its order, Bearer key, Idempotency-Key) and what it
 * makes of the answers, through a fake sr_http_client_t (fake_http.h).
 *
 * The answers follow Stripe's API reference: the PaymentIntent object
 * (docs.stripe.com/api/payment_intents/object), the Refund object
 * (docs.stripe.com/api/refunds/object: status pending, requires_action,
 * succeeded, failed, canceled; failure_reason), list pages ("object": "list",
 * data, has_more, url; docs.stripe.com/api/pagination) and errors
 * (docs.stripe.com/api/errors: {"error": {type, code, decline_code, message,
 * payment_intent, ...}}; 402 "Request Failed", 401 "No valid API key
 * provided", 5xx). Ids are shaped as Stripe's, values invented.
 */
#include "fake_http.h"

#include "sr_stripe_client.h"

#define BASE "https://api.stripe.com"
#define KEY "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
#define IKEY "slotrecovery-7b0c3e9a-payment-12-Qm9vaw"

#define PI_SUCCEEDED                                                                                                   \
    "{\"id\":\"pi_3MtwBwLkdIwHu7ix28a3tqPa\",\"object\":\"payment_intent\",\"amount\":2500,"                           \
    "\"amount_received\":2500,\"capture_method\":\"automatic\",\"client_secret\":\"pi_3MtwBwLkdIwHu7ix28a3tqPa_"       \
    "secret_YrKJUKribcBjcG8HVhfZluoGH\",\"confirmation_method\":\"automatic\",\"created\":1680800504,"                 \
    "\"currency\":\"usd\",\"customer\":\"cus_NffrFeUfNV2Hib\",\"description\":\"Deposit for a recovered "              \
    "appointment\",\"last_payment_error\":null,\"latest_charge\":\"ch_3MtwBwLkdIwHu7ix0snN0B15\",\"livemode\":false,"  \
    "\"metadata\":{\"appointment_id\":\"41\",\"slot_opening_id\":\"7\",\"payment_id\":\"12\",\"installation_id\":"     \
    "\"7b0c3e9a\"},\"next_action\":null,\"payment_method\":\"pm_1MtwBwLkdIwHu7ixKEHDq1ee\","                           \
    "\"payment_method_types\":[\"card\"],\"status\":\"succeeded\"}"

/* 3-D Secure wanted: an off-session confirm that needs the customer (status requires_action, 200). */
#define PI_REQUIRES_ACTION                                                                                             \
    "{\"id\":\"pi_3MtwBwLkdIwHu7ix0RequAct\",\"object\":\"payment_intent\",\"amount\":2500,\"currency\":\"usd\","      \
    "\"customer\":\"cus_NffrFeUfNV2Hib\",\"next_action\":{\"type\":\"use_stripe_sdk\",\"use_stripe_sdk\":{}},"         \
    "\"metadata\":{\"payment_id\":\"12\"},\"status\":\"requires_action\"}"

/* A declined card: 402, error.type card_error, the PaymentIntent it left in error.payment_intent. */
#define CARD_DECLINED                                                                                                  \
    "{\"error\":{\"charge\":\"ch_3MtwBwLkdIwHu7ix1dMnsDcl\",\"code\":\"card_declined\",\"decline_code\":"              \
    "\"insufficient_funds\",\"doc_url\":\"https://stripe.com/docs/error-codes/card-declined\",\"message\":\"Your "     \
    "card has insufficient funds.\",\"payment_intent\":{\"id\":\"pi_3MtwBwLkdIwHu7ix1Declined\",\"object\":"           \
    "\"payment_intent\",\"amount\":2500,\"currency\":\"usd\",\"last_payment_error\":{\"code\":\"card_declined\","      \
    "\"decline_code\":\"insufficient_funds\",\"message\":\"Your card has insufficient funds.\",\"type\":"              \
    "\"card_error\"},\"status\":\"requires_payment_method\"},\"request_log_url\":\"https://dashboard.stripe.com/test/" \
    "logs/req_xBZ3Dv7wWBlqoB?t=1680800504\",\"type\":\"card_error\"}}"

#define INVALID_KEY                                                                                                    \
    "{\"error\":{\"message\":\"Invalid API Key provided: sk_test_********************p7dc\",\"type\":"                 \
    "\"invalid_request_error\"}}"

#define API_ERROR "{\"error\":{\"message\":\"An unknown error occurred\",\"type\":\"api_error\"}}"

#define AMOUNT_TOO_SMALL                                                                                               \
    "{\"error\":{\"code\":\"amount_too_small\",\"doc_url\":\"https://stripe.com/docs/error-codes/amount-too-small\","  \
    "\"message\":\"Amount must be at least $0.50 usd\",\"param\":\"amount\",\"type\":\"invalid_request_error\"}}"

static sr_stripe_client_t client(fake_http_t *f, const char *key)
{
    sr_stripe_client_t c = {BASE, key, apr_time_from_sec(10), &f->client, &f->logger};

    return c;
}

static sr_stripe_intent_request_t deposit(const char *installation_id)
{
    sr_stripe_intent_request_t in = {2500, "usd", "cus_NffrFeUfNV2Hib", "pm_1MtwBwLkdIwHu7ixKEHDq1ee", IKEY, "41",
                                     "7",  "12",  installation_id};

    return in;
}

/* The one request of a call: a POST or a GET as Stripe wants it. */
static void assert_stripe_request(const sr_http_request_t *req, const char *method, const char *url,
                                  const char *idempotency_key)
{
    ck_assert_str_eq(req->method, method);
    ck_assert_str_eq(req->url, url);
    ck_assert_str_eq(req->bearer_token, KEY);
    ck_assert_ptr_null(req->basic_user);
    ck_assert_int_eq(req->timeout, apr_time_from_sec(10));
    if (idempotency_key) {
        ck_assert_int_eq(fake_header_count(req), 1);
        ck_assert_str_eq(apr_table_get(req->headers, "Idempotency-Key"), idempotency_key);
    }
    else {
        ck_assert_int_eq(fake_header_count(req), 0);
    }
}

/* --- creating a PaymentIntent --------------------------------------------------------------------- */

START_TEST(test_create_succeeded)
{
    fake_http_t *f = fake_http(FAKE_ANSWERS({200, PI_SUCCEEDED}), 1, 0);
    sr_stripe_client_t c = client(f, KEY);
    sr_stripe_intent_request_t in = deposit("7b0c3e9a");
    sr_stripe_intent_t out;

    ck_assert_int_eq(sr_stripe_client_create_payment_intent(pool, &c, &in, &out), SR_OK);
    ck_assert_int_eq(f->n_reqs, 1);
    assert_stripe_request(&f->reqs[0], "POST", BASE "/v1/payment_intents", IKEY);
    /* The exact body, in this order: what t/stubs/fake_stripe.py and Stripe read. */
    ck_assert_str_eq(f->reqs[0].form, "amount=2500&currency=usd&customer=cus_NffrFeUfNV2Hib"
                                      "&payment_method=pm_1MtwBwLkdIwHu7ixKEHDq1ee&confirm=true&off_session=true"
                                      "&description=Deposit+for+a+recovered+appointment"
                                      "&metadata%5bappointment_id%5d=41&metadata%5bslot_opening_id%5d=7"
                                      "&metadata%5bpayment_id%5d=12&metadata%5binstallation_id%5d=7b0c3e9a");
    ck_assert_str_eq(out.id, "pi_3MtwBwLkdIwHu7ix28a3tqPa");
    ck_assert_str_eq(out.status, "succeeded");
    ck_assert_ptr_null(out.error);
    ck_assert_int_eq(out.card_declined + out.permanent + out.key_spent, 0);
    ck_assert_str_eq(f->log, ""); /* a success is not logged */
}
END_TEST

START_TEST(test_create_without_installation)
{
    fake_http_t *f = fake_http(FAKE_ANSWERS({200, PI_SUCCEEDED}), 1, 0);
    sr_stripe_client_t c = client(f, KEY);
    sr_stripe_intent_request_t in = deposit(NULL);
    sr_stripe_intent_t out;

    ck_assert_int_eq(sr_stripe_client_create_payment_intent(pool, &c, &in, &out), SR_OK);
    /* A payment from before migration 007: no metadata[installation_id] at all. */
    ck_assert_ptr_null(strstr(f->reqs[0].form, "installation_id"));
    ck_assert_ptr_nonnull(strstr(f->reqs[0].form, "&metadata%5bpayment_id%5d=12"));
}
END_TEST

START_TEST(test_create_requires_action)
{
    fake_http_t *f = fake_http(FAKE_ANSWERS({200, PI_REQUIRES_ACTION}), 1, 0);
    sr_stripe_client_t c = client(f, KEY);
    sr_stripe_intent_request_t in = deposit("7b0c3e9a");
    sr_stripe_intent_t out;

    /* Stripe answered: SR_OK, the status says what is next (the caller's decision). */
    ck_assert_int_eq(sr_stripe_client_create_payment_intent(pool, &c, &in, &out), SR_OK);
    ck_assert_str_eq(out.status, "requires_action");
    ck_assert_str_eq(out.id, "pi_3MtwBwLkdIwHu7ix0RequAct");
    ck_assert_int_eq(out.card_declined, 0);
}
END_TEST

START_TEST(test_create_card_declined)
{
    fake_http_t *f = fake_http(FAKE_ANSWERS({402, CARD_DECLINED}), 1, 0);
    sr_stripe_client_t c = client(f, KEY);
    sr_stripe_intent_request_t in = deposit("7b0c3e9a");
    sr_stripe_intent_t out;

    ck_assert_int_eq(sr_stripe_client_create_payment_intent(pool, &c, &in, &out), SR_INVALID);
    ck_assert_int_eq(out.card_declined, 1);
    ck_assert_int_eq(out.permanent, 0);
    ck_assert_int_eq(out.key_spent, 0);
    /* In Stripe's words, and the PaymentIntent the refusal left. */
    ck_assert_str_eq(out.error, "Your card has insufficient funds.");
    ck_assert_str_eq(out.error_type, "card_error");
    ck_assert_str_eq(out.error_code, "card_declined");
    ck_assert_str_eq(out.id, "pi_3MtwBwLkdIwHu7ix1Declined");
    ck_assert_str_eq(out.status, "requires_payment_method");
    ck_assert_str_eq(f->log, "7 Stripe POST " BASE "/v1/payment_intents: Stripe answered 402: Your card has "
                             "insufficient funds. [card_error card_declined]\n");
}
END_TEST

START_TEST(test_create_refused_request)
{
    fake_http_t *f =
        fake_http(FAKE_ANSWERS({400, AMOUNT_TOO_SMALL}, {402, "{\"error\":{\"message\":\"failed\"}}"}), 2, 0);
    sr_stripe_client_t c = client(f, KEY);
    sr_stripe_intent_request_t in = deposit("7b0c3e9a");
    sr_stripe_intent_t out;

    /* The request itself refused: the shop's setup, not the customer's card. */
    ck_assert_int_eq(sr_stripe_client_create_payment_intent(pool, &c, &in, &out), SR_INVALID);
    ck_assert_int_eq(out.card_declined, 0);
    ck_assert_str_eq(out.error, "Amount must be at least $0.50 usd");
    ck_assert_str_eq(out.error_type, "invalid_request_error");
    ck_assert_str_eq(out.error_code, "amount_too_small");
    ck_assert_ptr_null(out.id);
    /* A 402 without a type is still Stripe's "request failed" of a payment: the card's. */
    ck_assert_int_eq(sr_stripe_client_create_payment_intent(pool, &c, &in, &out), SR_INVALID);
    ck_assert_int_eq(out.card_declined, 1);
    ck_assert_str_eq(out.error, "failed");
}
END_TEST

START_TEST(test_create_key_refused)
{
    fake_http_t *f = fake_http(FAKE_ANSWERS({401, INVALID_KEY}, {403, INVALID_KEY}), 2, 0);
    sr_stripe_client_t c = client(f, KEY);
    sr_stripe_intent_request_t in = deposit("7b0c3e9a");
    sr_stripe_intent_t out;

    ck_assert_int_eq(sr_stripe_client_create_payment_intent(pool, &c, &in, &out), SR_UNAVAILABLE);
    ck_assert_int_eq(out.permanent, 1);
    ck_assert_int_eq(out.key_spent, 0);
    ck_assert_int_eq(out.card_declined, 0);
    ck_assert_str_eq(out.error, "Stripe answered 401: Invalid API Key provided: sk_test_********************p7dc");
    ck_assert_int_eq(sr_stripe_client_create_payment_intent(pool, &c, &in, &out), SR_UNAVAILABLE);
    ck_assert_int_eq(out.permanent, 1);
    /* The key itself is never logged. */
    ck_assert_ptr_null(strstr(f->log, KEY));
}
END_TEST

START_TEST(test_create_server_errors)
{
    fake_http_t *f = fake_http(FAKE_ANSWERS({500, API_ERROR}, {502, "<html><body>502 Bad Gateway</body></html>"},
                                            {429, "{\"error\":{\"message\":\"Too many requests\",\"type\":"
                                                  "\"invalid_request_error\",\"code\":\"rate_limit\"}}"},
                                            {409, "{\"error\":{\"message\":\"Keys for idempotent requests can only be "
                                                  "used with the same parameters\",\"type\":\"idempotency_error\"}}"}),
                               4, 0);
    sr_stripe_client_t c = client(f, KEY);
    sr_stripe_intent_request_t in = deposit("7b0c3e9a");
    sr_stripe_intent_t out;

    /* Stripe's own 5xx: kept under the Idempotency-Key, replayed to every retry with it. */
    ck_assert_int_eq(sr_stripe_client_create_payment_intent(pool, &c, &in, &out), SR_UNAVAILABLE);
    ck_assert_int_eq(out.key_spent, 1);
    ck_assert_int_eq(out.permanent, 0);
    ck_assert_str_eq(out.error, "Stripe answered 500: An unknown error occurred");
    /* A proxy's page is not Stripe's answer: the key is not spent. */
    ck_assert_int_eq(sr_stripe_client_create_payment_intent(pool, &c, &in, &out), SR_UNAVAILABLE);
    ck_assert_int_eq(out.key_spent, 0);
    ck_assert_str_eq(out.error, "Stripe answered 502 with no JSON object");
    /* 429 and 409: later may work. */
    ck_assert_int_eq(sr_stripe_client_create_payment_intent(pool, &c, &in, &out), SR_UNAVAILABLE);
    ck_assert_int_eq(out.key_spent + out.permanent + out.card_declined, 0);
    ck_assert_int_eq(sr_stripe_client_create_payment_intent(pool, &c, &in, &out), SR_UNAVAILABLE);
    ck_assert_int_eq(out.key_spent + out.permanent + out.card_declined, 0);
    ck_assert_str_eq(out.error_type, "idempotency_error");
}
END_TEST

START_TEST(test_create_no_answer)
{
    fake_http_t *f =
        fake_http(FAKE_ANSWERS({0, "Timeout was reached"}, {200, "{\"object\":\"payment_intent\"}"}), 2, 0);
    sr_stripe_client_t c = client(f, KEY);
    sr_stripe_intent_request_t in = deposit("7b0c3e9a");
    sr_stripe_intent_t out;

    ck_assert_int_eq(sr_stripe_client_create_payment_intent(pool, &c, &in, &out), SR_UNAVAILABLE);
    ck_assert_str_eq(out.error, "Stripe unreachable: Timeout was reached");
    ck_assert_int_eq(out.key_spent + out.permanent + out.card_declined, 0);
    /* A 200 without id and status is not a PaymentIntent. */
    ck_assert_int_eq(sr_stripe_client_create_payment_intent(pool, &c, &in, &out), SR_UNAVAILABLE);
    ck_assert_str_eq(out.error, "Stripe answered without a PaymentIntent id and status");
}
END_TEST

START_TEST(test_create_refused_before_asking)
{
    fake_http_t *f = fake_http(NULL, 0, 0);
    sr_stripe_client_t c = client(f, NULL);
    sr_stripe_intent_request_t in = deposit("7b0c3e9a");
    sr_stripe_intent_t out;

    ck_assert_int_eq(sr_stripe_client_create_payment_intent(pool, &c, &in, &out), SR_UNAVAILABLE);
    ck_assert_str_eq(out.error, "Stripe is not configured (SlotRecoveryStripeSecretKey)");
    c.secret_key = KEY;
    in.idempotency_key = NULL;
    ck_assert_int_eq(sr_stripe_client_create_payment_intent(pool, &c, &in, &out), SR_UNAVAILABLE);
    ck_assert_str_eq(out.error, "no Idempotency-Key: table installation has no row (migration 005)");
    ck_assert_int_eq(f->n_reqs, 0);
}
END_TEST

/* --- finding an earlier PaymentIntent ------------------------------------------------------------ */

#define LISTED(id, payment_id, installation, amount, currency, status)                                                 \
    "{\"id\":\"" id "\",\"object\":\"payment_intent\",\"amount\":" amount ",\"currency\":\"" currency "\","            \
    "\"customer\":\"cus_NffrFeUfNV2Hib\",\"metadata\":{\"payment_id\":\"" payment_id "\"" installation "},"            \
    "\"last_payment_error\":null,\"status\":\"" status "\"}"
#define INST ",\"installation_id\":\"7b0c3e9a\""
#define PAGE(has_more, ...)                                                                                            \
    "{\"object\":\"list\",\"data\":[" __VA_ARGS__ "],\"has_more\":" has_more ",\"url\":\"/v1/payment_intents\"}"

START_TEST(test_find_intent_paged)
{
    fake_http_t *f = fake_http(
        FAKE_ANSWERS(
            {200, PAGE("true", LISTED("pi_A", "11", INST, "2500", "usd", "succeeded") ","
                       /* ours, but canceled: not counted */
                       LISTED("pi_B", "12", INST, "2500", "usd", "canceled"))},
            {200, PAGE("false", LISTED("pi_C", "12", "", "2500", "usd", "succeeded") "," LISTED(
                                    "pi_D", "12", INST, "2400", "usd",
                                    "succeeded") "," LISTED("pi_E", "12", INST, "2500", "USD", "processing"))}),
        2, 0);
    sr_stripe_client_t c = client(f, KEY);
    sr_stripe_intent_request_t in = deposit("7b0c3e9a");
    sr_stripe_intent_t out;

    /* pi_C lacks the installation id, pi_D the amount; pi_E matches (currency in any case). */
    ck_assert_int_eq(sr_stripe_client_find_payment_intent(pool, &c, &in, &out), SR_OK);
    ck_assert_str_eq(out.id, "pi_E");
    ck_assert_str_eq(out.status, "processing");
    ck_assert_int_eq(f->n_reqs, 2);
    assert_stripe_request(&f->reqs[0], "GET", BASE "/v1/payment_intents?customer=cus_NffrFeUfNV2Hib&limit=100", NULL);
    ck_assert_ptr_null(f->reqs[0].form);
    /* The next page starts after the last object of this one. */
    assert_stripe_request(&f->reqs[1], "GET",
                          BASE "/v1/payment_intents?customer=cus_NffrFeUfNV2Hib&limit=100&starting_after=pi_B", NULL);
}
END_TEST

START_TEST(test_find_intent_before_migration_007)
{
    fake_http_t *f =
        fake_http(FAKE_ANSWERS({200, PAGE("false", LISTED("pi_A", "12", INST, "2500", "usd", "succeeded") "," LISTED(
                                                       "pi_C", "12", "", "2500", "usd", "succeeded"))}),
                  1, 0);
    sr_stripe_client_t c = client(f, KEY);
    sr_stripe_intent_request_t in = deposit(NULL);
    sr_stripe_intent_t out;

    /* No installation id asked: only an intent without one matches. */
    ck_assert_int_eq(sr_stripe_client_find_payment_intent(pool, &c, &in, &out), SR_OK);
    ck_assert_str_eq(out.id, "pi_C");
}
END_TEST

START_TEST(test_find_intent_none)
{
    fake_http_t *f = fake_http(
        FAKE_ANSWERS({200, PAGE("false", LISTED("pi_A", "11", INST, "2500", "usd", "succeeded"))}, {200, PAGE("true")}),
        2, 0);
    sr_stripe_client_t c = client(f, KEY);
    sr_stripe_intent_request_t in = deposit("7b0c3e9a");
    sr_stripe_intent_t out;

    ck_assert_int_eq(sr_stripe_client_find_payment_intent(pool, &c, &in, &out), SR_NOT_FOUND);
    ck_assert_int_eq(f->n_reqs, 1);
    /* An empty page ends the walk even if has_more says otherwise. */
    ck_assert_int_eq(sr_stripe_client_find_payment_intent(pool, &c, &in, &out), SR_NOT_FOUND);
    ck_assert_int_eq(f->n_reqs, 2);
}
END_TEST

START_TEST(test_find_intent_declined)
{
    fake_http_t *f = fake_http(
        FAKE_ANSWERS({200, PAGE("false", "{\"id\":\"pi_F\",\"object\":\"payment_intent\",\"amount\":2500,\"currency\":"
                                         "\"usd\",\"metadata\":{\"payment_id\":\"12\"" INST "},\"last_payment_error\":"
                                         "{\"code\":\"card_declined\",\"decline_code\":\"generic_decline\",\"message\":"
                                         "\"Your card was declined.\",\"type\":\"card_error\"},\"status\":"
                                         "\"requires_payment_method\"}")}),
        1, 0);
    sr_stripe_client_t c = client(f, KEY);
    sr_stripe_intent_request_t in = deposit("7b0c3e9a");
    sr_stripe_intent_t out;

    /* As the creation's 402 would have said. */
    ck_assert_int_eq(sr_stripe_client_find_payment_intent(pool, &c, &in, &out), SR_INVALID);
    ck_assert_str_eq(out.id, "pi_F");
    ck_assert_int_eq(out.card_declined, 1);
    ck_assert_str_eq(out.error, "Your card was declined.");
    ck_assert_str_eq(out.error_code, "card_declined");
}
END_TEST

START_TEST(test_find_intent_unavailable)
{
    fake_http_t *f = fake_http(FAKE_ANSWERS({200, PAGE("true", LISTED("pi_A", "11", INST, "2500", "usd", "succeeded"))},
                                            {500, API_ERROR}, {401, INVALID_KEY}),
                               3, 0);
    sr_stripe_client_t c = client(f, KEY);
    sr_stripe_intent_request_t in = deposit("7b0c3e9a");
    sr_stripe_intent_t out;

    ck_assert_int_eq(sr_stripe_client_find_payment_intent(pool, &c, &in, &out), SR_UNAVAILABLE);
    ck_assert_str_eq(out.error, "cannot look the PaymentIntent up: Stripe answered 500: An unknown error occurred");
    ck_assert_int_eq(out.permanent, 0);
    ck_assert_int_eq(out.key_spent, 0); /* a GET spends no key */
    ck_assert_int_eq(sr_stripe_client_find_payment_intent(pool, &c, &in, &out), SR_UNAVAILABLE);
    ck_assert_int_eq(out.permanent, 1);
}
END_TEST

START_TEST(test_find_intent_too_long)
{
    fake_answer_t pages[SR_STRIPE_LIST_PAGES];
    fake_http_t *f;
    sr_stripe_client_t c;
    sr_stripe_intent_request_t in = deposit("7b0c3e9a");
    sr_stripe_intent_t out;
    int i;

    for (i = 0; i < SR_STRIPE_LIST_PAGES; i++) {
        pages[i].status = 200;
        pages[i].body = PAGE("true", LISTED("pi_A", "11", INST, "2500", "usd", "succeeded"));
    }
    f = fake_http(pages, SR_STRIPE_LIST_PAGES, 0);
    c = client(f, KEY);
    ck_assert_int_eq(sr_stripe_client_find_payment_intent(pool, &c, &in, &out), SR_UNAVAILABLE);
    ck_assert_str_eq(out.error, "cannot look the PaymentIntent up: too many objects to list");
    ck_assert_int_eq(f->n_reqs, SR_STRIPE_LIST_PAGES);
}
END_TEST

/* --- refunds ---------------------------------------------------------------------------------------- */

#define REFUND(id, status, extra)                                                                                      \
    "{\"id\":\"" id "\",\"object\":\"refund\",\"amount\":2500,\"balance_transaction\":"                                \
    "\"txn_1Nispe2eZvKYlo2CYezqFhEx\",\"charge\":\"ch_3MtwBwLkdIwHu7ix0snN0B15\",\"created\":1692942318,"              \
    "\"currency\":\"usd\",\"metadata\":{\"installation_id\":\"7b0c3e9a\",\"payment_id\":\"12\",\"reason\":"            \
    "\"booking_no_longer_stands\"},\"payment_intent\":\"pi_3MtwBwLkdIwHu7ix28a3tqPa\",\"reason\":null,"                \
    "\"receipt_number\":null,\"status\":\"" status "\"" extra "}"
#define RIKEY "slotrecovery-7b0c3e9a-refund-12"

static sr_stripe_refund_request_t refund_of_deposit(void)
{
    sr_stripe_refund_request_t in = {"pi_3MtwBwLkdIwHu7ix28a3tqPa", 2500, RIKEY, "7b0c3e9a", "12"};

    return in;
}

START_TEST(test_refund_create)
{
    fake_http_t *f =
        fake_http(FAKE_ANSWERS({200, REFUND("re_1", "pending", "")}, {200, REFUND("re_2", "succeeded", "")},
                               {200, REFUND("re_3", "failed", ",\"failure_reason\":\"expired_or_canceled_card\"")}),
                  3, 0);
    sr_stripe_client_t c = client(f, KEY);
    sr_stripe_refund_request_t in = refund_of_deposit();
    sr_stripe_refund_t out;

    ck_assert_int_eq(sr_stripe_client_create_refund(pool, &c, &in, &out), SR_OK);
    assert_stripe_request(&f->reqs[0], "POST", BASE "/v1/refunds", RIKEY);
    ck_assert_str_eq(f->reqs[0].form, "payment_intent=pi_3MtwBwLkdIwHu7ix28a3tqPa&amount=2500"
                                      "&metadata%5binstallation_id%5d=7b0c3e9a&metadata%5bpayment_id%5d=12"
                                      "&metadata%5breason%5d=booking_no_longer_stands");
    ck_assert_str_eq(out.id, "re_1");
    ck_assert_str_eq(out.status, "pending");
    ck_assert_int_eq(out.amount, 2500);
    ck_assert_ptr_null(out.failure_reason);
    ck_assert_int_eq(sr_stripe_client_create_refund(pool, &c, &in, &out), SR_OK);
    ck_assert_str_eq(out.status, "succeeded");
    /* A failed refund is still Stripe's answer: SR_OK, with the reason. */
    ck_assert_int_eq(sr_stripe_client_create_refund(pool, &c, &in, &out), SR_OK);
    ck_assert_str_eq(out.status, "failed");
    ck_assert_str_eq(out.failure_reason, "expired_or_canceled_card");
}
END_TEST

START_TEST(test_refund_create_errors)
{
    fake_http_t *f = fake_http(
        FAKE_ANSWERS({400,
                      "{\"error\":{\"code\":\"charge_already_refunded\",\"message\":\"Charge "
                      "ch_3MtwBwLkdIwHu7ix0snN0B15 has already been refunded.\",\"type\":\"invalid_request_error\"}}"},
                     {500, API_ERROR}, {401, INVALID_KEY}, {200, "{\"id\":\"re_4\",\"object\":\"refund\"}"},
                     {0, "Could not connect to server"}),
        5, 0);
    sr_stripe_client_t c = client(f, KEY);
    sr_stripe_refund_request_t in = refund_of_deposit();
    sr_stripe_refund_t out;

    ck_assert_int_eq(sr_stripe_client_create_refund(pool, &c, &in, &out), SR_INVALID);
    ck_assert_str_eq(out.error, "Charge ch_3MtwBwLkdIwHu7ix0snN0B15 has already been refunded.");
    ck_assert_int_eq(sr_stripe_client_create_refund(pool, &c, &in, &out), SR_UNAVAILABLE);
    ck_assert_int_eq(out.key_spent, 1);
    ck_assert_int_eq(sr_stripe_client_create_refund(pool, &c, &in, &out), SR_UNAVAILABLE);
    ck_assert_int_eq(out.permanent, 1);
    ck_assert_int_eq(out.key_spent, 0);
    ck_assert_int_eq(sr_stripe_client_create_refund(pool, &c, &in, &out), SR_UNAVAILABLE);
    ck_assert_str_eq(out.error, "Stripe answered without a Refund id, status and amount");
    ck_assert_ptr_null(out.id);
    ck_assert_int_eq(sr_stripe_client_create_refund(pool, &c, &in, &out), SR_UNAVAILABLE);
    ck_assert_str_eq(out.error, "Stripe unreachable: Could not connect to server");
}
END_TEST

START_TEST(test_refund_get)
{
    fake_http_t *f =
        fake_http(FAKE_ANSWERS({200, REFUND("re_1", "succeeded", "")},
                               {404, "{\"error\":{\"code\":\"resource_missing\",\"message\":\"No such "
                                     "refund: 're_x/..'\",\"param\":\"id\",\"type\":\"invalid_request_error\"}}"}),
                  2, 0);
    sr_stripe_client_t c = client(f, KEY);
    sr_stripe_refund_t out;

    ck_assert_int_eq(sr_stripe_client_get_refund(pool, &c, "re_1", &out), SR_OK);
    assert_stripe_request(&f->reqs[0], "GET", BASE "/v1/refunds/re_1", NULL);
    ck_assert_ptr_null(f->reqs[0].form);
    ck_assert_str_eq(out.status, "succeeded");
    /* The id is one path segment, whatever it holds. */
    ck_assert_int_eq(sr_stripe_client_get_refund(pool, &c, "re_x/..", &out), SR_INVALID);
    ck_assert_str_eq(f->reqs[1].url, BASE "/v1/refunds/re_x%2f..");
}
END_TEST

START_TEST(test_refund_find)
{
    fake_http_t *f = fake_http(
        FAKE_ANSWERS({200, "{\"object\":\"list\",\"data\":[" REFUND("re_1", "failed", "") "," REFUND(
                               "re_2", "canceled", "") "],\"has_more\":true,\"url\":\"/v1/refunds\"}"},
                     {200, "{\"object\":\"list\",\"data\":[" REFUND("re_3", "pending", "") "],\"has_more\":false,"
                                                                                           "\"url\":\"/v1/refunds\"}"},
                     {200, "{\"object\":\"list\",\"data\":[" REFUND("re_1", "failed", "") "],\"has_more\":false,"
                                                                                          "\"url\":\"/v1/refunds\"}"}),
        3, 0);
    sr_stripe_client_t c = client(f, KEY);
    sr_stripe_refund_request_t in = refund_of_deposit();
    sr_stripe_refund_t out;

    /* A failed or canceled refund does not stand: the walk goes on to re_3. */
    ck_assert_int_eq(sr_stripe_client_find_refund(pool, &c, &in, &out), SR_OK);
    ck_assert_str_eq(out.id, "re_3");
    ck_assert_str_eq(out.status, "pending");
    assert_stripe_request(&f->reqs[0], "GET", BASE "/v1/refunds?payment_intent=pi_3MtwBwLkdIwHu7ix28a3tqPa&limit=100",
                          NULL);
    assert_stripe_request(&f->reqs[1], "GET",
                          BASE "/v1/refunds?payment_intent=pi_3MtwBwLkdIwHu7ix28a3tqPa&limit=100&starting_after=re_2",
                          NULL);
    ck_assert_int_eq(sr_stripe_client_find_refund(pool, &c, &in, &out), SR_NOT_FOUND);
    /* Another installation's refund of the same intent is not ours. */
    in.installation_id = "another";
    f->answers = FAKE_ANSWERS({200, "{\"object\":\"list\",\"data\":[" REFUND(
                                        "re_3", "pending", "") "],"
                                                               "\"has_more\":false,\"url\":\"/v1/refunds\"}"});
    f->n_answers = 1;
    f->n_reqs = 0;
    ck_assert_int_eq(sr_stripe_client_find_refund(pool, &c, &in, &out), SR_NOT_FOUND);
}
END_TEST

static Suite *stripe_client_suite(void)
{
    Suite *s = suite_create("stripe_client");
    TCase *tc = unit_case(s, "payment_intents");

    tcase_add_test(tc, test_create_succeeded);
    tcase_add_test(tc, test_create_without_installation);
    tcase_add_test(tc, test_create_requires_action);
    tcase_add_test(tc, test_create_card_declined);
    tcase_add_test(tc, test_create_refused_request);
    tcase_add_test(tc, test_create_key_refused);
    tcase_add_test(tc, test_create_server_errors);
    tcase_add_test(tc, test_create_no_answer);
    tcase_add_test(tc, test_create_refused_before_asking);
    tc = unit_case(s, "lookups");
    tcase_add_test(tc, test_find_intent_paged);
    tcase_add_test(tc, test_find_intent_before_migration_007);
    tcase_add_test(tc, test_find_intent_none);
    tcase_add_test(tc, test_find_intent_declined);
    tcase_add_test(tc, test_find_intent_unavailable);
    tcase_add_test(tc, test_find_intent_too_long);
    tc = unit_case(s, "refunds");
    tcase_add_test(tc, test_refund_create);
    tcase_add_test(tc, test_refund_create_errors);
    tcase_add_test(tc, test_refund_get);
    tcase_add_test(tc, test_refund_find);
    return s;
}

SR_UNIT_MAIN(stripe_client_suite)
