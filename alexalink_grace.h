/* Refresh grace and single flight (alexalink_grace.c). */
#ifndef ALEXALINK_GRACE_H
#define ALEXALINK_GRACE_H

#include "alexalink_exchange.h"

int alexalink_grace_before_proxy(request_rec *r, alx_exchange_rec *x,
                           const char **body, apr_size_t *len);
/* The answer as sent (status, type, body): recorded when a rotation, and
 * handed to the duplicates that waited on this request. */
void alexalink_grace_after_answer(request_rec *r, alx_exchange_rec *x,
                                  int status, const char *content_type,
                                  const char *body, apr_size_t len);
/* Keeps our claim alive while a slow upstream is still sending. */
void alexalink_grace_extend(request_rec *r, alx_exchange_rec *x);

#endif
