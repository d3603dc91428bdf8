/* The exchange's log line and notes (alexalink_log.c). */
#ifndef ALEXALINK_LOG_H
#define ALEXALINK_LOG_H

#include "alexalink_config.h"

/* The log_transaction hook. */
int alexalink_log_exchange(request_rec *r);

#endif
