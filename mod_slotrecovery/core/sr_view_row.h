/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One row of a result (column names, text cells, NULL for SQL NULL) as the
 * JSON object the API answers with: "customer.name" columns become nested
 * objects (null when the outer join found no row: its "customer.id" is NULL),
 * the API's numeric and boolean fields get their JSON types, every other
 * column is a string.
 */
#ifndef SR_VIEW_ROW_H
#define SR_VIEW_ROW_H

#include <apr_pools.h>

#include "sr_json.h"

sr_json_t *sr_view_row_json(apr_pool_t *p, int ncols, const char *const *names, const char *const *cells);

#endif /* SR_VIEW_ROW_H */
