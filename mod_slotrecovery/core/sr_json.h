/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON behind an opaque type: the only file that knows jansson is sr_json.c.
 * Values live as long as the pool they were made in.
 */
#ifndef SR_JSON_H
#define SR_JSON_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef struct sr_json sr_json_t;

/* Result of reading one member of an object. */
typedef enum {
    SR_JSON_FOUND = 0,
    SR_JSON_ABSENT,    /* no such member, or it is null */
    SR_JSON_WRONG_TYPE /* present but not the type asked for */
} sr_json_get_t;

/* Parses a whole document; NULL and *error set when it is not valid JSON. */
sr_json_t *sr_json_parse(apr_pool_t *p, const char *data, apr_size_t len, const char **error);

sr_json_t *sr_json_object(apr_pool_t *p);
sr_json_t *sr_json_array(apr_pool_t *p);
int sr_json_is_object(const sr_json_t *j);

/* Whether the object has the member at all (null included). */
int sr_json_has(const sr_json_t *obj, const char *key);

sr_json_get_t sr_json_get_string(const sr_json_t *obj, const char *key, const char **value);
sr_json_get_t sr_json_get_int(const sr_json_t *obj, const char *key, apr_int64_t *value);
sr_json_get_t sr_json_get_bool(const sr_json_t *obj, const char *key, int *value);
/* An id may be sent as a string of digits or as a JSON integer. */
sr_json_get_t sr_json_get_id(const sr_json_t *obj, const char *key, const char **value);
/* A nested object or array member; NULL when absent or of another type. */
sr_json_t *sr_json_get_object(const sr_json_t *obj, const char *key);
/* An array's length (0 for anything else), and its element i (NULL past the end). */
apr_size_t sr_json_array_size(const sr_json_t *array);
sr_json_t *sr_json_array_get(const sr_json_t *array, apr_size_t i);

/* Setters: a NULL string sets JSON null. */
void sr_json_set_string(sr_json_t *obj, const char *key, const char *value);
void sr_json_set_int(sr_json_t *obj, const char *key, apr_int64_t value);
void sr_json_set_bool(sr_json_t *obj, const char *key, int value);
void sr_json_set_null(sr_json_t *obj, const char *key);
/* A NULL child sets JSON null. */
void sr_json_set(sr_json_t *obj, const char *key, sr_json_t *child);
void sr_json_append(sr_json_t *array, sr_json_t *child);

/* Compact serialisation, allocated from p. */
const char *sr_json_dump(apr_pool_t *p, const sr_json_t *j);

#endif /* SR_JSON_H */
