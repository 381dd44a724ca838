/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Routing: sr_route_find over the route table (README's endpoint list),
 * sr_route_path, sr_path_match and sr_path_split (the mount of a request).
 */
#include "unit.h"

#include "sr_path.h"
#include "sr_routes.h"

static const struct {
    const char *path;
    sr_method_t method;
    sr_route_id_t want;
    const char *id;
} found[] = {
    {"/api/shops", SR_METHOD_POST, SR_ROUTE_SHOP_CREATE, NULL},
    {"/api/shops/7", SR_METHOD_PATCH, SR_ROUTE_SHOP_UPDATE, "7"},
    {"/api/shops/12/users", SR_METHOD_POST, SR_ROUTE_SHOP_USER_GRANT, "12"},
    {"/api/customers", SR_METHOD_POST, SR_ROUTE_CUSTOMER_CREATE, NULL},
    {"/api/appointments", SR_METHOD_POST, SR_ROUTE_APPOINTMENT_CREATE, NULL},
    {"/api/appointments/42", SR_METHOD_GET, SR_ROUTE_APPOINTMENT_GET, "42"},
    {"/api/appointments/42/cancel", SR_METHOD_POST, SR_ROUTE_APPOINTMENT_CANCEL, "42"},
    {"/api/slot-openings/900000000000000001", SR_METHOD_GET, SR_ROUTE_SLOT_OPENING_GET, "900000000000000001"},
    {"/api/jobs/offer-loop", SR_METHOD_POST, SR_ROUTE_JOB_OFFER_LOOP, NULL},
    {"/api/jobs/sweep", SR_METHOD_POST, SR_ROUTE_JOB_SWEEP, NULL},
    {"/api/jobs/outbox", SR_METHOD_POST, SR_ROUTE_JOB_OUTBOX, NULL},
    {"/api/twilio/status", SR_METHOD_POST, SR_ROUTE_TWILIO_STATUS, NULL},
    {"/api/twilio/inbound", SR_METHOD_POST, SR_ROUTE_TWILIO_INBOUND, NULL},
    {"/api/stripe/webhook", SR_METHOD_POST, SR_ROUTE_STRIPE_WEBHOOK, NULL},
    {"/app", SR_METHOD_GET, SR_ROUTE_DASH_HOME, NULL},
    {"/app/appointments", SR_METHOD_GET, SR_ROUTE_DASH_APPOINTMENTS, NULL},
    {"/app/appointments/3", SR_METHOD_GET, SR_ROUTE_DASH_APPOINTMENT, "3"},
    {"/app/appointments/3/cancel", SR_METHOD_POST, SR_ROUTE_DASH_CANCEL, "3"},
    {"/app/slot-openings.csv", SR_METHOD_GET, SR_ROUTE_DASH_SLOT_CSV, NULL},
    {"/app/slot-openings/5", SR_METHOD_GET, SR_ROUTE_DASH_SLOT_OPENING, "5"},
    {"/app/assets/slotrecovery.css", SR_METHOD_GET, SR_ROUTE_ASSET, NULL},
    {"/app/assets/favicon.svg", SR_METHOD_GET, SR_ROUTE_ASSET, NULL},
};

START_TEST(test_found)
{
    const char *id = "unset", *allow = "unset";
    const sr_route_t *r = sr_route_find(pool, found[_i].path, found[_i].method, &id, &allow);

    ck_assert_msg(r != NULL, "%s: no route", found[_i].path);
    ck_assert_int_eq(r->id, found[_i].want);
    if (found[_i].id) {
        ck_assert_str_eq(id, found[_i].id);
    }
    else {
        ck_assert_ptr_null(id);
    }
    /* Only the webhooks and the dashboard go without the internal secret. */
    ck_assert_int_eq(!!(r->flags & SR_ROUTE_INTERNAL), !strncmp(found[_i].path, "/api/", 5) &&
                                                           strncmp(found[_i].path, "/api/twilio/", 12) &&
                                                           strncmp(found[_i].path, "/api/stripe/", 12));
}
END_TEST

START_TEST(test_table)
{
    apr_size_t n;
    const sr_route_t *t = sr_routes(&n);

    /* Every route of the table is one of the cases above. */
    ck_assert_uint_eq(n, sizeof(found) / sizeof(found[0]));
    ck_assert_str_eq(t[0].pattern, "/api/shops");
}
END_TEST

START_TEST(test_not_found)
{
    const char *id, *allow;

    /* A known path, another method: 405 with the Allow header. */
    ck_assert_ptr_null(sr_route_find(pool, "/api/shops", SR_METHOD_GET, &id, &allow));
    ck_assert_str_eq(allow, "POST");
    ck_assert_ptr_null(sr_route_find(pool, "/api/appointments/9", SR_METHOD_POST, &id, &allow));
    ck_assert_str_eq(allow, "GET, HEAD");
    ck_assert_ptr_null(sr_route_find(pool, "/api/shops/9", SR_METHOD_GET, &id, &allow));
    ck_assert_str_eq(allow, "PATCH");
    ck_assert_ptr_null(sr_route_find(pool, "/app/appointments/3/cancel", SR_METHOD_GET, &id, &allow));
    ck_assert_str_eq(allow, "POST");
    /* No route at all: 404, no Allow. */
    ck_assert_ptr_null(sr_route_find(pool, "/api/nothing", SR_METHOD_GET, &id, &allow));
    ck_assert_ptr_null(allow);
    /* {id} is one positive integer segment. */
    ck_assert_ptr_null(sr_route_find(pool, "/api/appointments/abc", SR_METHOD_GET, &id, &allow));
    ck_assert_ptr_null(sr_route_find(pool, "/api/appointments/0", SR_METHOD_GET, &id, &allow));
    ck_assert_ptr_null(sr_route_find(pool, "/api/appointments/-1", SR_METHOD_GET, &id, &allow));
    ck_assert_ptr_null(sr_route_find(pool, "/api/appointments/", SR_METHOD_GET, &id, &allow));
    ck_assert_ptr_null(sr_route_find(pool, "/api/appointments/1/2", SR_METHOD_GET, &id, &allow));
    ck_assert_ptr_null(sr_route_find(pool, "/api/shopsX", SR_METHOD_POST, &id, &allow));
}
END_TEST

START_TEST(test_route_path)
{
    ck_assert_str_eq(sr_route_path(pool, "/api/shops/"), "/api/shops");
    ck_assert_str_eq(sr_route_path(pool, "/api/shops///"), "/api/shops");
    ck_assert_str_eq(sr_route_path(pool, "/app"), "/app");
    ck_assert_str_eq(sr_route_path(pool, "/"), "/");
    ck_assert_str_eq(sr_method_allow_name(SR_METHOD_GET), "GET, HEAD");
    ck_assert_str_eq(sr_method_allow_name(SR_METHOD_PATCH), "PATCH");
}
END_TEST

START_TEST(test_path_match)
{
    const char *id = NULL;

    ck_assert_int_eq(sr_path_match("/api/shops/{id}", "/api/shops/42", &id), 1);
    ck_assert_str_eq(id, "42");
    ck_assert_int_eq(sr_path_match("/api/shops/{id}/users", "/api/shops/42/users", &id), 1);
    ck_assert_int_eq(strncmp(id, "42/", 3), 0);
    ck_assert_int_eq(sr_path_match("/api/shops/{id}", "/api/shops/042", &id), 0);
    ck_assert_int_eq(sr_path_match("/api/shops/{id}", "/api/shops/4a", &id), 0);
    ck_assert_int_eq(sr_path_match("/api/shops", "/api/shops/1", &id), 0);
    ck_assert_int_eq(sr_path_match("/api/shops/{id}", "/api/shops", &id), 0);
}
END_TEST

START_TEST(test_path_split)
{
    apr_array_header_t *locs = apr_array_make(pool, 2, sizeof(const char *));
    const char *mount = NULL, *route = NULL;

    /* No <Location> seen: the first /api or /app segment is the route root. */
    ck_assert_int_eq(sr_path_split(pool, "/api/shops", locs, &mount, &route), 1);
    ck_assert_str_eq(mount, "");
    ck_assert_str_eq(route, "/api/shops");
    ck_assert_int_eq(sr_path_split(pool, "/slots/app/appointments", locs, &mount, &route), 1);
    ck_assert_str_eq(mount, "/slots");
    ck_assert_str_eq(route, "/app/appointments");
    ck_assert_int_eq(sr_path_split(pool, "/elsewhere/x", locs, &mount, &route), 0);
    /* A derived mount that a link must not carry. */
    ck_assert_int_eq(sr_path_split(pool, "/a b/api/shops", locs, &mount, &route), SR_PATH_UNSAFE_MOUNT);
    ck_assert_int_eq(sr_path_split(pool, "//evil.example/api/shops", locs, &mount, &route), SR_PATH_UNSAFE_MOUNT);
    /* A configured <Location> is the mount, whatever it holds. */
    APR_ARRAY_PUSH(locs, const char *) = "/my shop/";
    ck_assert_int_eq(sr_path_split(pool, "/my shop/api/shops", locs, &mount, &route), 1);
    ck_assert_str_eq(mount, "/my shop");
    ck_assert_str_eq(route, "/api/shops");
    /* <Location /x/api>: the mount is /x. */
    APR_ARRAY_PUSH(locs, const char *) = "/x/api";
    ck_assert_int_eq(sr_path_split(pool, "/x/api/customers", locs, &mount, &route), 1);
    ck_assert_str_eq(mount, "/x");
    ck_assert_str_eq(route, "/api/customers");
}
END_TEST

static Suite *routes_suite(void)
{
    Suite *s = suite_create("routes");
    TCase *tc = unit_case(s, "routes");

    tcase_add_loop_test(tc, test_found, 0, (int)(sizeof(found) / sizeof(found[0])));
    tcase_add_test(tc, test_table);
    tcase_add_test(tc, test_not_found);
    tcase_add_test(tc, test_route_path);
    tcase_add_test(tc, test_path_match);
    tcase_add_test(tc, test_path_split);
    return s;
}

SR_UNIT_MAIN(routes_suite)
