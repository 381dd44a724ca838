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

/*
 * A statement, defined in the domain file that runs it beside a typed wrapper
 * (a function per statement with named parameters) and listed in that
 * domain's NULL-terminated sr_<domain>_statements[] table; the tables are
 * listed once, in sr_statement_tables.c. Every listed statement is prepared
 * on each pooled connection under its label.
 */
typedef struct {
    const char *label;   /* the name PostgreSQL knows the prepared statement by */
    const char *sql;     /* apr_dbd syntax: %s for each parameter */
    const char *columns; /* comma-separated: the result columns the C code reads; NULL when it reads none */
} sr_statement_t;

/* Every domain's table of statements, NULL-terminated (sr_statement_tables.c). */
extern const sr_statement_t *const *const sr_statement_tables[];

/* A result set read whole into the pool: cells are NULL for SQL NULL. */
typedef struct {
    int nrows;
    int ncols;
    const char **names;
    const char **cells;              /* row-major, nrows * ncols */
    const sr_statement_t *statement; /* what produced it: a column it does not declare is logged */
    server_rec *s;
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
sr_result_t *sr_db_select(sr_db_t *db, const sr_statement_t *st, int nargs, const char *const *args);
/* Runs a statement that returns none; rows affected, or -1 on error (logged). */
int sr_db_exec(sr_db_t *db, const sr_statement_t *st, int nargs, const char *const *args);

/* Passes a literal argument list: sr_db_select(db, &st, SR_ARGS(a, b)). NULL is SQL NULL. */
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

/* A claim statement's wrapper: one id or NULL for any, the batch size, the lease in seconds. */
typedef sr_result_t *sr_db_claim_fn(sr_db_t *db, const char *id, const char *limit, const char *lease_seconds);

/* Claims due rows with a claim statement in a transaction of its own. NULL when the database failed. */
sr_result_t *sr_db_claim(sr_db_t *db, sr_db_claim_fn *claim, const char *id, int limit, apr_interval_time_t lease);

/* Whether a statement of the current unit of work failed. */
int sr_db_failed(const sr_db_t *db);

/*
 * Cell access by column name; NULL for SQL NULL or an unknown column. A column
 * the statement does not declare in its columns is logged (once a statement).
 */
const char *sr_result_get(const sr_result_t *res, int row, const char *column);
/* A boolean column: true only for PostgreSQL's 't' (false for NULL). */
int sr_result_bool(const sr_result_t *res, int row, const char *column);
/* The first cell of the first row, or NULL. */
const char *sr_result_scalar(const sr_result_t *res);

#endif /* SR_DB_H */
