/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Database access: mod_dbd's pooled connections and the module's prepared
 * statements, registered by label at configuration time (as mod_authn_dbd and
 * mod_session_dbd do) and found again through one helper.
 *
 * Errors never read as "no rows": a failed statement marks the handle failed
 * and the caller answers 503. A unit of work runs through sr_db_transaction()
 * or sr_db_read(), which retry it once on a connection that PostgreSQL reset
 * underneath mod_dbd (a restart drops the session and its prepared
 * statements, which mod_dbd does not prepare again), and once after a
 * deadlock; never after a plain SQL error, which would only fail again.
 */
#ifndef SR_DB_H
#define SR_DB_H

#include "mod_slotrecovery.h"

/* Every statement the module runs. The SQL is in sr_statements.c. */
typedef enum {
    SR_Q_SHOP_INSERT,
    SR_Q_SHOP_GET,
    SR_Q_CUSTOMER_INSERT,
    SR_Q_CUSTOMER_IN_SHOP,
    SR_Q_APPOINTMENT_INSERT,
    SR_Q_APPOINTMENT_GET,
    SR_Q_APPOINTMENT_LOCK,
    SR_Q_APPOINTMENT_CANCEL,
    SR_Q_SLOT_OPENING_FROM_CANCELLATION,
    SR_Q_SLOT_OPENING_BY_SOURCE,
    SR_Q_SLOT_OPENING_GET,
    SR_Q_SLOT_OFFERS_OF_OPENING,
    /* shops: quiet hours */
    SR_Q_SHOP_UPDATE,
    /* this installation: its id and CSRF key (migration 005) */
    SR_Q_INSTALLATION_GET,
    /* hardening: database and sweep infrastructure */
    /* the offer loop */
    SR_Q_LOOP_LOCK_SLOTS_WAIT,
    SR_Q_LOOP_HAS_LIVE_OFFER,
    SR_Q_LOOP_OFFER_NEXT_CUSTOMER,
    SR_Q_LOOP_EXPIRE_SLOT,
    SR_Q_LOOP_EXPIRE_LIVE_OFFERS,
    SR_Q_LOOP_LOCK_SLOTS,
    SR_Q_LOOP_CLAIM_DUE_OFFERS,
    SR_Q_LOOP_MARK_SENT,
    SR_Q_LOOP_MARK_SEND_FAILED,
    SR_Q_LOOP_EXPIRE_DUE_OFFERS,
    SR_Q_LOOP_SLOTS_TO_ADVANCE,
    SR_Q_LOOP_DELIVERY_STATUS,
    /* hardening: offers and slots */
    SR_Q_LOOP_SET_WAITING,
    SR_Q_LOOP_LOCK_OPEN_SLOTS,
    SR_Q_LOOP_WAKE_WAITING,
    SR_Q_LOOP_LOCK_OVERLAPPING,
    SR_Q_LOOP_WAKE_OVERLAPPING,
    /* answers by SMS */
    SR_Q_INBOUND_CLAIM,
    SR_Q_INBOUND_GET,
    SR_Q_INBOUND_RECORD,
    SR_Q_INBOUND_SENDER,
    SR_Q_INBOUND_LIVE_OFFER,
    SR_Q_BOOK_LOCK,
    SR_Q_BOOK_ACCEPT_OFFER,
    SR_Q_BOOK_CREATE_APPOINTMENT,
    SR_Q_BOOK_FILL_SLOT,
    SR_Q_BOOK_CREATE_PAYMENT,
    SR_Q_OFFER_DECLINE,
    SR_Q_SENDER_SET_OPT_IN,
    SR_Q_SENDER_DECLINE_LIVE_OFFERS,
    /* deposits */
    SR_Q_PAY_CLAIM_DUE,
    SR_Q_PAY_RECORD_INTENT,
    SR_Q_PAY_CONFIRM_APPOINTMENT,
    SR_Q_PAY_RETRY_LATER,
    SR_Q_PAY_FIND,
    SR_Q_PAY_LOCK_SLOT,
    SR_Q_PAY_LOCK,
    SR_Q_PAY_MARK_FAILED,
    SR_Q_PAY_CANCEL_APPOINTMENT,
    SR_Q_PAY_REOPEN_SLOT,
    SR_Q_PAY_DECLINE_OFFER,
    SR_Q_PAY_MARK_SUCCEEDED,
    SR_Q_STRIPE_EVENT_CLAIM,
    SR_Q_STRIPE_EVENT_RECORD,
    /* hardening: money */
    /* money: charging, refunds, retries */
    SR_Q_PAY_UNSENT_TO_SETTLE,
    SR_Q_PAY_UNSENT_STATE,
    SR_Q_PAY_MARK_CANCELED,
    SR_Q_PAY_FLAG,
    SR_Q_REFUND_DUE,
    SR_Q_REFUND_CLAIM_DUE,
    SR_Q_REFUND_RECORD,
    SR_Q_NOTIFY_ENQUEUE,
    SR_Q_NOTIFY_CLAIM_DUE,
    SR_Q_NOTIFY_MARK_SENT,
    SR_Q_NOTIFY_MARK_FAILED,
    SR_Q_DASH_REFUND,
    SR_Q_SHOP_LOCK_DEPOSIT,
    /* money: a new deposit key once Stripe saved a 5xx under the current one (issue 16) */
    SR_Q_PAY_KEY_SPENT,
    SR_Q_REFUND_KEY_SPENT,
    /* the dashboard */
    SR_Q_SHOP_USER_GRANT,
    SR_Q_DASH_SHOP_FOR_USER,
    SR_Q_DASH_UPCOMING,
    SR_Q_DASH_FIGURES,
    SR_Q_DASH_SLOT_LIST,
    SR_Q_DASH_SLOT_CSV,
    SR_Q_DASH_SLOT_DETAIL,
    SR_Q_DASH_SLOT_OFFERS,
    SR_Q_DASH_APPOINTMENT,
    /* hardening: dashboard */
    /* issue 16: twilio */
    SR_Q_TWILIO_CREDENTIALS_REFUSED,
    SR_Q_TWILIO_CREDENTIALS_OK,
    SR_Q_LOOP_SEND_WAIT_CREDENTIALS,
    SR_Q_NOTIFY_WAIT_CREDENTIALS,
    SR_Q_DASH_TWILIO_PROBLEM,
    /* issue 12: outbox */
    SR_Q_OUTBOX_DUE,
    SR_Q_COUNT
} sr_query_t;

typedef struct {
    const char *label; /* the name PostgreSQL knows the prepared statement by */
    const char *sql;   /* apr_dbd syntax: %s for each parameter */
} sr_statement_t;

extern const sr_statement_t sr_statements[SR_Q_COUNT];

/* A result set read whole into the pool: cells are NULL for SQL NULL. */
typedef struct {
    int nrows;
    int ncols;
    const char **names;
    const char **cells; /* row-major, nrows * ncols */
} sr_result_t;

typedef struct sr_db sr_db_t;

/* Registers every statement with mod_dbd; call from post_config before mod_dbd's. */
int sr_db_register_statements(apr_pool_t *pconf, server_rec *s);

/* The request's pooled connection (ap_dbd_acquire); NULL when PostgreSQL is unreachable. */
sr_db_t *sr_db_acquire(request_rec *r);
/* Outside a request (the watchdog): a connection that sr_db_close() returns. */
sr_db_t *sr_db_open(apr_pool_t *p, server_rec *s);
void sr_db_close(sr_db_t *db);

apr_pool_t *sr_db_pool(const sr_db_t *db);
/* Results and scratch memory come from p from now on (a batch's subpool); returns the previous pool. */
apr_pool_t *sr_db_use_pool(sr_db_t *db, apr_pool_t *p);

/* Runs a statement that returns rows; NULL on error (logged). */
sr_result_t *sr_db_select(sr_db_t *db, sr_query_t q, int nargs, const char *const *args);
/* Runs a statement that returns none; rows affected, or -1 on error (logged). */
int sr_db_exec(sr_db_t *db, sr_query_t q, int nargs, const char *const *args);

/* Passes a literal argument list: sr_db_select(db, q, SR_ARGS(a, b)). NULL is SQL NULL. */
#define SR_ARGS(...)                                                                                                   \
    (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)), (const char *const[])                    \
    {                                                                                                                  \
        __VA_ARGS__                                                                                                    \
    }
#define SR_NO_ARGS 0, NULL

/*
 * A unit of work. It must be safe to run twice: on a connection failure (or
 * a deadlock) the first run is rolled back and the work runs again, on a
 * reconnected handle.
 * A status other than SR_OK rolls the transaction back.
 */
typedef sr_status_t sr_db_work_fn(sr_db_t *db, void *baton);

/* Runs work inside BEGIN ... COMMIT. SR_UNAVAILABLE when the database failed. */
sr_status_t sr_db_transaction(sr_db_t *db, sr_db_work_fn *work, void *baton);
/* Runs read-only work outside a transaction, with the same retry. */
sr_status_t sr_db_read(sr_db_t *db, sr_db_work_fn *work, void *baton);

/*
 * Claims due rows with a claim statement (arguments: one id or NULL for any,
 * the same id again, the batch size, the lease in seconds) in a transaction
 * of its own. NULL when the database failed.
 */
sr_result_t *sr_db_claim(sr_db_t *db, sr_query_t q, const char *id, int limit, apr_interval_time_t lease);

/* Whether a statement of the current unit of work failed. */
int sr_db_failed(const sr_db_t *db);

/* Cell access by column name; NULL for SQL NULL or an unknown column. */
const char *sr_result_get(const sr_result_t *res, int row, const char *column);
/* A boolean column: true only for PostgreSQL's 't' (false for NULL). */
int sr_result_bool(const sr_result_t *res, int row, const char *column);
/* The first cell of the first row, or NULL. */
const char *sr_result_scalar(const sr_result_t *res);

#endif /* SR_DB_H */
