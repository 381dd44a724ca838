/* SPDX-License-Identifier: Apache-2.0 */
/* The module's one user of jansson. */
#include <jansson.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "sr_json.h"

struct sr_json {
    json_t *value;
    apr_pool_t *pool;
};

static apr_status_t json_cleanup(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

/* Takes over the reference held by value; the pool releases it. */
static sr_json_t *wrap(apr_pool_t *p, json_t *value)
{
    sr_json_t *j;

    if (!value) {
        return NULL;
    }
    j = apr_palloc(p, sizeof(*j));
    j->value = value;
    j->pool = p;
    apr_pool_cleanup_register(p, value, json_cleanup, apr_pool_cleanup_null);
    return j;
}

sr_json_t *sr_json_parse(apr_pool_t *p, const char *data, apr_size_t len, const char **error)
{
    json_error_t jerr;
    /* Duplicate keys are ambiguous input: refuse them rather than pick one. */
    json_t *value = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);

    if (!value) {
        *error = apr_psprintf(p, "%s at line %d column %d", jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    return wrap(p, value);
}

sr_json_t *sr_json_object(apr_pool_t *p)
{
    return wrap(p, json_object());
}

sr_json_t *sr_json_array(apr_pool_t *p)
{
    return wrap(p, json_array());
}

int sr_json_is_object(const sr_json_t *j)
{
    return j && json_is_object(j->value);
}

int sr_json_has(const sr_json_t *obj, const char *key)
{
    return json_object_get(obj->value, key) != NULL;
}

static json_t *member(const sr_json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj->value, key);

    return json_is_null(v) ? NULL : v;
}

sr_json_get_t sr_json_get_string(const sr_json_t *obj, const char *key, const char **value)
{
    json_t *v = member(obj, key);

    if (!v) {
        return SR_JSON_ABSENT;
    }
    if (!json_is_string(v)) {
        return SR_JSON_WRONG_TYPE;
    }
    *value = apr_pstrmemdup(obj->pool, json_string_value(v), json_string_length(v));
    return SR_JSON_FOUND;
}

sr_json_get_t sr_json_get_int(const sr_json_t *obj, const char *key, apr_int64_t *value)
{
    json_t *v = member(obj, key);

    if (!v) {
        return SR_JSON_ABSENT;
    }
    if (!json_is_integer(v)) {
        return SR_JSON_WRONG_TYPE;
    }
    *value = (apr_int64_t)json_integer_value(v);
    return SR_JSON_FOUND;
}

sr_json_get_t sr_json_get_bool(const sr_json_t *obj, const char *key, int *value)
{
    json_t *v = member(obj, key);

    if (!v) {
        return SR_JSON_ABSENT;
    }
    if (!json_is_boolean(v)) {
        return SR_JSON_WRONG_TYPE;
    }
    *value = json_is_true(v);
    return SR_JSON_FOUND;
}

sr_json_get_t sr_json_get_id(const sr_json_t *obj, const char *key, const char **value)
{
    json_t *v = member(obj, key);

    if (!v) {
        return SR_JSON_ABSENT;
    }
    if (json_is_integer(v)) {
        if (json_integer_value(v) <= 0) {
            return SR_JSON_WRONG_TYPE;
        }
        *value = apr_psprintf(obj->pool, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(v));
        return SR_JSON_FOUND;
    }
    if (json_is_string(v)) {
        *value = apr_pstrmemdup(obj->pool, json_string_value(v), json_string_length(v));
        return SR_JSON_FOUND;
    }
    return SR_JSON_WRONG_TYPE;
}

sr_json_t *sr_json_get_object(const sr_json_t *obj, const char *key)
{
    json_t *v = member(obj, key);

    if (!v || !(json_is_object(v) || json_is_array(v))) {
        return NULL;
    }
    return wrap(obj->pool, json_incref(v));
}

apr_size_t sr_json_array_size(const sr_json_t *array)
{
    return array && json_is_array(array->value) ? json_array_size(array->value) : 0;
}

sr_json_t *sr_json_array_get(const sr_json_t *array, apr_size_t i)
{
    json_t *v = array && json_is_array(array->value) ? json_array_get(array->value, i) : NULL;

    return v ? wrap(array->pool, json_incref(v)) : NULL;
}

void sr_json_set_string(sr_json_t *obj, const char *key, const char *value)
{
    /* Values come from PostgreSQL (valid UTF-8); json_string refuses anything else. */
    json_t *v = value ? json_string(value) : NULL;

    json_object_set_new(obj->value, key, v ? v : json_null());
}

void sr_json_set_int(sr_json_t *obj, const char *key, apr_int64_t value)
{
    json_object_set_new(obj->value, key, json_integer((json_int_t)value));
}

void sr_json_set_bool(sr_json_t *obj, const char *key, int value)
{
    json_object_set_new(obj->value, key, json_boolean(value));
}

void sr_json_set_null(sr_json_t *obj, const char *key)
{
    json_object_set_new(obj->value, key, json_null());
}

void sr_json_set(sr_json_t *obj, const char *key, sr_json_t *child)
{
    /* json_object_set takes its own reference: both pools may release theirs. */
    json_object_set(obj->value, key, child ? child->value : json_null());
}

void sr_json_append(sr_json_t *array, sr_json_t *child)
{
    json_array_append(array->value, child->value);
}

const char *sr_json_dump(apr_pool_t *p, const sr_json_t *j)
{
    char *s = json_dumps(j->value, JSON_COMPACT | JSON_ENSURE_ASCII);
    const char *copy;

    if (!s) {
        return "null";
    }
    copy = apr_pstrdup(p, s);
    free(s);
    return copy;
}
