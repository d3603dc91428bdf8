/* What mod_proxy will do with a request (alexalink_proxy.c). */
#ifndef ALEXALINK_PROXY_H
#define ALEXALINK_PROXY_H

#include "alexalink_config.h"

void alexalink_proxy_post_config(server_rec *s);
apr_interval_time_t alexalink_proxy_timeout(request_rec *r);
apr_interval_time_t alexalink_proxy_url_timeout(apr_pool_t *p, server_rec *s,
                                                const char *url);

#endif
