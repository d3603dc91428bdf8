/* mod_alexalink's private header, for mod_alexalink.c (the roof: hook
 * registration and the module record) alone: every room's header. The
 * rooms, each an adapter from httpd to lib/, include the headers of the
 * rooms they use, never this one:
 *   alexalink_config.c     directives, the configuration records, getters
 *   alexalink_shared.c     the shared segments and the global mutex
 *   alexalink_store.c      the grace store over mod_socache
 *   alexalink_token.c      the token endpoint (alexalink_exchange.h: what
 *                          one exchange learned)
 *   alexalink_grace.c      refresh grace and single flight
 *   alexalink_log.c        the exchange's log line and notes
 *   alexalink_authorize.c  the authorization flow and its login pages
 *   alexalink_status.c     the status page and what it counts
 *   alexalink_proxy.c      what mod_proxy will do with a request
 *   alexalink_linkstore.c  kept links in SQL over mod_dbd
 * Glue functions are alexalink_*, lib/ ones alx_*. */
#ifndef MOD_ALEXALINK_H
#define MOD_ALEXALINK_H

#include "alexalink_config.h"
#include "alexalink_shared.h"
#include "alexalink_store.h"
#include "alexalink_exchange.h"
#include "alexalink_token.h"
#include "alexalink_grace.h"
#include "alexalink_links.h"
#include "alexalink_log.h"
#include "alexalink_authorize.h"
#include "alexalink_status.h"
#include "alexalink_proxy.h"
#include "alexalink_linkstore.h"
#include "alexalink_keepalive.h"

#endif
