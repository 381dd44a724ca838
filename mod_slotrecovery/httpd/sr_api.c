/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON API handlers. Each checks its input fully before touching the
 * database, then runs one unit of work; a refused request writes nothing.
 */
#include <apr_lib.h>

#include "sr_api.h"
#include "sr_db.h"
#include "sr_format.h"
#include "sr_offer_loop.h"
#include "sr_slots.h"
#include "sr_validate.h"
#include "sr_views.h"

#define SR_NAME_MAX 200
#define SR_DEPOSIT_MAX 99999999 /* Stripe's largest amount in minor units */
#define SR_TTL_DEFAULT "900"

/* What a unit of work hands back to its handler. */
typedef struct {
    const char *args[12]; /* validated input, in statement order */
    const char *id;       /* the row the work is about */
    sr_json_t *view;      /* the answer */
    const char *problem;  /* the message for a refusal */
} api_work_t;

static int answer(sr_req_t *req, sr_status_t status, int ok_status, const api_work_t *w)
{
    if (status == SR_OK) {
        return sr_send_json(req, ok_status, w->view);
    }
    return sr_send_status(req, status, w->problem ? w->problem : "request refused");
}

/* Acquires the database and runs work; answers 503 when PostgreSQL is away. */
static int run(sr_req_t *req, sr_db_work_fn *work, api_work_t *w, int transactional, int ok_status)
{
    sr_db_t *db = sr_db_acquire(req->r);
    sr_status_t status;

    if (!db) {
        return sr_send_status(req, SR_UNAVAILABLE, NULL);
    }
    status = transactional ? sr_db_transaction(db, work, w) : sr_db_read(db, work, w);
    return answer(req, status, ok_status, w);
}

static int read_fields(sr_req_t *req, sr_fields_t *f)
{
    sr_json_t *body = NULL;
    int rc = sr_read_json_object(req, &body);

    if (rc == OK) {
        sr_fields_init(f, req->r->pool, body);
    }
    return rc;
}

/* --- shops ------------------------------------------------------------------ */

/*
 * Why a deposit (minor units) cannot be charged in its currency: below
 * Stripe's minimum charge, which Stripe would refuse at YES time
 * (amount_too_small). NULL when it can, or is 0 (no deposit).
 */
static const char *deposit_problem(apr_pool_t *p, const char *amount, const char *currency)
{
    apr_int64_t deposit = apr_atoi64(amount), minimum = sr_stripe_minimum_charge(currency);
    const char *least;

    if (deposit == 0 || deposit >= minimum) {
        return NULL;
    }
    least = apr_psprintf(p, "%" APR_INT64_T_FMT, minimum);
    return apr_psprintf(p, "depositAmount: below Stripe's minimum charge for %s: at least %s (%s), or 0 for no deposit",
                        currency, least, sr_format_money(p, least, currency));
}

/* A timezone PostgreSQL does not know is refused by returning no row. */
static const sr_statement_t stmt_shop_insert = {
    "sr_shop_insert",
    "INSERT INTO shops AS s (name, timezone, sms_from, deposit_amount, currency, "
    "offer_ttl_seconds, quiet_hours_start, quiet_hours_end) "
    "SELECT %s, %s, %s, %s::bigint, %s, %s::integer, %s::time, %s::time "
    "WHERE EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = %s) "
    "RETURNING " SR_SHOP_COLUMNS,
    "id,name,timezone,smsFrom,depositAmount,currency,offerTtlSeconds,quietHoursStart,quietHoursEnd,createdAt,"
    "updatedAt"};
static sr_result_t *q_shop_insert(sr_db_t *db, const char *name, const char *timezone, const char *sms_from,
                                  const char *deposit_amount, const char *currency, const char *offer_ttl_seconds,
                                  const char *quiet_hours_start, const char *quiet_hours_end)
{
    return sr_db_select(db, &stmt_shop_insert,
                        SR_ARGS(name, timezone, sms_from, deposit_amount, currency, offer_ttl_seconds,
                                quiet_hours_start, quiet_hours_end, timezone));
}

static sr_status_t shop_create_work(sr_db_t *db, void *baton)
{
    api_work_t *w = baton;
    sr_result_t *res = q_shop_insert(db, w->args[0], w->args[1], w->args[2], w->args[3], w->args[4], w->args[5],
                                     w->args[6], w->args[7]);

    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        w->problem = "timezone: unknown time zone";
        return SR_INVALID;
    }
    w->view = sr_view_row(sr_db_pool(db), res, 0);
    return SR_OK;
}

int sr_api_shop_create(sr_req_t *req)
{
    api_work_t w = {.id = NULL};
    sr_fields_t f;
    int rc = read_fields(req, &f);

    if (rc != OK) {
        return rc;
    }
    w.args[5] = SR_TTL_DEFAULT;
    if (!(sr_field_text(&f, "name", 1, SR_NAME_MAX, &w.args[0]) && sr_field_timezone(&f, "timezone", 1, &w.args[1]) &&
          sr_field_phone(&f, "smsFrom", 1, &w.args[2]) &&
          sr_field_int(&f, "depositAmount", 1, 0, SR_DEPOSIT_MAX, &w.args[3]) &&
          sr_field_currency(&f, "currency", 1, &w.args[4]) &&
          sr_field_int(&f, "offerTtlSeconds", 0, 1, 86400, &w.args[5]) &&
          sr_field_clock(&f, "quietHoursStart", 0, &w.args[6]) && sr_field_clock(&f, "quietHoursEnd", 0, &w.args[7]))) {
        return sr_send_error(req, HTTP_BAD_REQUEST, "%s", f.error);
    }
    if (!w.args[6] != !w.args[7] || (w.args[6] && !strcmp(w.args[6], w.args[7]))) {
        return sr_send_error(req, HTTP_BAD_REQUEST, "quietHoursStart and quietHoursEnd go together and differ");
    }
    if ((w.problem = deposit_problem(req->r->pool, w.args[3], w.args[4]))) {
        return sr_send_error(req, HTTP_BAD_REQUEST, "%s", w.problem);
    }
    return run(req, shop_create_work, &w, 1, HTTP_CREATED);
}

/* A partial update: NULL keeps a value; the quiet hours carry a "set" flag as NULL clears them. */
static const sr_statement_t stmt_shop_update = {
    "sr_shop_update",
    "UPDATE shops AS s SET name = COALESCE(%s, s.name), "
    "timezone = COALESCE(%s, s.timezone), sms_from = COALESCE(%s, s.sms_from), "
    "deposit_amount = COALESCE(%s::bigint, s.deposit_amount), "
    "currency = COALESCE(%s, s.currency), "
    "offer_ttl_seconds = COALESCE(%s::integer, s.offer_ttl_seconds), "
    "quiet_hours_start = CASE WHEN %s::boolean THEN %s::time ELSE s.quiet_hours_start END, "
    "quiet_hours_end = CASE WHEN %s::boolean THEN %s::time ELSE s.quiet_hours_end END "
    "WHERE s.id = %s::bigint "
    "AND (%s::text IS NULL OR EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = %s)) "
    "RETURNING " SR_SHOP_COLUMNS,
    "id,name,timezone,smsFrom,depositAmount,currency,offerTtlSeconds,quietHoursStart,quietHoursEnd,createdAt,"
    "updatedAt"};
static sr_result_t *q_shop_update(sr_db_t *db, const char *name, const char *timezone, const char *sms_from,
                                  const char *deposit_amount, const char *currency, const char *offer_ttl_seconds,
                                  const char *quiet_hours_set, const char *quiet_hours_start,
                                  const char *quiet_hours_end, const char *shop_id)
{
    return sr_db_select(db, &stmt_shop_update,
                        SR_ARGS(name, timezone, sms_from, deposit_amount, currency, offer_ttl_seconds, quiet_hours_set,
                                quiet_hours_start, quiet_hours_set, quiet_hours_end, shop_id, timezone, timezone));
}

/* A shop's deposit, locked while a PATCH checks it against Stripe's minimum. */
static const sr_statement_t stmt_shop_lock_deposit = {
    "sr_shop_lock_deposit",
    "SELECT deposit_amount AS deposit_amount, currency AS currency FROM shops "
    "WHERE id = %s::bigint FOR UPDATE",
    "deposit_amount,currency"};
static sr_result_t *q_shop_lock_deposit(sr_db_t *db, const char *shop_id)
{
    return sr_db_select(db, &stmt_shop_lock_deposit, SR_ARGS(shop_id));
}

static sr_status_t shop_update_work(sr_db_t *db, void *baton)
{
    api_work_t *w = baton;
    const char *const *a = w->args;
    sr_result_t *res = sr_q_shop_get(db, w->id);

    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        w->problem = "shop";
        return SR_NOT_FOUND;
    }
    if (a[3] || a[4]) {
        /* The deposit as it will be, against Stripe's minimum; locked so a concurrent PATCH cannot mix in. */
        res = q_shop_lock_deposit(db, w->id);
        if (!res || res->nrows == 0) {
            return SR_UNAVAILABLE;
        }
        w->problem = deposit_problem(sr_db_pool(db), a[3] ? a[3] : sr_result_get(res, 0, "deposit_amount"),
                                     a[4] ? a[4] : sr_result_get(res, 0, "currency"));
        if (w->problem) {
            return SR_INVALID;
        }
    }
    res = q_shop_update(db, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], w->id);
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        w->problem = "timezone: unknown time zone";
        return SR_INVALID;
    }
    w->view = sr_view_row(sr_db_pool(db), res, 0);
    return SR_OK;
}

/* PATCH /api/shops/{id}: members left out keep their value; quiet hours null clears them. */
int sr_api_shop_update(sr_req_t *req)
{
    api_work_t w = {.id = req->id};
    sr_fields_t f;
    int has_start, has_end, rc = read_fields(req, &f);

    if (rc != OK) {
        return rc;
    }
    if (!(sr_field_text(&f, "name", 0, SR_NAME_MAX, &w.args[0]) && sr_field_timezone(&f, "timezone", 0, &w.args[1]) &&
          sr_field_phone(&f, "smsFrom", 0, &w.args[2]) &&
          sr_field_int(&f, "depositAmount", 0, 0, SR_DEPOSIT_MAX, &w.args[3]) &&
          sr_field_currency(&f, "currency", 0, &w.args[4]) &&
          sr_field_int(&f, "offerTtlSeconds", 0, 1, 86400, &w.args[5]) &&
          sr_field_clock(&f, "quietHoursStart", 0, &w.args[7]) && sr_field_clock(&f, "quietHoursEnd", 0, &w.args[8]))) {
        return sr_send_error(req, HTTP_BAD_REQUEST, "%s", f.error);
    }
    has_start = sr_json_has(f.obj, "quietHoursStart");
    has_end = sr_json_has(f.obj, "quietHoursEnd");
    if (has_start != has_end || !w.args[7] != !w.args[8] || (w.args[7] && !strcmp(w.args[7], w.args[8]))) {
        return sr_send_error(req, HTTP_BAD_REQUEST,
                             "quietHoursStart and quietHoursEnd go together (both times, or both null)");
    }
    w.args[6] = has_start ? "true" : "false";
    return run(req, shop_update_work, &w, 1, HTTP_OK);
}

/*
 * A login stays with the shop it was given in its scope (server name,
 * realm): a different shop comes back for a 409.
 */
static const sr_statement_t stmt_shop_user_grant = {
    "sr_shop_user_grant",
    "INSERT INTO shop_users (username, server_name, realm, shop_id) "
    "VALUES (%s, %s, %s, %s::bigint) "
    "ON CONFLICT (username, server_name, realm) DO UPDATE SET shop_id = shop_users.shop_id "
    "RETURNING shop_id::text AS shop_id, (xmax = 0) AS created",
    "shop_id,created"};
static sr_result_t *q_shop_user_grant(sr_db_t *db, const char *username, const char *server_name, const char *realm,
                                      const char *shop_id)
{
    return sr_db_select(db, &stmt_shop_user_grant, SR_ARGS(username, server_name, realm, shop_id));
}

static sr_status_t shop_user_grant_work(sr_db_t *db, void *baton)
{
    api_work_t *w = baton;
    sr_result_t *res = sr_q_shop_get(db, w->id);
    const char *shop_id;

    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        w->problem = "shop";
        return SR_NOT_FOUND;
    }
    res = q_shop_user_grant(db, w->args[0], w->args[1], w->args[2], w->id);
    if (!res || !(shop_id = sr_result_get(res, 0, "shop_id"))) {
        return SR_UNAVAILABLE;
    }
    if (strcmp(shop_id, w->id)) {
        w->problem = "username: this user already has another shop in this scope (serverName and realm)";
        return SR_CONFLICT;
    }
    w->view = sr_json_object(sr_db_pool(db));
    sr_json_set_string(w->view, "username", w->args[0]);
    sr_json_set_string(w->view, "shopId", w->id);
    sr_json_set_string(w->view, "serverName", w->args[1]);
    sr_json_set_string(w->view, "realm", w->args[2]);
    return SR_OK;
}

/* A ServerName without its port: a host name, an IPv4 address or a bracketed IPv6 one. */
static int valid_server_name(const char *s)
{
    const char *c;

    if (s[0] == '[') {
        for (c = s + 1; apr_isxdigit(*c) || *c == ':' || *c == '.'; c++) {
        }
        return c > s + 1 && c[0] == ']' && c[1] == '\0';
    }
    for (c = s; *c; c++) {
        if (!apr_isalnum(*c) && *c != '.' && *c != '-' && *c != '_') {
            return 0;
        }
    }
    return c > s;
}

/*
 * POST /api/shops/{id}/users {username, realm?, serverName?}: the dashboard
 * shows this shop to that user when it signs in on that server (a ServerName;
 * default: the virtual host answering this call) in that realm (an AuthName;
 * default "*": any). "*" as serverName is any server.
 */
int sr_api_shop_user_grant(sr_req_t *req)
{
    api_work_t w = {.id = req->id};
    const char *server = NULL;
    sr_fields_t f;
    char *lower;
    int rc = read_fields(req, &f);

    if (rc != OK) {
        return rc;
    }
    w.args[2] = "*";
    if (!(sr_field_text(&f, "username", 1, 255, &w.args[0]) && sr_field_text(&f, "serverName", 0, 255, &server) &&
          sr_field_text(&f, "realm", 0, 255, &w.args[2]))) {
        return sr_send_error(req, HTTP_BAD_REQUEST, "%s", f.error);
    }
    if (!server) {
        server = req->r->server->server_hostname ? req->r->server->server_hostname : "";
    }
    if (strcmp(server, "*") && !valid_server_name(server)) {
        return sr_send_error(req, HTTP_BAD_REQUEST,
                             "serverName: must be a ServerName without a port (a host name or an address), or *");
    }
    /* Host names compare without case. */
    lower = apr_pstrdup(req->r->pool, server);
    ap_str_tolower(lower);
    w.args[1] = lower;
    return run(req, shop_user_grant_work, &w, 1, HTTP_CREATED);
}

/* --- customers -------------------------------------------------------------- */

typedef struct {
    api_work_t api;
    sr_result_t *woken; /* the shop's slots that waited for a customer */
} customer_work_t;

/* A phone already on the shop's list is refused by returning no row. */
static const sr_statement_t stmt_customer_insert = {
    "sr_customer_insert",
    "INSERT INTO customers AS c (shop_id, name, phone, email, sms_opt_in, "
    "stripe_customer_id, stripe_payment_method_id) "
    "VALUES (%s::bigint, %s, %s, %s, %s::boolean, %s, %s) "
    "ON CONFLICT (shop_id, phone) DO NOTHING "
    "RETURNING " SR_CUSTOMER_COLUMNS(""),
    "id,shopId,name,phone,email,smsOptIn,stripeCustomerId,stripePaymentMethodId,waitlistJoinedAt,createdAt"};
static sr_result_t *q_customer_insert(sr_db_t *db, const char *shop_id, const char *name, const char *phone,
                                      const char *email, const char *sms_opt_in, const char *stripe_customer_id,
                                      const char *stripe_payment_method_id)
{
    return sr_db_select(db, &stmt_customer_insert,
                        SR_ARGS(shop_id, name, phone, email, sms_opt_in, stripe_customer_id, stripe_payment_method_id));
}

static sr_status_t customer_create_work(sr_db_t *db, void *baton)
{
    customer_work_t *cw = baton;
    api_work_t *w = &cw->api;
    sr_result_t *res = sr_q_shop_get(db, w->args[0]);

    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        w->problem = "shop";
        return SR_NOT_FOUND;
    }
    res = q_customer_insert(db, w->args[0], w->args[1], w->args[2], w->args[3], w->args[4], w->args[5], w->args[6]);
    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        w->problem = "phone: a customer with this phone number is already on this shop's list";
        return SR_CONFLICT;
    }
    w->view = sr_view_row(sr_db_pool(db), res, 0);
    cw->woken = NULL;
    if (!strcmp(w->args[4], "true")) {
        /* Joining the waitlist wakes the shop's slots that waited for somebody. */
        apr_array_header_t *shop = apr_array_make(sr_db_pool(db), 1, sizeof(const char *));

        APR_ARRAY_PUSH(shop, const char *) = w->args[0];
        if (!(cw->woken = sr_offer_loop_wake(db, shop))) {
            return SR_UNAVAILABLE;
        }
    }
    return SR_OK;
}

int sr_api_customer_create(sr_req_t *req)
{
    customer_work_t cw = {{.id = NULL}, NULL};
    api_work_t *w = &cw.api;
    sr_fields_t f;
    sr_db_t *db;
    sr_status_t status;
    sr_ctx_t ctx;
    int rc = read_fields(req, &f);

    if (rc != OK) {
        return rc;
    }
    if (!(sr_field_id(&f, "shopId", 1, &w->args[0]) && sr_field_text(&f, "name", 1, SR_NAME_MAX, &w->args[1]) &&
          sr_field_phone(&f, "phone", 1, &w->args[2]) && sr_field_email(&f, "email", 0, &w->args[3]) &&
          sr_field_bool(&f, "smsOptIn", 1, &w->args[4]) && sr_field_token(&f, "stripeCustomerId", 0, &w->args[5]) &&
          sr_field_token(&f, "stripePaymentMethodId", 0, &w->args[6]))) {
        return sr_send_error(req, HTTP_BAD_REQUEST, "%s", f.error);
    }
    if (!(db = sr_db_acquire(req->r))) {
        return sr_send_status(req, SR_UNAVAILABLE, NULL);
    }
    status = sr_db_transaction(db, customer_create_work, &cw);
    if (status == SR_OK && cw.woken) {
        /* Committed: the new customer is offered those slots now (the sweep does it if this fails). */
        sr_ctx_for_request(&ctx, req->r, req->conf, db);
        sr_offer_loop_advance_woken(&ctx, cw.woken);
    }
    return answer(req, status, HTTP_CREATED, w);
}

/* --- appointments ----------------------------------------------------------- */

static const sr_statement_t stmt_customer_in_shop = {"sr_customer_in_shop",
                                                     "SELECT c.id::text AS \"id\" FROM customers c "
                                                     "WHERE c.id = %s::bigint AND c.shop_id = %s::bigint",
                                                     "id"};
static sr_result_t *q_customer_in_shop(sr_db_t *db, const char *customer_id, const char *shop_id)
{
    return sr_db_select(db, &stmt_customer_in_shop, SR_ARGS(customer_id, shop_id));
}

static const sr_statement_t stmt_appointment_insert = {
    "sr_appointment_insert",
    "INSERT INTO appointments (shop_id, customer_id, starts_at, ends_at) "
    "VALUES (%s::bigint, %s::bigint, %s::timestamptz, %s::timestamptz) "
    "RETURNING id::text AS \"id\"",
    "id"};
static sr_result_t *q_appointment_insert(sr_db_t *db, const char *shop_id, const char *customer_id,
                                         const char *starts_at, const char *ends_at)
{
    return sr_db_select(db, &stmt_appointment_insert, SR_ARGS(shop_id, customer_id, starts_at, ends_at));
}

static sr_status_t appointment_create_work(sr_db_t *db, void *baton)
{
    api_work_t *w = baton;
    sr_result_t *res = q_customer_in_shop(db, w->args[1], w->args[0]);

    if (!res) {
        return SR_UNAVAILABLE;
    }
    if (res->nrows == 0) {
        /* Say which of the two is unknown. */
        res = sr_q_shop_get(db, w->args[0]);
        if (!res) {
            return SR_UNAVAILABLE;
        }
        w->problem = res->nrows == 0 ? "shop" : "customer (of this shop)";
        return SR_NOT_FOUND;
    }
    res = q_appointment_insert(db, w->args[0], w->args[1], w->args[2], w->args[3]);
    if (!res || !(w->id = sr_result_scalar(res))) {
        return SR_UNAVAILABLE;
    }
    w->view = sr_view_appointment(db, w->id);
    return w->view ? SR_OK : SR_UNAVAILABLE;
}

int sr_api_appointment_create(sr_req_t *req)
{
    api_work_t w = {.id = NULL};
    apr_time_t starts = 0, ends = 0;
    sr_fields_t f;
    int rc = read_fields(req, &f);

    if (rc != OK) {
        return rc;
    }
    if (!(sr_field_id(&f, "shopId", 1, &w.args[0]) && sr_field_id(&f, "customerId", 1, &w.args[1]) &&
          sr_field_time(&f, "startsAt", 1, &w.args[2], &starts) && sr_field_time(&f, "endsAt", 1, &w.args[3], &ends))) {
        return sr_send_error(req, HTTP_BAD_REQUEST, "%s", f.error);
    }
    if (ends <= starts) {
        return sr_send_error(req, HTTP_BAD_REQUEST, "endsAt: must be after startsAt");
    }
    return run(req, appointment_create_work, &w, 1, HTTP_CREATED);
}

static sr_status_t appointment_get_work(sr_db_t *db, void *baton)
{
    api_work_t *w = baton;

    w->view = sr_view_appointment(db, w->id);
    if (!w->view) {
        w->problem = "appointment";
        return sr_db_failed(db) ? SR_UNAVAILABLE : SR_NOT_FOUND;
    }
    return SR_OK;
}

int sr_api_appointment_get(sr_req_t *req)
{
    api_work_t w = {.id = NULL};

    w.id = req->id;
    return run(req, appointment_get_work, &w, 0, HTTP_OK);
}

int sr_api_appointment_cancel(sr_req_t *req)
{
    const char *prefix = sr_public_prefix(req);
    sr_cancellation_t c = {0};
    sr_json_t *doc;
    sr_ctx_t ctx;
    sr_db_t *db = sr_db_acquire(req->r);
    sr_status_t status;

    if (!db) {
        return sr_send_status(req, SR_UNAVAILABLE, NULL);
    }
    sr_ctx_for_request(&ctx, req->r, req->conf, db);
    status = sr_slots_cancel_and_offer(&ctx, req->id, prefix, &c);
    if (status != SR_OK) {
        return sr_send_status(req, status, "appointment");
    }
    doc = sr_json_object(req->r->pool);
    sr_json_set(doc, "appointment", c.appointment);
    sr_json_set(doc, "slotOpening", c.slot_opening);
    return sr_send_json(req, HTTP_OK, doc);
}

/* --- slot openings ---------------------------------------------------------- */

static sr_status_t slot_opening_view_work(sr_db_t *db, void *baton)
{
    api_work_t *w = baton;

    w->view = sr_view_slot_opening(db, w->id);
    if (!w->view) {
        w->problem = "slot opening";
        return sr_db_failed(db) ? SR_UNAVAILABLE : SR_NOT_FOUND;
    }
    return SR_OK;
}

int sr_api_slot_opening_get(sr_req_t *req)
{
    api_work_t w = {.id = NULL};

    w.id = req->id;
    return run(req, slot_opening_view_work, &w, 0, HTTP_OK);
}

const sr_statement_t *const sr_api_statements[] = {
    &stmt_shop_insert, &stmt_customer_insert,   &stmt_customer_in_shop, &stmt_appointment_insert,
    &stmt_shop_update, &stmt_shop_lock_deposit, &stmt_shop_user_grant,  NULL};
