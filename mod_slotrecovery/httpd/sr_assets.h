/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dashboard's own files (stylesheet, icon). They are compiled into the
 * module from htdocs/ (sr_assets_data.c, written by scripts/embed-assets at
 * build time), so the dashboard looks right wherever the .so is loaded from;
 * SlotRecoveryAssetsDir overrides them file by file.
 */
#ifndef SR_ASSETS_H
#define SR_ASSETS_H

#include "sr_request.h"

/* One built-in file, as scripts/embed-assets writes it. */
typedef struct {
    const char *name; /* "slotrecovery.css" */
    const unsigned char *data;
    apr_size_t len;
    const char *etag;      /* quoted, from the content */
    apr_int64_t mtime_sec; /* the file's modification time at build time; 0 if unknown */
} sr_asset_data_t;

extern const sr_asset_data_t sr_asset_data[];
extern const apr_size_t sr_asset_data_count;

int sr_assets_handler(sr_req_t *req); /* GET /app/assets/slotrecovery.css and favicon.svg */

#endif /* SR_ASSETS_H */
