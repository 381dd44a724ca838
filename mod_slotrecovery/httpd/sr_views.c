/* SPDX-License-Identifier: Apache-2.0 */
/* Rows to JSON, and the views the API answers with. */
#include "sr_view_row.h"
#include "sr_views.h"

sr_json_t *sr_view_row(apr_pool_t *p, const sr_result_t *res, int row)
{
    return sr_view_row_json(p, res->ncols, res->names, res->cells + (apr_size_t)row * (apr_size_t)res->ncols);
}

/* The first row of a loader's result as a view. */
static sr_json_t *view_one(sr_db_t *db, const sr_result_t *res)
{
    if (!res || res->nrows == 0) {
        return NULL;
    }
    return sr_view_row(sr_db_pool(db), res, 0);
}

static const sr_statement_t stmt_shop_get = {"sr_shop_get",
                                             "SELECT " SR_SHOP_COLUMNS " FROM shops s WHERE s.id = %s::bigint",
                                             "id,name,timezone,smsFrom,depositAmount,currency,offerTtlSeconds,"
                                             "quietHoursStart,quietHoursEnd,createdAt,updatedAt"};
sr_result_t *sr_q_shop_get(sr_db_t *db, const char *shop_id)
{
    return sr_db_select(db, &stmt_shop_get, SR_ARGS(shop_id));
}

static const sr_statement_t stmt_appointment_get = {
    "sr_appointment_get",
    "SELECT a.id::text AS \"id\", a.shop_id::text AS \"shopId\", "
    "a.customer_id::text AS \"customerId\", "
    "sr_rfc3339(a.starts_at) AS \"startsAt\", sr_rfc3339(a.ends_at) AS \"endsAt\", "
    "a.status AS \"status\", a.source_slot_opening_id::text AS \"sourceSlotOpeningId\", "
    "sr_rfc3339(a.cancelled_at) AS \"cancelledAt\", "
    "sr_rfc3339(a.created_at) AS \"createdAt\", "
    "sr_rfc3339(a.updated_at) AS \"updatedAt\", " SR_CUSTOMER_COLUMNS(
        "customer.") ", "
                     "p.id::text AS \"payment.id\", p.status AS \"payment.status\", "
                     "p.amount AS \"payment.amount\", p.currency AS \"payment.currency\", "
                     "p.stripe_payment_intent_id AS \"payment.stripePaymentIntentId\", "
                     "p.last_error AS \"payment.lastError\", "
                     "sr_rfc3339(p.updated_at) AS \"payment.updatedAt\" "
                     "FROM appointments a JOIN customers c ON c.id = a.customer_id "
                     "LEFT JOIN payments p ON p.appointment_id = a.id "
                     "WHERE a.id = %s::bigint",
    "id,shopId,customerId,startsAt,endsAt,status,sourceSlotOpeningId,cancelledAt,createdAt,updatedAt,customer.id,"
    "customer.shopId,customer.name,customer.phone,customer.email,customer.smsOptIn,customer.stripeCustomerId,customer."
    "stripePaymentMethodId,customer.waitlistJoinedAt,customer.createdAt,payment.id,payment.status,payment.amount,"
    "payment.currency,payment.stripePaymentIntentId,payment.lastError,payment.updatedAt"};
static sr_result_t *q_appointment_get(sr_db_t *db, const char *appointment_id)
{
    return sr_db_select(db, &stmt_appointment_get, SR_ARGS(appointment_id));
}

static const sr_statement_t stmt_slot_opening_get = {
    "sr_slot_opening_get",
    "SELECT o.id::text AS \"id\", o.shop_id::text AS \"shopId\", "
    "o.status AS \"status\", "
    "sr_rfc3339(o.starts_at) AS \"startsAt\", sr_rfc3339(o.ends_at) AS \"endsAt\", "
    "o.source_appointment_id::text AS \"sourceAppointmentId\", "
    "o.filled_by_appointment_id::text AS \"filledByAppointmentId\", "
    "sr_rfc3339(o.filled_at) AS \"filledAt\", "
    "sr_rfc3339(o.expired_at) AS \"expiredAt\", "
    "(o.status = 'open' AND o.waiting_since IS NOT NULL) AS \"waiting\", "
    "sr_rfc3339(o.created_at) AS \"createdAt\", "
    "sr_rfc3339(o.updated_at) AS \"updatedAt\" "
    "FROM slot_openings o WHERE o.id = %s::bigint",
    "id,shopId,status,startsAt,endsAt,sourceAppointmentId,filledByAppointmentId,filledAt,expiredAt,waiting,createdAt,"
    "updatedAt"};
static sr_result_t *q_slot_opening_get(sr_db_t *db, const char *slot_opening_id)
{
    return sr_db_select(db, &stmt_slot_opening_get, SR_ARGS(slot_opening_id));
}

sr_json_t *sr_view_shop(sr_db_t *db, const char *id)
{
    return view_one(db, sr_q_shop_get(db, id));
}

sr_json_t *sr_view_appointment(sr_db_t *db, const char *id)
{
    return view_one(db, q_appointment_get(db, id));
}

static const sr_statement_t stmt_slot_offers_of_opening = {
    "sr_slot_offers_of_opening",
    "SELECT f.id::text AS \"id\", f.customer_id::text AS \"customerId\", "
    "f.status AS \"status\", sr_rfc3339(f.sent_at) AS \"sentAt\", "
    "sr_rfc3339(f.expires_at) AS \"expiresAt\", "
    "f.provider_message_id AS \"providerMessageId\", "
    "f.attempts AS \"attempts\", f.last_error AS \"lastError\", "
    "sr_rfc3339(f.created_at) AS \"createdAt\" "
    "FROM slot_offers f WHERE f.slot_opening_id = %s::bigint ORDER BY f.id",
    "id,customerId,status,sentAt,expiresAt,providerMessageId,attempts,lastError,createdAt"};
static sr_result_t *q_slot_offers_of_opening(sr_db_t *db, const char *slot_opening_id)
{
    return sr_db_select(db, &stmt_slot_offers_of_opening, SR_ARGS(slot_opening_id));
}

sr_json_t *sr_view_slot_opening(sr_db_t *db, const char *id)
{
    sr_json_t *opening = view_one(db, q_slot_opening_get(db, id));
    sr_json_t *offers;
    sr_result_t *res;
    int i;

    if (!opening) {
        return NULL;
    }
    res = q_slot_offers_of_opening(db, id);
    if (!res) {
        return NULL;
    }
    offers = sr_json_array(sr_db_pool(db));
    for (i = 0; i < res->nrows; i++) {
        sr_json_append(offers, sr_view_row(sr_db_pool(db), res, i));
    }
    sr_json_set(opening, "offers", offers);
    return opening;
}

const sr_statement_t *const sr_views_statements[] = {&stmt_shop_get, &stmt_appointment_get, &stmt_slot_opening_get,
                                                     &stmt_slot_offers_of_opening, NULL};
