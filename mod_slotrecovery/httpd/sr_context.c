/* SPDX-License-Identifier: Apache-2.0 */
/* The context domain functions take. */
#include "sr_context.h"

void sr_ctx_for_request(sr_ctx_t *ctx, request_rec *r, const sr_server_conf_t *conf, sr_db_t *db)
{
    ctx->db = db;
    ctx->conf = conf;
    ctx->s = r->server;
    ctx->pool = r->pool;
}
