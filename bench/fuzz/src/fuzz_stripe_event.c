/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sr_stripe_parse_event (mod_slotrecovery/core/sr_stripe_protocol.c) over sr_json_parse:
 * the input is the raw webhook body (any bytes, exact-size buffer).
 */
#include "fuzz_common.h"
#include "sr_stripe_protocol.h"
#include "sr_validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    sr_stripe_event_t event;
    char *body = malloc(size ? size : 1);
    const char *problem;

    fuzz_init();
    apr_pool_create(&p, fuzz_root);
    memcpy(body, data, size);
    problem = sr_stripe_parse_event(p, body, size, &event);
    if (!problem) {
        /* What the webhook relies on when the event is usable. */
        FUZZ_CHECK(event.id && *event.id && strlen(event.id) <= 255);
        FUZZ_CHECK(event.type && strlen(event.type) <= 255);
        FUZZ_CHECK(!event.metadata_payment_id || sr_valid_id(event.metadata_payment_id));
        (void)(event.intent_id && strlen(event.intent_id));
        (void)(event.failure_message && strlen(event.failure_message));
    }
    free(body);
    apr_pool_destroy(p);
    return 0;
}
