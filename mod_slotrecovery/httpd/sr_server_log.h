/* SPDX-License-Identifier: Apache-2.0 */
/* The core's log callback (core/sr_log.h) filled with ap_log_error for a server_rec. */
#ifndef SR_SERVER_LOG_H
#define SR_SERVER_LOG_H

#include "mod_slotrecovery.h"
#include "sr_log.h"

/*
 * A log that writes through ap_log_error for s (NULL: the main server,
 * ap_server_conf), as this module (LogLevel slotrecovery:...), each line
 * with SR_LOG_PREFIX. Valid as long as s.
 */
sr_log_t sr_server_log(server_rec *s);

#endif /* SR_SERVER_LOG_H */
