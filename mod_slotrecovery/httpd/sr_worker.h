/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The worker: performs the side effects state changes wrote as rows in their
 * transactions (the outbox): offers' SMS (slot_offers pending), deposits
 * (payments without a PaymentIntent), refunds (refunds due or pending) and
 * texts to customers (customer_notifications pending). Each kind is claimed
 * with FOR UPDATE SKIP LOCKED and a lease that covers the slowest batch,
 * performed after the claim has committed (no transaction or lock is held
 * while a provider answers) and recorded with bounded retries and backoff.
 *
 * It also decides what follows: slots a failed deposit released, and slots
 * whose offer failed for good, are advanced, and the offers that makes are
 * sent in the same run. The watchdog runs it every SlotRecoveryWorkerInterval;
 * POST /api/jobs/outbox (and the sweep job) run it on demand.
 */
#ifndef SR_WORKER_H
#define SR_WORKER_H

#include "sr_context.h"
#include "sr_offer_loop.h"

typedef struct {
    sr_sweep_report_t offers; /* offers_sent, offers_failed; slots advanced and expired after failures */
    int payments;             /* deposits handled (asked of Stripe, or settled without asking) */
    int refunds;              /* refunds asked of Stripe or looked up */
    int notifications;        /* texts to customers attempted */
} sr_worker_report_t;

/* A run's bound: past it no new batch is claimed (what is claimed is finished and recorded). */
#define SR_WORKER_BUDGET apr_time_from_sec(20)

/* One run: everything due, kind after kind, until nothing is due or the budget is spent. */
sr_status_t sr_worker_run(sr_ctx_t *ctx, apr_interval_time_t budget, sr_worker_report_t *report);

/* Whether the run did anything (for the log). */
int sr_worker_report_any(const sr_worker_report_t *report);

/* The statements sr_worker.c runs (listed in sr_statement_tables.c). */
extern const sr_statement_t *const sr_worker_statements[];

#endif /* SR_WORKER_H */
