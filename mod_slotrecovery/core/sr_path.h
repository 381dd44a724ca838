/* SPDX-License-Identifier: Apache-2.0 */
/* Request paths: pure functions of strings, so they can be fuzzed on their own. */
#ifndef SR_PATH_H
#define SR_PATH_H

#include <apr_pools.h>
#include <apr_tables.h>

/*
 * Splits a request path into the mount prefix and the route path below it
 * ("/api/..." or "/app/..."), using the <Location> paths the request sits in.
 * Returns 1, 0 when the path has no route root, or SR_PATH_UNSAFE_MOUNT when
 * the mount is not a configured <Location> (a <LocationMatch>, or below
 * <Location />) and has characters a link must not carry (a backslash, "//",
 * control characters, ':', '%', spaces, ...).
 */
#define SR_PATH_UNSAFE_MOUNT (-1)
int sr_path_split(apr_pool_t *p, const char *uri, const apr_array_header_t *locations, const char **mount,
                  const char **route_path);

/*
 * Matches path against a route pattern segment by segment; "{id}" matches one
 * positive integer segment and *id points at it in path (up to the next '/').
 */
int sr_path_match(const char *pattern, const char *path, const char **id);

#endif /* SR_PATH_H */
