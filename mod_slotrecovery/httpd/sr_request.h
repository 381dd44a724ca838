/* SPDX-License-Identifier: Apache-2.0 */
/* Request plumbing shared by the API, webhook and dashboard handlers. */
#ifndef SR_REQUEST_H
#define SR_REQUEST_H

#include "mod_slotrecovery.h"
#include "sr_config.h"
#include "sr_form.h"
#include "sr_json.h"

/* One routed request. */
typedef struct {
    request_rec *r;
    const sr_server_conf_t *conf;
    const char *mount; /* path prefix the module is mounted at; "" at the root */
    const char *path;  /* the path below the mount, e.g. "/api/shops" */
    const char *id;    /* the {id} segment of the route, when it has one */
} sr_req_t;

/* The HTTP status a domain outcome answers with. */
int sr_status_to_http(sr_status_t status);

/*
 * Reads the whole body, refusing more than the configured limit. Returns OK,
 * or DONE when it has already answered (413, 400).
 */
int sr_read_body(sr_req_t *req, const char **body, apr_size_t *len);
/* Reads the body as a JSON object; OK, or DONE when it has answered. */
int sr_read_json_object(sr_req_t *req, sr_json_t **obj);
/*
 * Reads an application/x-www-form-urlencoded body (sr_form_parse): *params
 * gets its fields (sr_param_t). OK, or DONE when it has answered: 413 past
 * the size limit or SR_FORM_MAX_PAIRS fields, 400 for a malformed %-escape,
 * 415 for a non-empty body of another type. Every form the module reads goes
 * through here.
 */
int sr_read_form(sr_req_t *req, apr_array_header_t **params);

/* Sends a JSON document with the given status; returns OK for the handler. */
int sr_send_json(sr_req_t *req, int status, const sr_json_t *doc);
/*
 * Logs the problem and answers {"error": message}. 4xx are logged as
 * warnings (the caller's mistake), 5xx as errors. Returns DONE, which every
 * helper that may answer on its own passes up instead of OK.
 */
int sr_send_error(sr_req_t *req, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The answer for a failed domain outcome (status != SR_OK). */
int sr_send_status(sr_req_t *req, sr_status_t status, const char *what);

/* Checks x-internal-secret; OK, or DONE with the 401/503 sent. */
int sr_require_internal_secret(sr_req_t *req);

/* SlotRecoveryPublicBaseUrl joined with the mount prefix; NULL when unset. */
const char *sr_public_prefix(const sr_req_t *req);

#endif /* SR_REQUEST_H */
