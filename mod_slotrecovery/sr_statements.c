/*
 * Every SQL statement of the module, prepared on each pooled connection under
 * its label. Parameters are apr_dbd's %s (sent as text, cast in SQL).
 *
 * Columns are aliased to the JSON API's camelCase names so a row maps onto a
 * JSON object directly (sr_api_row_to_json); "customer.name" nests.
 * Timestamps leave PostgreSQL already formatted as RFC 3339 (sr_rfc3339).
 */
#include "sr_db.h"

#define SHOP_COLUMNS                                                                      \
    "s.id::text AS \"id\", s.name AS \"name\", s.timezone AS \"timezone\", "              \
    "s.sms_from AS \"smsFrom\", s.deposit_amount AS \"depositAmount\", "                  \
    "s.currency AS \"currency\", s.offer_ttl_seconds AS \"offerTtlSeconds\", "            \
    "sr_rfc3339(s.created_at) AS \"createdAt\", sr_rfc3339(s.updated_at) AS \"updatedAt\""

#define CUSTOMER_COLUMNS(prefix)                                                                   \
    "c.id::text AS \"" prefix "id\", c.shop_id::text AS \"" prefix "shopId\", "                    \
    "c.name AS \"" prefix "name\", c.phone AS \"" prefix "phone\", c.email AS \"" prefix "email\", " \
    "c.sms_opt_in AS \"" prefix "smsOptIn\", "                                                     \
    "c.stripe_customer_id AS \"" prefix "stripeCustomerId\", "                                     \
    "c.stripe_payment_method_id AS \"" prefix "stripePaymentMethodId\", "                          \
    "sr_rfc3339(c.waitlist_joined_at) AS \"" prefix "waitlistJoinedAt\", "                         \
    "sr_rfc3339(c.created_at) AS \"" prefix "createdAt\""

const sr_statement_t sr_statements[SR_Q_COUNT] = {
    /* A timezone PostgreSQL does not know is refused by returning no row. */
    [SR_Q_SHOP_INSERT] = {"sr_shop_insert",
                          "INSERT INTO shops AS s (name, timezone, sms_from, deposit_amount, currency, "
                          "offer_ttl_seconds) "
                          "SELECT %s, %s, %s, %s::bigint, %s, %s::integer "
                          "WHERE EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = %s) "
                          "RETURNING " SHOP_COLUMNS},
    [SR_Q_SHOP_GET] = {"sr_shop_get", "SELECT " SHOP_COLUMNS " FROM shops s WHERE s.id = %s::bigint"},

    /* A phone already on the shop's list is refused by returning no row. */
    [SR_Q_CUSTOMER_INSERT] = {"sr_customer_insert",
                              "INSERT INTO customers AS c (shop_id, name, phone, email, sms_opt_in, "
                              "stripe_customer_id, stripe_payment_method_id) "
                              "VALUES (%s::bigint, %s, %s, %s, %s::boolean, %s, %s) "
                              "ON CONFLICT (shop_id, phone) DO NOTHING "
                              "RETURNING " CUSTOMER_COLUMNS("")},
    [SR_Q_CUSTOMER_IN_SHOP] = {"sr_customer_in_shop",
                               "SELECT c.id::text AS \"id\" FROM customers c "
                               "WHERE c.id = %s::bigint AND c.shop_id = %s::bigint"},

    [SR_Q_APPOINTMENT_INSERT] = {"sr_appointment_insert",
                                 "INSERT INTO appointments (shop_id, customer_id, starts_at, ends_at) "
                                 "VALUES (%s::bigint, %s::bigint, %s::timestamptz, %s::timestamptz) "
                                 "RETURNING id::text AS \"id\""},
    [SR_Q_APPOINTMENT_GET] = {"sr_appointment_get",
                              "SELECT a.id::text AS \"id\", a.shop_id::text AS \"shopId\", "
                              "a.customer_id::text AS \"customerId\", "
                              "sr_rfc3339(a.starts_at) AS \"startsAt\", sr_rfc3339(a.ends_at) AS \"endsAt\", "
                              "a.status AS \"status\", a.source_slot_opening_id::text AS \"sourceSlotOpeningId\", "
                              "sr_rfc3339(a.cancelled_at) AS \"cancelledAt\", "
                              "sr_rfc3339(a.created_at) AS \"createdAt\", "
                              "sr_rfc3339(a.updated_at) AS \"updatedAt\", " CUSTOMER_COLUMNS("customer.") ", "
                              "p.id::text AS \"payment.id\", p.status AS \"payment.status\", "
                              "p.amount AS \"payment.amount\", p.currency AS \"payment.currency\", "
                              "p.stripe_payment_intent_id AS \"payment.stripePaymentIntentId\", "
                              "p.last_error AS \"payment.lastError\", "
                              "sr_rfc3339(p.updated_at) AS \"payment.updatedAt\" "
                              "FROM appointments a JOIN customers c ON c.id = a.customer_id "
                              "LEFT JOIN payments p ON p.appointment_id = a.id "
                              "WHERE a.id = %s::bigint"},
    /* The lock serialises concurrent cancellations of one appointment. */
    [SR_Q_APPOINTMENT_LOCK] = {"sr_appointment_lock",
                               "SELECT a.id::text AS \"id\", a.status AS \"status\" "
                               "FROM appointments a WHERE a.id = %s::bigint FOR UPDATE"},
    [SR_Q_APPOINTMENT_CANCEL] = {"sr_appointment_cancel",
                                 "UPDATE appointments SET status = 'cancelled', cancelled_at = now() "
                                 "WHERE id = %s::bigint AND status <> 'cancelled'"},

    /* Only a cancellation of a future appointment opens a slot; only one per appointment. */
    [SR_Q_SLOT_OPENING_FROM_CANCELLATION] = {"sr_slot_opening_from_cancellation",
                                             "INSERT INTO slot_openings (shop_id, source_appointment_id, "
                                             "starts_at, ends_at) "
                                             "SELECT a.shop_id, a.id, a.starts_at, a.ends_at "
                                             "FROM appointments a "
                                             "WHERE a.id = %s::bigint AND a.starts_at > now() "
                                             "ON CONFLICT (source_appointment_id) DO NOTHING "
                                             "RETURNING id::text AS \"id\""},
    [SR_Q_SLOT_OPENING_BY_SOURCE] = {"sr_slot_opening_by_source",
                                     "SELECT o.id::text AS \"id\" FROM slot_openings o "
                                     "WHERE o.source_appointment_id = %s::bigint"},
    [SR_Q_SLOT_OPENING_GET] = {"sr_slot_opening_get",
                               "SELECT o.id::text AS \"id\", o.shop_id::text AS \"shopId\", "
                               "o.status AS \"status\", "
                               "sr_rfc3339(o.starts_at) AS \"startsAt\", sr_rfc3339(o.ends_at) AS \"endsAt\", "
                               "o.source_appointment_id::text AS \"sourceAppointmentId\", "
                               "o.filled_by_appointment_id::text AS \"filledByAppointmentId\", "
                               "sr_rfc3339(o.filled_at) AS \"filledAt\", "
                               "sr_rfc3339(o.expired_at) AS \"expiredAt\", "
                               "sr_rfc3339(o.created_at) AS \"createdAt\", "
                               "sr_rfc3339(o.updated_at) AS \"updatedAt\" "
                               "FROM slot_openings o WHERE o.id = %s::bigint"},
    [SR_Q_SLOT_OFFERS_OF_OPENING] = {"sr_slot_offers_of_opening",
                                     "SELECT f.id::text AS \"id\", f.customer_id::text AS \"customerId\", "
                                     "f.status AS \"status\", sr_rfc3339(f.sent_at) AS \"sentAt\", "
                                     "sr_rfc3339(f.expires_at) AS \"expiresAt\", "
                                     "f.provider_message_id AS \"providerMessageId\", "
                                     "f.attempts AS \"attempts\", f.last_error AS \"lastError\", "
                                     "sr_rfc3339(f.created_at) AS \"createdAt\" "
                                     "FROM slot_offers f WHERE f.slot_opening_id = %s::bigint ORDER BY f.id"},
};
