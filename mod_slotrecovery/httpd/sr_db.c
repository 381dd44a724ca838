/* SPDX-License-Identifier: Apache-2.0 */
/* mod_dbd glue: statement registration, lookup, execution and retry. */
#include <apr_atomic.h>
#include <apr_dbd.h> /* mod_dbd.h uses apr_dbd_t without including it */
#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_optional.h>
#include <mod_dbd.h>

#include "sr_db.h"

struct sr_db {
    ap_dbd_t *dbd;
    server_rec *s;
    apr_pool_t *pool; /* results and scratch memory */
    int opened;       /* from ap_dbd_open: must go back through ap_dbd_close */
    int failed;       /* a statement of the current unit of work failed */
    int transient;    /* ... as a deadlock victim or a serialization failure: worth one more run */
};

static APR_OPTIONAL_FN_TYPE(ap_dbd_prepare) * dbd_prepare_fn;
static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) * dbd_acquire_fn;
static APR_OPTIONAL_FN_TYPE(ap_dbd_open) * dbd_open_fn;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) * dbd_close_fn;

/* What start-up learnt of each registered statement, by label; read-only once the server runs. */
typedef struct {
    int nargs;                     /* the parameters it takes, counted as apr_dbd does */
    volatile apr_uint32_t misread; /* a column it does not declare was read: logged once */
} statement_info_t;

static apr_hash_t *statement_infos;

static int count_parameters(const char *sql)
{
    int n = 0;

    for (; *sql; sql++) {
        if (sql[0] == '%') {
            if (apr_isalpha(sql[1])) {
                n++;
            }
            else if (sql[1] == '%') {
                sql++;
            }
        }
    }
    return n;
}

int sr_db_register_statements(apr_pool_t *pconf, server_rec *s)
{
    const sr_statement_t *const *const *table;
    const sr_statement_t *const *st;
    apr_array_header_t *registered;
    module *dbd;
    server_rec *sp;

    dbd_prepare_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_prepare);
    dbd_acquire_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    dbd_open_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    dbd_close_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    if (!dbd_prepare_fn || !dbd_acquire_fn || !dbd_open_fn || !dbd_close_fn) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     SR_LOG_PREFIX "mod_dbd is not loaded: add 'LoadModule dbd_module ...' "
                                   "and configure DBDriver pgsql / DBDParams");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    statement_infos = apr_hash_make(pconf);
    for (table = sr_statement_tables; *table; table++) {
        for (st = *table; *st; st++) {
            statement_info_t *info;

            if (apr_hash_get(statement_infos, (*st)->label, APR_HASH_KEY_STRING)) {
                /* Two statements under one label: PostgreSQL would run whichever was prepared last. */
                ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, SR_LOG_PREFIX "statement %s is defined twice", (*st)->label);
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            info = apr_pcalloc(pconf, sizeof(*info));
            info->nargs = count_parameters((*st)->sql);
            apr_hash_set(statement_infos, (*st)->label, APR_HASH_KEY_STRING, info);
        }
    }
    /*
     * A virtual host with DBD directives of its own has its own mod_dbd
     * configuration; one without shares the main server's (httpd hands it the
     * same pointer), where a second registration is a "conflicting SQL
     * statements" warning per statement. Register once per configuration.
     */
    dbd = ap_find_linked_module("mod_dbd.c");
    registered = apr_array_make(pconf, 4, sizeof(void *));
    for (sp = s; sp; sp = sp->next) {
        void *dbd_conf = dbd ? ap_get_module_config(sp->module_config, dbd) : NULL;
        int i, seen = 0;

        for (i = 0; dbd_conf && i < registered->nelts; i++) {
            seen |= APR_ARRAY_IDX(registered, i, void *) == dbd_conf;
        }
        if (seen) {
            continue;
        }
        if (dbd_conf) {
            APR_ARRAY_PUSH(registered, void *) = dbd_conf;
        }
        for (table = sr_statement_tables; *table; table++) {
            for (st = *table; *st; st++) {
                dbd_prepare_fn(sp, (*st)->sql, (*st)->label);
            }
        }
    }
    return OK;
}

static sr_db_t *wrap(ap_dbd_t *dbd, server_rec *s, apr_pool_t *p, int opened)
{
    sr_db_t *db = apr_pcalloc(p, sizeof(*db));

    db->dbd = dbd;
    db->s = s;
    db->pool = p;
    db->opened = opened;
    return db;
}

sr_db_t *sr_db_acquire(request_rec *r)
{
    ap_dbd_t *dbd = dbd_acquire_fn ? dbd_acquire_fn(r) : NULL;

    if (!dbd) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      SR_LOG_PREFIX "no database connection (is PostgreSQL up and DBDParams right?)");
        return NULL;
    }
    return wrap(dbd, r->server, r->pool, 0);
}

sr_db_t *sr_db_open(apr_pool_t *p, server_rec *s)
{
    ap_dbd_t *dbd = dbd_open_fn ? dbd_open_fn(p, s) : NULL;

    if (!dbd) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     SR_LOG_PREFIX "no database connection (is PostgreSQL up and DBDParams right?)");
        return NULL;
    }
    return wrap(dbd, s, p, 1);
}

void sr_db_close(sr_db_t *db)
{
    if (db && db->opened) {
        dbd_close_fn(db->s, db->dbd);
        db->opened = 0;
    }
}

apr_pool_t *sr_db_pool(const sr_db_t *db)
{
    return db->pool;
}

apr_pool_t *sr_db_use_pool(sr_db_t *db, apr_pool_t *p)
{
    apr_pool_t *old = db->pool;

    db->pool = p;
    return old;
}

int sr_db_failed(const sr_db_t *db)
{
    return db->failed;
}

/*
 * Whether PostgreSQL's message says the transaction lost a race it may win
 * when run again (SQLSTATE 40P01 deadlock_detected, 40001 serialization_failure:
 * PostgreSQL rolled it back whole). apr_dbd gives no SQLSTATE, only the text;
 * with lc_messages other than English this matches nothing and the caller
 * gets its 503 instead of a retry.
 */
static int is_transient(const char *msg)
{
    return msg && (strstr(msg, "deadlock detected") || strstr(msg, "could not serialize access"));
}

static void statement_failed(sr_db_t *db, const sr_statement_t *st, int rv, const char *what)
{
    const char *msg = rv ? apr_dbd_error(db->dbd->driver, db->dbd->handle, rv) : what;

    db->failed = 1;
    db->transient = rv && is_transient(msg);
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, db->s, SR_LOG_PREFIX "statement %s failed: %s", st->label,
                 msg ? msg : "unknown error");
}

static apr_dbd_prepared_t *find_statement(sr_db_t *db, const sr_statement_t *st, int nargs)
{
    const statement_info_t *info;
    apr_dbd_prepared_t *prepared;

    if (db->failed) {
        /* The unit of work is already lost; don't pile errors on an aborted transaction. */
        return NULL;
    }
    info = statement_infos ? apr_hash_get(statement_infos, st->label, APR_HASH_KEY_STRING) : NULL;
    if (!info) {
        statement_failed(db, st, 0, "not registered (missing from its domain's table, see sr_statement_tables.c)");
        return NULL;
    }
    if (nargs != info->nargs) {
        statement_failed(db, st, 0, apr_psprintf(db->pool, "called with %d arguments, takes %d", nargs, info->nargs));
        return NULL;
    }
    prepared = apr_hash_get(db->dbd->prepared, st->label, APR_HASH_KEY_STRING);
    if (!prepared) {
        statement_failed(db, st, 0, "not prepared on this connection");
    }
    return prepared;
}

sr_result_t *sr_db_select(sr_db_t *db, const sr_statement_t *statement, int nargs, const char *const *args)
{
    const apr_dbd_driver_t *driver = db->dbd->driver;
    apr_dbd_prepared_t *st = find_statement(db, statement, nargs);
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    sr_result_t *out;
    int rv, i, n = 0;

    if (!st) {
        return NULL;
    }
    /* random = 1: with sequential access a failed query reads as "no rows". */
    rv = apr_dbd_pselect(driver, db->pool, db->dbd->handle, &res, st, 1, nargs, (const char **)args);
    if (rv != 0) {
        statement_failed(db, statement, rv, NULL);
        return NULL;
    }
    out = apr_pcalloc(db->pool, sizeof(*out));
    out->statement = statement;
    out->s = db->s;
    out->nrows = apr_dbd_num_tuples(driver, res);
    out->ncols = apr_dbd_num_cols(driver, res);
    out->names = apr_palloc(db->pool, sizeof(char *) * (out->ncols + 1));
    out->cells = apr_palloc(db->pool, sizeof(char *) * ((apr_size_t)out->nrows * out->ncols + 1));
    for (i = 0; i < out->ncols; i++) {
        out->names[i] = apr_pstrdup(db->pool, apr_dbd_get_name(driver, res, i));
    }
    /* Read every row: the driver frees the result after the last one. */
    while (apr_dbd_get_row(driver, db->pool, res, &row, -1) == 0) {
        for (i = 0; i < out->ncols && n < out->nrows; i++) {
            char *value = NULL;

            if (apr_dbd_datum_get(driver, row, i, APR_DBD_TYPE_STRING, &value) == APR_SUCCESS && value) {
                out->cells[n * out->ncols + i] = apr_pstrdup(db->pool, value);
            }
            else {
                out->cells[n * out->ncols + i] = NULL;
            }
        }
        n++;
    }
    out->nrows = n < out->nrows ? n : out->nrows;
    return out;
}

int sr_db_exec(sr_db_t *db, const sr_statement_t *statement, int nargs, const char *const *args)
{
    apr_dbd_prepared_t *st = find_statement(db, statement, nargs);
    int rv, nrows = 0;

    if (!st) {
        return -1;
    }
    rv = apr_dbd_pquery(db->dbd->driver, db->pool, db->dbd->handle, &nrows, st, nargs, (const char **)args);
    if (rv != 0) {
        statement_failed(db, statement, rv, NULL);
        return -1;
    }
    return nrows;
}

/*
 * Transaction control cannot be a prepared statement in PostgreSQL, so these
 * three constant strings go through apr_dbd_query. apr_dbd's own transaction
 * API is not used: its pgsql driver dereferences a NULL transaction when BEGIN
 * fails on a dead connection.
 */
static int run_control(sr_db_t *db, const char *sql)
{
    int nrows = 0;
    int rv = apr_dbd_query(db->dbd->driver, db->dbd->handle, &nrows, sql);

    if (rv != 0) {
        const char *msg = apr_dbd_error(db->dbd->driver, db->dbd->handle, rv);

        ap_log_error(APLOG_MARK, APLOG_ERR, 0, db->s, SR_LOG_PREFIX "%s failed: %s", sql, msg ? msg : "unknown error");
    }
    return rv;
}

/*
 * Which of this module's statements the session behind the handle still has.
 * A constant string, not a prepared statement: it is what tells whether the
 * prepared ones are there. NULL when the session cannot answer.
 */
#define SESSION_STATEMENTS_SQL "SELECT name FROM pg_prepared_statements WHERE name LIKE 'sr\\_%'"

static apr_hash_t *session_statements(sr_db_t *db)
{
    const apr_dbd_driver_t *driver = db->dbd->driver;
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    apr_hash_t *names;
    int rv = apr_dbd_select(driver, db->pool, db->dbd->handle, &res, SESSION_STATEMENTS_SQL, 1);

    if (rv != 0) {
        const char *msg = apr_dbd_error(driver, db->dbd->handle, rv);

        ap_log_error(APLOG_MARK, APLOG_ERR, 0, db->s, SR_LOG_PREFIX "cannot list the session's prepared statements: %s",
                     msg ? msg : "unknown error");
        return NULL;
    }
    names = apr_hash_make(db->pool);
    while (apr_dbd_get_row(driver, db->pool, res, &row, -1) == 0) {
        const char *name = apr_dbd_get_entry(driver, row, 0);

        if (name) {
            apr_hash_set(names, apr_pstrdup(db->pool, name), APR_HASH_KEY_STRING, "");
        }
    }
    return names;
}

/*
 * After a failure: reconnect a dead connection (the driver's check_conn does
 * PQreset) and prepare again the statements its session no longer has (a
 * reset session has lost them all; mod_dbd does not prepare them again).
 * A failure on a healthy session finds nothing missing and prepares nothing:
 * the preparations live in the connection's long-lived pool, so they must
 * happen only when a session really changed. Returns how many statements
 * were prepared again.
 */
static int recover_connection(sr_db_t *db)
{
    const apr_dbd_driver_t *driver = db->dbd->driver;
    apr_status_t rv = apr_dbd_check_conn(driver, db->pool, db->dbd->handle);
    const sr_statement_t *const *const *table;
    const sr_statement_t *const *statement;
    apr_hash_t *present;
    int prepared = 0, failed = 0;

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, db->s, SR_LOG_PREFIX "database connection is down");
        return 0;
    }
    if (!(present = session_statements(db))) {
        return 0;
    }
    for (table = sr_statement_tables; *table; table++) {
        for (statement = *table; *statement; statement++) {
            const char *label = (*statement)->label;
            apr_dbd_prepared_t *st = NULL;

            if (apr_hash_get(present, label, APR_HASH_KEY_STRING)) {
                continue;
            }
            if (apr_dbd_prepare(driver, db->dbd->pool, db->dbd->handle, (*statement)->sql, label, &st) == 0) {
                apr_hash_set(db->dbd->prepared, label, APR_HASH_KEY_STRING, st);
                prepared++;
            }
            else {
                const char *msg = apr_dbd_error(driver, db->dbd->handle, 0);

                failed++;
                ap_log_error(APLOG_MARK, APLOG_ERR, 0, db->s, SR_LOG_PREFIX "preparing statement %s again failed: %s",
                             label, msg ? msg : "unknown error");
            }
        }
    }
    if (prepared || failed) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, db->s,
                     SR_LOG_PREFIX "database session was reset: prepared %d statements again%s", prepared,
                     failed ? apr_psprintf(db->pool, ", %d failed", failed) : "");
    }
    return prepared;
}

/*
 * Runs the work, and once more only when that can help: the session was
 * recovered (reconnected, statements prepared again), or PostgreSQL rolled
 * the work back as a deadlock victim or serialization failure. A plain SQL
 * error (a constraint, bad data) would fail the same way again.
 */
static sr_status_t run_work(sr_db_t *db, sr_db_work_fn *work, void *baton, int transactional)
{
    int attempt;
    sr_status_t status;

    for (attempt = 0; attempt < 2; attempt++) {
        int recovered;

        db->failed = 0;
        db->transient = 0;
        if (transactional && run_control(db, "BEGIN") != 0) {
            db->failed = 1;
        }
        if (!db->failed) {
            status = work(db, baton);
            if (!db->failed) {
                if (!transactional) {
                    return status;
                }
                if (status != SR_OK) {
                    run_control(db, "ROLLBACK");
                    return status;
                }
                if (run_control(db, "COMMIT") == 0) {
                    return SR_OK;
                }
                /* Whether it committed is unknown: do not run the work again. */
                db->failed = 1;
                return SR_UNAVAILABLE;
            }
            if (transactional) {
                run_control(db, "ROLLBACK");
            }
        }
        if (attempt > 0) {
            break;
        }
        recovered = recover_connection(db);
        if (!recovered && !db->transient) {
            break;
        }
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, db->s, SR_LOG_PREFIX "running the unit of work again (%s)",
                     recovered ? "session recovered" : "deadlock or serialization failure");
    }
    return SR_UNAVAILABLE;
}

sr_status_t sr_db_transaction(sr_db_t *db, sr_db_work_fn *work, void *baton)
{
    return run_work(db, work, baton, 1);
}

sr_status_t sr_db_read(sr_db_t *db, sr_db_work_fn *work, void *baton)
{
    return run_work(db, work, baton, 0);
}

typedef struct {
    sr_db_claim_fn *claim;
    const char *id, *limit, *lease;
    sr_result_t *claimed;
} claim_work_t;

static sr_status_t claim_work(sr_db_t *db, void *baton)
{
    claim_work_t *w = baton;

    w->claimed = w->claim(db, w->id, w->limit, w->lease);
    return w->claimed ? SR_OK : SR_UNAVAILABLE;
}

sr_result_t *sr_db_claim(sr_db_t *db, sr_db_claim_fn *claim, const char *id, int limit, apr_interval_time_t lease)
{
    claim_work_t w = {claim, id, apr_itoa(db->pool, limit),
                      apr_psprintf(db->pool, "%" APR_TIME_T_FMT, apr_time_sec(lease)), NULL};

    return sr_db_transaction(db, claim_work, &w) == SR_OK ? w.claimed : NULL;
}

static int column_index(const sr_result_t *res, const char *column)
{
    int i;

    for (i = 0; i < res->ncols; i++) {
        if (!strcmp(res->names[i], column)) {
            return i;
        }
    }
    return -1;
}

/* Whether a statement's comma-separated columns name this one. */
static int declares_column(const char *columns, const char *column)
{
    size_t n = strlen(column);

    while (columns && *columns) {
        const char *end = strchr(columns, ',');
        size_t len = end ? (size_t)(end - columns) : strlen(columns);

        if (len == n && !strncmp(columns, column, n)) {
            return 1;
        }
        columns = end ? end + 1 : NULL;
    }
    return 0;
}

/* A read the statement does not declare: a typo, or a column dropped from the SQL. Logged once a statement. */
static void column_misread(const sr_result_t *res, const char *column, int in_result)
{
    statement_info_t *info = apr_hash_get(statement_infos, res->statement->label, APR_HASH_KEY_STRING);

    if (info && apr_atomic_cas32(&info->misread, 1, 0) == 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, res->s, SR_LOG_PREFIX "statement %s: the code reads column \"%s\", %s",
                     res->statement->label, column,
                     in_result ? "which its columns do not declare" : "which is not in its result");
    }
}

const char *sr_result_get(const sr_result_t *res, int row, const char *column)
{
    int col;

    if (!res) {
        return NULL;
    }
    col = column_index(res, column);
    if (res->statement && statement_infos && (col < 0 || !declares_column(res->statement->columns, column))) {
        column_misread(res, column, col >= 0);
    }
    if (row < 0 || row >= res->nrows || col < 0) {
        return NULL;
    }
    return res->cells[row * res->ncols + col];
}

int sr_result_bool(const sr_result_t *res, int row, const char *column)
{
    const char *value = sr_result_get(res, row, column);

    return value && value[0] == 't';
}

const char *sr_result_scalar(const sr_result_t *res)
{
    return (res && res->nrows > 0 && res->ncols > 0) ? res->cells[0] : NULL;
}
