/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one list of every domain's statement table: what sr_db.c registers
 * with mod_dbd at start-up and prepares again after a session reset, and
 * what bench/tools/sr_statements_dump prints. A domain file that runs SQL
 * defines its statements beside their typed wrappers and lists them in its
 * sr_<domain>_statements[]; a new domain adds its table here.
 */
#include "sr_api.h"
#include "sr_booking.h"
#include "sr_dashboard.h"
#include "sr_db.h"
#include "sr_notify.h"
#include "sr_offer_loop.h"
#include "sr_page.h"
#include "sr_payments.h"
#include "sr_slots.h"
#include "sr_stripe_webhook.h"
#include "sr_twilio_credentials.h"
#include "sr_views.h"
#include "sr_watchdog.h"
#include "sr_worker.h"

const sr_statement_t *const *const sr_statement_tables[] = {
    sr_api_statements,
    sr_views_statements,
    sr_booking_statements,
    sr_offer_loop_statements,
    sr_dashboard_statements,
    sr_notify_statements,
    sr_page_appointment_statements,
    sr_page_appointments_statements,
    sr_page_slot_opening_statements,
    sr_page_slot_openings_csv_statements,
    sr_payments_statements,
    sr_slots_statements,
    sr_stripe_webhook_statements,
    sr_twilio_credentials_statements,
    sr_watchdog_statements,
    sr_worker_statements,
    NULL,
};
