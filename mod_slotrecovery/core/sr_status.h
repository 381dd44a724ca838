/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Outcome of a domain operation, core and glue alike. The router maps it to
 * an HTTP status; the domain code never speaks HTTP itself.
 */
#ifndef SR_STATUS_H
#define SR_STATUS_H

typedef enum {
    SR_OK = 0,
    SR_INVALID,    /* the caller sent something wrong: 400 */
    SR_NOT_FOUND,  /* a referenced row does not exist (or is not the caller's): 404 */
    SR_CONFLICT,   /* the request collides with the current state: 409 */
    SR_UNAVAILABLE /* PostgreSQL (or a provider) is unreachable: 503, retry later */
} sr_status_t;

#endif /* SR_STATUS_H */
