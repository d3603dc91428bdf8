/* The keep-alive (SPEC "Links that last"): a mod_watchdog task that
 * refreshes due links at the upstream (alexalink_keepalive.c). */
#ifndef ALEXALINK_KEEPALIVE_H
#define ALEXALINK_KEEPALIVE_H

#include "alexalink_config.h"
#include "alexalink_linkstore.h"

/* AlexaLinkKeepAlive is on in some location of any server. */
int alexalink_keepalive_on(const server_rec *s);

/* Starts the keep-alive's watchdog task when some location has it on
 * (post_config, the real pass), and libcurl's global setup. */
int alexalink_keepalive_post_config(apr_pool_t *pconf, server_rec *s);

#endif
