/* SPDX-License-Identifier: Apache-2.0 */
/* A result row as the API's JSON. */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "sr_view_row.h"

typedef enum { SR_FIELD_STRING, SR_FIELD_INT, SR_FIELD_BOOL } sr_field_type_t;

/* Fields that are not strings in the API; every other column is one. */
static const struct {
    const char *name;
    sr_field_type_t type;
} typed_fields[] = {
    {"depositAmount", SR_FIELD_INT}, {"offerTtlSeconds", SR_FIELD_INT}, {"amount", SR_FIELD_INT},
    {"attempts", SR_FIELD_INT},      {"smsOptIn", SR_FIELD_BOOL},       {"waiting", SR_FIELD_BOOL},
};

static sr_field_type_t field_type(const char *name)
{
    apr_size_t i;

    for (i = 0; i < sizeof(typed_fields) / sizeof(typed_fields[0]); i++) {
        if (!strcmp(typed_fields[i].name, name)) {
            return typed_fields[i].type;
        }
    }
    return SR_FIELD_STRING;
}

static void set_field(sr_json_t *obj, const char *name, const char *value)
{
    if (!value) {
        sr_json_set_null(obj, name);
        return;
    }
    switch (field_type(name)) {
    case SR_FIELD_INT:
        sr_json_set_int(obj, name, apr_atoi64(value));
        break;
    case SR_FIELD_BOOL:
        /* PostgreSQL's text form of a boolean. */
        sr_json_set_bool(obj, name, value[0] == 't');
        break;
    default:
        sr_json_set_string(obj, name, value);
        break;
    }
}

/* The cell of column `name`, or NULL. */
static const char *cell_of(int ncols, const char *const *names, const char *const *cells, const char *name)
{
    int col;

    for (col = 0; col < ncols; col++) {
        if (!strcmp(names[col], name)) {
            return cells[col];
        }
    }
    return NULL;
}

sr_json_t *sr_view_row_json(apr_pool_t *p, int ncols, const char *const *names, const char *const *cells)
{
    sr_json_t *obj = sr_json_object(p);
    apr_hash_t *nested = apr_hash_make(p);
    int col;

    for (col = 0; col < ncols; col++) {
        const char *name = names[col];
        const char *value = cells[col];
        const char *dot = strchr(name, '.');

        if (dot) {
            const char *parent = apr_pstrmemdup(p, name, (apr_size_t)(dot - name));
            sr_json_t *child = apr_hash_get(nested, parent, APR_HASH_KEY_STRING);

            if (!child) {
                const char *id = cell_of(ncols, names, cells, apr_pstrcat(p, parent, ".id", (char *)NULL));

                /* A row the outer join did not find: the whole member is null.
                 * The object is shared, not copied, so filling it after
                 * attaching is fine. */
                child = id ? sr_json_object(p) : NULL;
                sr_json_set(obj, parent, child);
                if (child) {
                    apr_hash_set(nested, parent, APR_HASH_KEY_STRING, child);
                }
                else {
                    continue;
                }
            }
            set_field(child, dot + 1, value);
        }
        else {
            set_field(obj, name, value);
        }
    }
    return obj;
}
