/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The context every domain function takes: the database handle, the server's
 * settings, the server (for the log) and the pool to allocate in. A request
 * makes one from itself (sr_ctx_for_request); the watchdog's worker and sweep
 * make one per server and run, with a pool and a connection of their own.
 */
#ifndef SR_CONTEXT_H
#define SR_CONTEXT_H

#include "sr_config.h"
#include "sr_db.h"

typedef struct {
    sr_db_t *db;
    const sr_server_conf_t *conf;
    server_rec *s;
    apr_pool_t *pool;
} sr_ctx_t;

/* The context of a request: its pool, server and database connection. */
void sr_ctx_for_request(sr_ctx_t *ctx, request_rec *r, const sr_server_conf_t *conf, sr_db_t *db);

#endif /* SR_CONTEXT_H */
