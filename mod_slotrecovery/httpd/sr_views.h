/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON views of database rows. Statements alias their columns to the API's
 * field names, so one function turns any row into an object.
 */
#ifndef SR_VIEWS_H
#define SR_VIEWS_H

#include "sr_db.h"
#include "sr_json.h"

/*
 * Row `row` of res as a JSON object. Columns named "a.b" become member b of
 * a nested object a, which is null when its "a.id" is NULL (an outer join
 * that found nothing). Known numeric and boolean fields get JSON types.
 */
sr_json_t *sr_view_row(apr_pool_t *p, const sr_result_t *res, int row);

/* Loaders: the full API view, NULL when absent or on a database error. */
sr_json_t *sr_view_shop(sr_db_t *db, const char *id);
sr_json_t *sr_view_appointment(sr_db_t *db, const char *id);
sr_json_t *sr_view_slot_opening(sr_db_t *db, const char *id);

#endif /* SR_VIEWS_H */
