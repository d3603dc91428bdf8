/* The module's shared memory and its global mutex (alexalink_shared.c):
 * the counters' segment (lib/alx_stats: counters per vhost, the recent
 * events, the once-an-hour table, the store's figures), which exists with
 * or without a store, and the store's segment (the in-flight table of
 * lib/alx_flight, the eviction probes of lib/alx_probe, failure counts)
 * with the mutex that guards it. Both are made in post_config and kept
 * across a graceful restart. */
#ifndef ALEXALINK_SHARED_H
#define ALEXALINK_SHARED_H

#include "alexalink_config.h"
#include "apr_global_mutex.h"
#include "alx_flight.h"
#include "alx_probe.h"

/* The store's part of its segment; every child sees the same one. */
typedef struct {
    volatile apr_uint32_t failures;          /* atomics */
    volatile apr_uint32_t unreported;
    volatile apr_uint32_t last_failure_log;  /* seconds */
    apr_uint32_t unused;
    /* under the mutex */
    alx_probes_t probes;
    apr_time_t last_loss_log;
} alx_store_shared_t;

/* Registers the mutex type (pre_config: before Mutex directives). */
int alexalink_shared_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp);
/* The counters' segment, made or kept, each vhost given its block. */
int alexalink_shared_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                 apr_pool_t *ptemp, server_rec *s);
/* The store's segment and the mutex, made or kept (a store's post_config
 * asks for them); name and capacity are what the status page says of the
 * store. */
apr_status_t alexalink_shared_attach_store(server_rec *s, const char *name,
                                           apr_uint64_t capacity);
/* The mutex in a child; on failure the store is said to be "none". */
apr_status_t alexalink_shared_child_init(apr_pool_t *p, server_rec *s);

/* The mutex (the store's segment attached); always paired. */
apr_status_t alexalink_shared_lock(server_rec *s);
void alexalink_shared_unlock(server_rec *s);
alx_store_shared_t *alexalink_shared_store(server_rec *s);
alx_flight_t *alexalink_shared_flight(server_rec *s);

/* What the status page says of the store: its provider ("none") and, for
 * shmcb, the segment's size (0). */
void alexalink_shared_store_figures(server_rec *s, const char **name,
                                    apr_uint64_t *capacity);

/* True when key was not said within interval by any child (and now is);
 * lock-free, in the counters' segment, so it works with AlexaLinkCache
 * none. */
int alexalink_shared_once(request_rec *r, apr_uint64_t key,
                          apr_interval_time_t interval);

/* The store's figures in the counters' segment, atomically. */
void alexalink_shared_recorded(request_rec *r);
void alexalink_shared_outage(request_rec *r);
void alexalink_shared_survival(request_rec *r, apr_uint64_t lost,
                               apr_int64_t survival_s);

/* A segment's layout version as this build stamps and expects it (in a
 * build with test hooks, `Define ALX_TEST_LAYOUT_SKEW` moves it, as an
 * upgrade would). */
apr_uint32_t alexalink_layout(apr_uint32_t layout);

#endif
