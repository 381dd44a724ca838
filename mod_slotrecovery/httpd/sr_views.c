/* SPDX-License-Identifier: Apache-2.0 */
/* Rows to JSON, and the views the API answers with. */
#include "sr_view_row.h"
#include "sr_views.h"

sr_json_t *sr_view_row(apr_pool_t *p, const sr_result_t *res, int row)
{
    return sr_view_row_json(p, res->ncols, res->names, res->cells + (apr_size_t)row * (apr_size_t)res->ncols);
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
