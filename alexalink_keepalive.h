/* The keep-alive (SPEC "Links that last"): a mod_watchdog task that
 * refreshes due links at the upstream (alexalink_keepalive.c). */
#ifndef ALEXALINK_KEEPALIVE_H
#define ALEXALINK_KEEPALIVE_H

#include "alexalink_config.h"
#include "alexalink_linkstore.h"

/* Optional, also the store's: how many links it holds and when the next
 * one is due (APR_INT64_MAX: none), for the status page's gauges. Weak:
 * without it they stay 0. */
apr_status_t alexalink_linkstore_figures(const alx_link_store_t *st,
                                         apr_uint32_t *links,
                                         apr_time_t *next_due)
    __attribute__((weak));

/* AlexaLinkKeepAlive is on in some location of any server. */
int alexalink_keepalive_on(const server_rec *s);

/* Starts the keep-alive's watchdog task when some location has it on
 * (post_config, the real pass), and libcurl's global setup. */
int alexalink_keepalive_post_config(apr_pool_t *pconf, server_rec *s);

#endif
