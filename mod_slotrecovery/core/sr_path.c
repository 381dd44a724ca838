/* SPDX-License-Identifier: Apache-2.0 */
/* Request paths: where the module is mounted, and which route a path is. */
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "sr_path.h"
#include "sr_validate.h"

/* Whether path starts with the segment "/api" or "/app". */
static int is_route_root(const char *path)
{
    return (!strncmp(path, "/api", 4) || !strncmp(path, "/app", 4)) && (path[4] == '/' || path[4] == '\0');
}

/*
 * Whether a mount taken from the request path itself (not a configured
 * <Location>) may go into links and redirects: segments of RFC 3986 pchar
 * without ':' and '%', no empty segment. A backslash, "//", a tab or a
 * newline is what browsers turn into another host ("/\\evil.example/app").
 */
static int safe_derived_mount(const char *mount, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)mount[i];

        if (c == '/') {
            if (i + 1 == len || mount[i + 1] == '/') {
                return 0;
            }
        }
        else if (c == '\0' || (!apr_isalnum(c) && !strchr("-._~!$&'()*+,;=@", c))) {
            return 0;
        }
    }
    return len == 0 || mount[0] == '/';
}

int sr_path_split(apr_pool_t *p, const char *uri, const apr_array_header_t *locations, const char **mount,
                  const char **route_path)
{
    apr_ssize_t best = -1;
    const char *c;
    int i;

    /* The mount is the <Location> the route root sits right under (or is). */
    for (i = 0; locations && i < locations->nelts; i++) {
        const char *loc = APR_ARRAY_IDX(locations, i, const char *);
        apr_size_t len = strlen(loc);

        while (len > 0 && loc[len - 1] == '/') {
            len--;
        }
        if (strncmp(uri, loc, len) || (uri[len] != '/' && uri[len] != '\0')) {
            continue;
        }
        if (is_route_root(uri + len) && (apr_ssize_t)len > best) {
            best = (apr_ssize_t)len;
        }
        else if (len >= 4 && is_route_root(uri + len - 4) && (apr_ssize_t)len - 4 > best) {
            best = (apr_ssize_t)len - 4;
        }
    }
    /*
     * A <LocationMatch> or a mount we cannot see: the first /api or /app
     * segment. What comes before it is the client's choice, so it must be
     * harmless in a link.
     */
    for (c = uri; best < 0 && c && *c; c = strchr(c + 1, '/')) {
        if (is_route_root(c)) {
            if (!safe_derived_mount(uri, (apr_size_t)(c - uri))) {
                return SR_PATH_UNSAFE_MOUNT;
            }
            best = c - uri;
        }
    }
    if (best < 0) {
        return 0;
    }
    *mount = apr_pstrmemdup(p, uri, (apr_size_t)best);
    *route_path = uri + best;
    return 1;
}

/* Matches path against pattern segment by segment; captures {id}. */
int sr_path_match(const char *pattern, const char *path, const char **id)
{
    while (*pattern && *path) {
        if (!strncmp(pattern, "{id}", 4)) {
            const char *end = strchr(path, '/');
            apr_size_t len = end ? (apr_size_t)(end - path) : strlen(path);
            char segment[32];

            if (len == 0 || len >= sizeof(segment)) {
                return 0;
            }
            memcpy(segment, path, len);
            segment[len] = '\0';
            if (!sr_valid_id(segment)) {
                return 0;
            }
            *id = path; /* copied by the caller */
            pattern += 4;
            path += len;
            continue;
        }
        if (*pattern != *path) {
            return 0;
        }
        pattern++;
        path++;
    }
    return !*pattern && !*path;
}
