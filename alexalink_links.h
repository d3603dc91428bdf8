/* Links that last on the token path (alexalink_links.c). */
#ifndef ALEXALINK_LINKS_H
#define ALEXALINK_LINKS_H

#include "alexalink_exchange.h"

/* Before the request goes upstream: a refresh token of a kept link is
 * swapped for the link's newest, or answered from the step the keep-alive
 * made (DONE: alexalink_token_handler answers). OK otherwise. */
int alexalink_links_before_proxy(request_rec *r, alx_exchange_rec *x,
                                 const char **body, apr_size_t *len);
/* After the answer: records the link Alexa now holds, or lets its claim
 * go. */
void alexalink_links_after_answer(request_rec *r, alx_exchange_rec *x);

#endif
