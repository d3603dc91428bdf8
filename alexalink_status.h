/* The status page and what it counts (alexalink_status.c). */
#ifndef ALEXALINK_STATUS_H
#define ALEXALINK_STATUS_H

#include "alexalink_exchange.h"

void alexalink_status_register_hooks(void);
void alexalink_status_count(request_rec *r, alx_stat_e counter);
void alexalink_status_event(request_rec *r, alx_event_t *e);

/* Counts one exchange, after its line is logged (rejections included). */
void alexalink_status_exchange(request_rec *r, const alx_exchange_rec *x);

#endif
