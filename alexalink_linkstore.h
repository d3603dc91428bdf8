/* The link store (lib/alx_link.h's alx_link_store_t) in SQL over httpd's
 * mod_dbd (alexalink_linkstore.c). */
#ifndef ALEXALINK_LINKSTORE_H
#define ALEXALINK_LINKSTORE_H

#include "alexalink_config.h"
#include "alx_link.h"

#define ALX_LINKSTORE_TABLE "alexalink_links"

/* The link store for a request, over mod_dbd's pooled connection
 * (ap_dbd_acquire). NULL, logged, when mod_dbd is not loaded, no DBDriver
 * is configured, the database cannot be reached or the table cannot be
 * made. The table is made (CREATE TABLE IF NOT EXISTS) once per process
 * on first use, and again when an operation finds it gone. The owner in
 * claims names this host and process (hostname:pid). */
const alx_link_store_t *alexalink_linkstore_request(request_rec *r);

/* The same outside a request (the watchdog): a connection from
 * ap_dbd_open, given back (ap_dbd_close) when p is cleared. */
const alx_link_store_t *alexalink_linkstore_open(apr_pool_t *p, server_rec *s);

/* For the status page's gauges: how many links the store holds and when
 * the next one is due (APR_INT64_MAX: none). */
apr_status_t alexalink_linkstore_figures(const alx_link_store_t *st,
                                         apr_uint32_t *links,
                                         apr_time_t *next_due);

#ifdef ALX_TEST_HOOKS
#define ALX_LINKSTORE_TEST_HANDLER "alexalink-linkstore-test"
/* Test builds only: runs the steps in the query against the store. */
int alexalink_linkstore_test_handler(request_rec *r);
#endif

#endif
