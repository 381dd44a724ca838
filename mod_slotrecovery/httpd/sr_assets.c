/* SPDX-License-Identifier: Apache-2.0 */
/* GET /app/assets/{name}: the built-in copy, or SlotRecoveryAssetsDir's. */
#include <apr_buckets.h>
#include <apr_file_io.h>

#include "sr_assets.h"

/* The files the pages use; nothing else is served, from either source. */
static const struct {
    const char *name, *type;
} assets[] = {
    {"slotrecovery.css", "text/css; charset=utf-8"},
    {"favicon.svg", "image/svg+xml"},
};

/* Headers of both sources; then OK, or the status ap_meets_conditions decided (304, 412). */
static int set_headers(request_rec *r, const char *type, const char *etag, apr_time_t mtime, apr_off_t len)
{
    ap_set_content_type(r, type);
    if (mtime) {
        ap_update_mtime(r, mtime);
        ap_set_last_modified(r);
    }
    apr_table_setn(r->headers_out, "ETag", etag);
    /* An hour, then a cheap revalidation (ETag) picks up a new module or file. */
    apr_table_setn(r->headers_out, "Cache-Control", "max-age=3600");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_length(r, len);
    return ap_meets_conditions(r);
}

/*
 * The file from SlotRecoveryAssetsDir: OK or a status when it answered,
 * DECLINED when the directory has no such file (the built-in copy answers).
 */
static int send_override(request_rec *r, const char *dir, const char *name, const char *type)
{
    const char *path = apr_pstrcat(r->pool, dir, "/", name, (char *)NULL);
    apr_file_t *file;
    apr_finfo_t info;
    apr_size_t sent;
    apr_status_t rv;
    int rc;

    rv = apr_file_open(&file, path, APR_FOPEN_READ | APR_FOPEN_SENDFILE_ENABLED, APR_OS_DEFAULT, r->pool);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&info, APR_FINFO_SIZE | APR_FINFO_MTIME | APR_FINFO_TYPE, file);
        if (rv == APR_SUCCESS && info.filetype != APR_REG) {
            rv = APR_EINVAL;
        }
    }
    if (rv != APR_SUCCESS) {
        /* A directory with only the files it changes is fine; anything else is worth a look. */
        ap_log_rerror(APLOG_MARK, APR_STATUS_IS_ENOENT(rv) ? APLOG_DEBUG : APLOG_ERR, rv, r,
                      SR_LOG_PREFIX "cannot read %s (SlotRecoveryAssetsDir): serving the built-in %s", path, name);
        return DECLINED;
    }
    rc = set_headers(r, type,
                     apr_psprintf(r->pool, "\"%" APR_UINT64_T_HEX_FMT "-%" APR_UINT64_T_HEX_FMT "\"",
                                  (apr_uint64_t)info.size, (apr_uint64_t)info.mtime),
                     info.mtime, info.size);
    if (rc != OK) {
        return rc;
    }
    if (!r->header_only) {
        ap_send_fd(file, r, 0, (apr_size_t)info.size, &sent);
    }
    return OK;
}

static int send_builtin(request_rec *r, const sr_asset_data_t *asset, const char *type)
{
    apr_bucket_brigade *bb;
    int rc = set_headers(r, type, asset->etag, asset->mtime_sec ? apr_time_from_sec(asset->mtime_sec) : 0,
                         (apr_off_t)asset->len);

    if (rc != OK || r->header_only) {
        return rc;
    }
    /* The bytes live as long as the module: no copy. */
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create((const char *)asset->data, asset->len, bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS ? OK : AP_FILTER_ERROR;
}

int sr_assets_handler(sr_req_t *req)
{
    request_rec *r = req->r;
    const char *name = strrchr(req->path, '/') + 1;
    const char *type = NULL;
    apr_size_t i;
    int rc;

    for (i = 0; i < sizeof(assets) / sizeof(assets[0]) && !type; i++) {
        if (!strcmp(name, assets[i].name)) {
            type = assets[i].type;
        }
    }
    if (!type) {
        return HTTP_NOT_FOUND;
    }
    if (req->conf->assets_dir && (rc = send_override(r, req->conf->assets_dir, name, type)) != DECLINED) {
        return rc;
    }
    for (i = 0; i < sr_asset_data_count; i++) {
        if (!strcmp(name, sr_asset_data[i].name)) {
            return send_builtin(r, &sr_asset_data[i], type);
        }
    }
    /* The build embeds every file of the table above; this is a build that did not. */
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, SR_LOG_PREFIX "%s is not built into this module", name);
    return HTTP_NOT_FOUND;
}
