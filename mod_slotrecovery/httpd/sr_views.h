/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON views of database rows. Statements alias their columns to the API's
 * field names, so one function turns any row into an object.
 */
#ifndef SR_VIEWS_H
#define SR_VIEWS_H

#include "sr_db.h"
#include "sr_json.h"

/*
 * Row `row` of res as a JSON object. Columns named "a.b" become member b of
 * a nested object a, which is null when its "a.id" is NULL (an outer join
 * that found nothing). Known numeric and boolean fields get JSON types.
 */
sr_json_t *sr_view_row(apr_pool_t *p, const sr_result_t *res, int row);

/*
 * The columns of a shop and of a customer, aliased to the API's field names
 * (a prefix such as "customer." nests them). Timestamps leave PostgreSQL
 * already formatted as RFC 3339 (sr_rfc3339).
 */
#define SR_SHOP_COLUMNS                                                                                                \
    "s.id::text AS \"id\", s.name AS \"name\", s.timezone AS \"timezone\", "                                           \
    "s.sms_from AS \"smsFrom\", s.deposit_amount AS \"depositAmount\", "                                               \
    "s.currency AS \"currency\", s.offer_ttl_seconds AS \"offerTtlSeconds\", "                                         \
    "to_char(s.quiet_hours_start, 'HH24:MI') AS \"quietHoursStart\", "                                                 \
    "to_char(s.quiet_hours_end, 'HH24:MI') AS \"quietHoursEnd\", "                                                     \
    "sr_rfc3339(s.created_at) AS \"createdAt\", sr_rfc3339(s.updated_at) AS \"updatedAt\""

#define SR_CUSTOMER_COLUMNS(prefix)                                                                                    \
    "c.id::text AS \"" prefix "id\", c.shop_id::text AS \"" prefix "shopId\", "                                        \
    "c.name AS \"" prefix "name\", c.phone AS \"" prefix "phone\", c.email AS \"" prefix "email\", "                   \
    "c.sms_opt_in AS \"" prefix "smsOptIn\", "                                                                         \
    "c.stripe_customer_id AS \"" prefix "stripeCustomerId\", "                                                         \
    "c.stripe_payment_method_id AS \"" prefix "stripePaymentMethodId\", "                                              \
    "sr_rfc3339(c.waitlist_joined_at) AS \"" prefix "waitlistJoinedAt\", "                                             \
    "sr_rfc3339(c.created_at) AS \"" prefix "createdAt\""

/* The shop's statement, also run by sr_api.c: the shop or no row. */
sr_result_t *sr_q_shop_get(sr_db_t *db, const char *shop_id);

/* Loaders: the full API view, NULL when absent or on a database error. */
sr_json_t *sr_view_shop(sr_db_t *db, const char *id);
sr_json_t *sr_view_appointment(sr_db_t *db, const char *id);
sr_json_t *sr_view_slot_opening(sr_db_t *db, const char *id);

/* The statements sr_views.c runs (listed in sr_statement_tables.c). */
extern const sr_statement_t *const sr_views_statements[];

#endif /* SR_VIEWS_H */
