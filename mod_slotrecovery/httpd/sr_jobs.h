/* SPDX-License-Identifier: Apache-2.0 */
/* The job endpoints: what external schedulers (cron, tests) call. */
#ifndef SR_JOBS_H
#define SR_JOBS_H

#include "sr_request.h"

/* POST /api/jobs/offer-loop {"slotOpeningId": ...} */
int sr_jobs_offer_loop(sr_req_t *req);
/* POST /api/jobs/sweep */
int sr_jobs_sweep(sr_req_t *req);
/* POST /api/jobs/outbox: one run of the worker (sr_worker) now */
int sr_jobs_outbox(sr_req_t *req);

#endif /* SR_JOBS_H */
