/* SPDX-License-Identifier: Apache-2.0 */
/* Rows to JSON, and the views the API answers with. */
#include <apr_hash.h>

#include "sr_views.h"

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

sr_json_t *sr_view_row(apr_pool_t *p, const sr_result_t *res, int row)
{
    sr_json_t *obj = sr_json_object(p);
    apr_hash_t *nested = apr_hash_make(p);
    int col;

    for (col = 0; col < res->ncols; col++) {
        const char *name = res->names[col];
        const char *value = res->cells[row * res->ncols + col];
        const char *dot = strchr(name, '.');

        if (dot) {
            const char *parent = apr_pstrmemdup(p, name, (apr_size_t)(dot - name));
            sr_json_t *child = apr_hash_get(nested, parent, APR_HASH_KEY_STRING);

            if (!child) {
                const char *id = sr_result_get(res, row, apr_pstrcat(p, parent, ".id", (char *)NULL));

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

static sr_json_t *view_one(sr_db_t *db, sr_query_t q, const char *id)
{
    sr_result_t *res = sr_db_select(db, q, SR_ARGS(id));

    if (!res || res->nrows == 0) {
        return NULL;
    }
    return sr_view_row(sr_db_pool(db), res, 0);
}

sr_json_t *sr_view_shop(sr_db_t *db, const char *id)
{
    return view_one(db, SR_Q_SHOP_GET, id);
}

sr_json_t *sr_view_appointment(sr_db_t *db, const char *id)
{
    return view_one(db, SR_Q_APPOINTMENT_GET, id);
}

sr_json_t *sr_view_slot_opening(sr_db_t *db, const char *id)
{
    sr_json_t *opening = view_one(db, SR_Q_SLOT_OPENING_GET, id);
    sr_json_t *offers;
    sr_result_t *res;
    int i;

    if (!opening) {
        return NULL;
    }
    res = sr_db_select(db, SR_Q_SLOT_OFFERS_OF_OPENING, SR_ARGS(id));
    if (!res) {
        return NULL;
    }
    offers = sr_json_array(sr_db_pool(db));
    for (i = 0; i < res->nrows; i++) {
        sr_json_append(offers, sr_view_row(sr_db_pool(db), res, i));
    }
    sr_json_set(opening, "offers", offers);
    return opening;
}
