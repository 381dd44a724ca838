/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sr_path_split and sr_path_match (mod_slotrecovery/core/sr_path.c).
 *
 * Input: lines. Every line but the last is a <Location> path (at most 8), the
 * last is the request URI. The URI is split as the router does, trailing
 * slashes trimmed (sr_route_path), then looked up by every method in the
 * module's route table (sr_route_find, sr_routes.c: the table the router
 * dispatches from), matched against every pattern of that table and against a
 * pattern taken from the input's first line.
 */
#include <apr_strings.h>
#include <apr_tables.h>

#include "fuzz_common.h"
#include "sr_path.h"
#include "sr_routes.h"
#include "sr_validate.h"

/* Whether mount is one of the <Location>s, or one with "/api" or "/app" taken off its end. */
static int is_location(const apr_array_header_t *locations, const char *mount)
{
    size_t m = strlen(mount);
    int i;

    for (i = 0; i < locations->nelts; i++) {
        const char *loc = APR_ARRAY_IDX(locations, i, const char *);
        size_t len = strlen(loc);

        while (len > 0 && loc[len - 1] == '/') {
            len--;
        }
        if ((len == m || len == m + 4) && !strncmp(loc, mount, m)) {
            return 1;
        }
    }
    return 0;
}

static int has_control(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return 1;
        }
    }
    return 0;
}

static void check_match(const char *pattern, const char *path)
{
    const char *id = NULL;

    if (sr_path_match(pattern, path, &id) && strstr(pattern, "{id}")) {
        /* The router copies the id up to the next '/': it must be a valid id. */
        const char *end = strchr(id, '/');
        size_t len = end ? (size_t)(end - id) : strlen(id);
        char *copy = fuzz_strndup((const uint8_t *)id, len);

        FUZZ_CHECK(id >= path && id < path + strlen(path));
        FUZZ_CHECK(sr_valid_id(copy));
    }
}

/*
 * sr_route_find as the router calls it: the route it gives matches the path
 * and takes the method, and is the only route of that method that matches;
 * with none, Allow names the methods of the routes that match, and no route
 * matches when it is NULL.
 */
static void check_find(apr_pool_t *p, const char *path, sr_method_t method)
{
    apr_size_t n, i;
    const sr_route_t *routes = sr_routes(&n), *found;
    const char *id = (const char *)1, *allow = (const char *)1, *at;
    int matches = 0, same_method = 0;

    found = sr_route_find(p, path, method, &id, &allow);
    for (i = 0; i < n; i++) {
        at = NULL;
        if (sr_path_match(routes[i].pattern, path, &at)) {
            matches++;
            if (routes[i].method == method) {
                same_method++;
                FUZZ_CHECK(found == &routes[i]);
            }
            else if (!found) {
                FUZZ_CHECK(allow && strstr(allow, sr_method_allow_name(routes[i].method)));
            }
        }
    }
    FUZZ_CHECK(same_method <= 1);
    FUZZ_CHECK(routes[0].id == 0 && routes[n - 1].id < SR_ROUTE_COUNT);
    if (found) {
        FUZZ_CHECK(found->method == method && found->id < SR_ROUTE_COUNT);
        FUZZ_CHECK(sr_path_match(found->pattern, path, &at));
        if (strstr(found->pattern, "{id}")) {
            FUZZ_CHECK(id && sr_valid_id(id) && strstr(path, id));
        }
        else {
            FUZZ_CHECK(!id);
        }
    }
    else {
        FUZZ_CHECK(!id && same_method == 0);
        FUZZ_CHECK(matches ? allow != NULL : allow == NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_array_header_t *locations;
    const uint8_t *rest = data;
    size_t rest_len = size, len;
    const char *uri = NULL, *mount = NULL, *route = NULL, *first = NULL;
    const sr_route_t *routes;
    apr_size_t nroutes, i;
    char *path;
    int m;

    fuzz_init();
    routes = sr_routes(&nroutes);
    FUZZ_CHECK(nroutes > 0);
    apr_pool_create(&p, fuzz_root);
    locations = apr_array_make(p, 8, sizeof(const char *));
    /* Every line before the last one is a <Location>; the last one is the URI. */
    {
        const uint8_t *last_nl = memrchr(data, '\n', size);

        if (last_nl) {
            uri = fuzz_strndup(last_nl + 1, size - (size_t)(last_nl + 1 - data));
            rest_len = (size_t)(last_nl - data);
            while (rest_len > 0 || rest < last_nl) {
                const uint8_t *field = rest;
                size_t field_len = fuzz_split(field, rest_len, &rest, &rest_len);
                char *loc = fuzz_strndup(field, field_len);

                if (!first) {
                    first = loc;
                }
                if (locations->nelts < 8) {
                    APR_ARRAY_PUSH(locations, const char *) = loc;
                }
                if (rest >= last_nl) {
                    break;
                }
            }
        }
        else {
            uri = fuzz_strndup(data, size);
        }
    }
    if (sr_path_split(p, uri, locations, &mount, &route) == 1) {
        FUZZ_CHECK(mount && route);
        /* A mount no <Location> gave is harmless in a link: no backslash, "//" or control character. */
        if (!is_location(locations, mount)) {
            FUZZ_CHECK(!strchr(mount, '\\') && !strstr(mount, "//") && !has_control(mount));
        }
        FUZZ_CHECK(route >= uri && route <= uri + strlen(uri));
        FUZZ_CHECK(strlen(mount) + strlen(route) == strlen(uri));
        FUZZ_CHECK(!strncmp(route, "/api", 4) || !strncmp(route, "/app", 4));
        /* As the router: "/api/shops/" routes like "/api/shops". */
        path = sr_route_path(p, route);
        len = strlen(path);
        FUZZ_CHECK(len >= 4 && path[len - 1] != '/' && !strncmp(path, route, len));
        for (i = 0; i < nroutes; i++) {
            check_match(routes[i].pattern, path);
        }
        for (m = SR_METHOD_GET; m <= SR_METHOD_OTHER; m++) {
            check_find(p, path, m);
        }
        if (first) {
            check_match(first, path);
        }
    }
    /* The matcher on its own, with the raw URI as the path. */
    for (i = 0; i < nroutes; i++) {
        check_match(routes[i].pattern, uri);
    }
    apr_pool_destroy(p);
    fuzz_free_all();
    return 0;
}
