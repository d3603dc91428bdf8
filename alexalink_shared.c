/* The module's shared memory and its global mutex: the counters' segment
 * (laid out by lib/alx_stats: counters per vhost, updated with atomics; a
 * lock-free ring of recent events; the once-an-hour table, which must work
 * without a store; the store's figures) and the store's segment (the
 * in-flight table of lib/alx_flight, the eviction probes of lib/alx_probe,
 * the store's failure counts) with the mutex that guards it. Both are made
 * in post_config and kept across a graceful restart. */

#include "alexalink_shared.h"
#include "ap_mpm.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "apr_atomic.h"
#include "apr_hash.h"
#include "apr_shm.h"
#include "apr_strings.h"
#include "util_mutex.h"
#include "alx_segment.h"

#define ALX_MUTEX_TYPE       "alexalink-cache"
#define ALX_RETAINED_SHM_KEY "mod_alexalink-shared-retained"
#define ALX_STATUS_RETAINED  "mod_alexalink-status-retained"
/* The store mutex's mechanism unless a Mutex directive names another.
 * APR's default on Linux is a robust pthread mutex with priority
 * inheritance, which hands a contended lock to the sleeping waiter through
 * the kernel: with dozens of threads on few cores the lock sits idle until
 * the waiter runs, and refreshes queue behind it (wrk, 8 connections:
 * 0.31-0.39 of plain proxy throughput, against 0.51-0.59 with System V
 * semaphores, bench/). SysV semaphores are released by the kernel when a
 * child dies holding one (SEM_UNDO), as robust mutexes are. */
#if APR_HAS_SYSVSEM_SERIALIZE
#define ALX_STORE_LOCK_MECH  APR_LOCK_SYSVSEM
#else
#define ALX_STORE_LOCK_MECH  APR_LOCK_DEFAULT
#endif
/* Flight slots per request the server can serve at once (a dead child's
 * claims linger until they expire), within these bounds. */
#define ALX_FLIGHT_PER_WORKER 2
#define ALX_FLIGHT_MIN        64
#define ALX_FLIGHT_MAX        4096

/* This process's view of both segments, in every server's record. */
struct alx_shared {
    apr_global_mutex_t *mutex;      /* the store's: the flight table,
                                       read-modify-writes, every call when
                                       its provider is not MP-safe */
    alx_store_shared_t *store;
    alx_flight_t *flight;
    const char *store_name;         /* NULL: no store in this process */
    apr_uint64_t store_capacity;
};

static apr_status_t store_described(alx_shared_t *sh, const char *name,
                                    apr_uint64_t capacity)
{
    sh->store_name = name;
    sh->store_capacity = capacity;
    return APR_SUCCESS;
}

int alexalink_shared_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    return ap_mutex_register(pconf, ALX_MUTEX_TYPE, NULL, ALX_STORE_LOCK_MECH,
                             0);
}

/* Kept by the parent across restarts, which may load another build of
 * the module: its fields stay as they are; what the segment holds is in
 * the segment's own head (alx_segment.h). */
typedef struct {
    apr_shm_t *shm;
    unsigned int vhosts;    /* always 0: builds before heads attached when */
    unsigned int events;    /* these matched, and so never do */
} alx_status_retained_t;

apr_uint32_t alexalink_layout(apr_uint32_t layout)
{
#ifdef ALX_TEST_HOOKS
    /* test builds only: the e2e suite's stand-in for an upgrade */
    if (ap_exists_config_define("ALX_TEST_LAYOUT_SKEW"))
        return layout + 1000;
#endif
    return layout;
}

/* Each vhost's identity: its name as the log says it ("name:port"), and
 * for a second vhost of the same name, which one it is in the list. */
static apr_uint64_t *vhost_keys(apr_pool_t *p, server_rec *s,
                                unsigned int *n)
{
    apr_hash_t *seen = apr_hash_make(p);
    apr_array_header_t *keys = apr_array_make(p, 8, sizeof(apr_uint64_t));
    server_rec *vs;

    for (vs = s; vs; vs = vs->next) {
        const char *name = alexalink_vhost_name(p, vs);
        unsigned int *count = apr_hash_get(seen, name, APR_HASH_KEY_STRING);

        if (!count) {
            count = apr_pcalloc(p, sizeof(*count));
            apr_hash_set(seen, name, APR_HASH_KEY_STRING, count);
        }
        APR_ARRAY_PUSH(keys, apr_uint64_t) = alx_once_key(
            name, (*count)++ ? apr_psprintf(p, "#%u", *count) : "");
    }
    *n = (unsigned int)keys->nelts;
    return (apr_uint64_t *)(void *)keys->elts;
}

/* The segment kept by the parent, unless another build laid it out. */
static alx_stats_t *kept(apr_pool_t *pconf, server_rec *s,
                         alx_status_retained_t *ret, apr_uint32_t layout)
{
    char why[160];
    alx_stats_t *old;

    if (!ret->shm)
        return NULL;
    old = alx_stats_open(pconf, apr_shm_baseaddr_get(ret->shm),
                         apr_shm_size_get(ret->shm), layout, why,
                         sizeof(why));
    if (!old)
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "ALX0404: status "
                     "counters start afresh: their shared memory was laid "
                     "out by another build (%s); dropped: every vhost's "
                     "counters and latencies, the recent events, the store "
                     "figures and the once-an-hour memory", why);
    return old;
}

/* A vhost with none of our directives shares the main server's conf;
 * its block of counters is its own, so it gets a copy (every field set in
 * post_config is set for each vhost, after this). */
static alx_server_conf *own_conf(apr_pool_t *pconf, server_rec *s,
                                 server_rec *vs)
{
    alx_server_conf *sc = alexalink_server_conf_get(vs);

    if (vs != s && sc == alexalink_server_conf_get(s)) {
        sc = apr_pmemdup(pconf, sc, sizeof(*sc));
        alexalink_server_conf_set(vs, sc);
    }
    return sc;
}

/* Counters survive a graceful restart, each with its vhost: the segment
 * is kept when it holds the same vhosts (in any order) and ring size; else
 * a new one takes what the old one counted, by identity (alx_stats_carry),
 * and the old children that still map the old one keep it. */
int alexalink_shared_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                 apr_pool_t *ptemp, server_rec *s)
{
    alx_status_retained_t *ret;
    alx_server_conf *sc = alexalink_server_conf_get(s);
    unsigned int i, vhosts, *block, events = sc->status_events > 0
                                             ? (unsigned int)sc->status_events
                                             : ALX_STATUS_EVENTS;
    apr_uint32_t layout = alexalink_layout(ALX_STATS_LAYOUT);
    alx_stats_t *st, *old;
    alx_shared_t *handle;
    apr_uint64_t *keys;
    apr_shm_t *shm = NULL;
    apr_size_t size;
    server_rec *vs;
    apr_status_t rv;

    (void)plog;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    keys = vhost_keys(ptemp, s, &vhosts);
    block = apr_pcalloc(ptemp, sizeof(*block) * vhosts);
    if (!(ret = ap_retained_data_get(ALX_STATUS_RETAINED)))
        ret = ap_retained_data_create(ALX_STATUS_RETAINED, sizeof(*ret));
    old = kept(pconf, s, ret, layout);
    if (old && alx_stats_match(old, keys, vhosts, events, block))
        st = old;
    else {
        size = alx_stats_size(vhosts, events);
        rv = apr_shm_create(&shm, size, NULL, s->process->pool);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ALX0401: cannot "
                         "create %" APR_SIZE_T_FMT " bytes of shared memory "
                         "for the status page's counters", size);
            return !OK;
        }
        st = alx_stats_init(pconf, apr_shm_baseaddr_get(shm), size, layout,
                            keys, vhosts, events, apr_time_now());
        for (i = 0; i < vhosts; i++)
            block[i] = i;
        if (old)
            alx_stats_carry(ptemp, st, old);
        if (ret->shm)   /* the old children that still map it keep it */
            apr_shm_destroy(ret->shm);
        ret->shm = shm;
        ret->vhosts = ret->events = 0;
    }
    handle = apr_pcalloc(pconf, sizeof(*handle));
    for (vs = s, i = 0; vs; vs = vs->next, i++) {
        own_conf(pconf, s, vs)->vhost_index = block[i];
        alexalink_server_conf_get(vs)->stats = st;
        alexalink_server_conf_get(vs)->shared = handle;
    }
    return OK;
}

/* Once per interval per key, across all children; with no status segment
 * (never after a good start) always. */
int alexalink_shared_once(request_rec *r, apr_uint64_t key,
                          apr_interval_time_t interval)
{
    alx_stats_t *st = alexalink_server_conf_get(r->server)->stats;

    return !st || alx_once_due(alx_stats_once(st), key, apr_time_now(),
                               interval);
}

/* How many requests the server can serve at once, from the MPM. */
static unsigned int flight_slots(void)
{
    int daemons = 0, threads = 0;
    apr_uint64_t n;

    ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &daemons);
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    n = (apr_uint64_t)(daemons > 0 ? daemons : 1) * (threads > 0 ? threads : 1)
        * ALX_FLIGHT_PER_WORKER;
    return n < ALX_FLIGHT_MIN ? ALX_FLIGHT_MIN
                              : n > ALX_FLIGHT_MAX ? ALX_FLIGHT_MAX
                                                   : (unsigned int)n;
}

/* Our segment and the mutex that guards it outlive a graceful restart: a
 * refresh that an old-generation child still holds keeps its claim, and
 * its answer still reaches the duplicates that new children hold. Only a
 * change of the MPM's size brings a new table (old children keep theirs),
 * or a segment that another build laid out (an upgrade: its head,
 * alx_segment.h, says so). The parent keeps this struct across restarts
 * and builds: its fields stay as they are. */
typedef struct {
    apr_shm_t *shm;
    unsigned int slots;     /* always 0: the head says the size. Builds
                               before heads attached when it matched */
    apr_global_mutex_t *mutex;
} alx_retained_shared_t;

/* Bump when a field of alx_store_shared_t or of the flight table changes
 * meaning; a change of their sizes is caught without it. */
#define ALX_STORE_LAYOUT 1

/* The segment: the head, our shared struct, the flight table. */
#define ALX_SHARED_AT APR_ALIGN(sizeof(alx_segment_t), 64)
#define ALX_FLIGHT_AT (ALX_SHARED_AT + APR_ALIGN(sizeof(alx_store_shared_t), 64))

static void shared_want(alx_segment_want_t *w, unsigned int slots)
{
    const apr_size_t sizes[] = {
        sizeof(alx_segment_t), sizeof(alx_store_shared_t),
        sizeof(alx_probes_t), alx_flight_size(1), alx_flight_size(2)
    };

    w->magic = ALX_SEGMENT_STORE;
    w->layout = alexalink_layout(ALX_STORE_LAYOUT);
    w->shape = alx_segment_shape(sizes, sizeof(sizes) / sizeof(sizes[0]));
    w->size = ALX_FLIGHT_AT + alx_flight_size(slots);
}

/* The kept segment when this build laid it out for as many slots; one
 * that another build laid out is said, one of another size (the MPM's
 * changed) is not. */
static int shared_kept(alx_retained_shared_t *ret,
                       const alx_segment_want_t *want, server_rec *s)
{
    alx_segment_want_t any_size = *want;
    char why[160];
    void *base;

    if (!ret->shm)
        return 0;
    base = apr_shm_baseaddr_get(ret->shm);
    any_size.size = 0;
    if (alx_segment_matches(base, apr_shm_size_get(ret->shm), &any_size, why,
                            sizeof(why)))
        return ((alx_segment_t *)base)->size == want->size;
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "ALX0405: grace store: its "
                 "shared memory was laid out by another build (%s); "
                 "dropped: the in-flight refreshes' table (a refresh still "
                 "running in an old child is not seen by the new ones), "
                 "the eviction probes and the store's failure counts", why);
    return 0;
}

apr_status_t alexalink_shared_attach_store(server_rec *s, const char *name,
                                           apr_uint64_t capacity)
{
    alx_shared_t *sh = alexalink_server_conf_get(s)->shared;
    alx_retained_shared_t *ret = ap_retained_data_get(ALX_RETAINED_SHM_KEY);
    unsigned int slots = flight_slots();
    apr_pool_t *pool = s->process->pool;
    alx_segment_want_t want;
    apr_shm_t *shm;
    char *base;
    apr_status_t rv;

    if (!ret)
        ret = ap_retained_data_create(ALX_RETAINED_SHM_KEY, sizeof(*ret));
    if (!ret->mutex) {
        rv = ap_global_mutex_create(&ret->mutex, NULL, ALX_MUTEX_TYPE, NULL,
                                    s, pool, 0);
        if (rv != APR_SUCCESS)
            return rv;
    }
    sh->mutex = ret->mutex;
    shared_want(&want, slots);
    if (shared_kept(ret, &want, s)) {
        base = apr_shm_baseaddr_get(ret->shm);
        sh->store = (alx_store_shared_t *)(base + ALX_SHARED_AT);
        sh->flight = (alx_flight_t *)(base + ALX_FLIGHT_AT);
        return store_described(sh, name, capacity);
    }
    if (ret->shm)   /* the children that still map it keep it */
        apr_shm_destroy(ret->shm);
    ret->shm = NULL;
    rv = apr_shm_create(&shm, want.size, NULL, pool);
    if (rv != APR_SUCCESS)
        return rv;
    base = apr_shm_baseaddr_get(shm);
    memset(base, 0, ALX_FLIGHT_AT);
    sh->store = (alx_store_shared_t *)(base + ALX_SHARED_AT);
    sh->flight = alx_flight_init(base + ALX_FLIGHT_AT,
                                 want.size - ALX_FLIGHT_AT, slots);
    if (!sh->flight)
        return APR_ENOSPC;
    alx_segment_stamp(base, &want);   /* last: a half-made one never matches */
    ret->shm = shm;
    ret->slots = 0;   /* so that a build from before heads never attaches */
    return store_described(sh, name, capacity);
}

apr_status_t alexalink_shared_child_init(apr_pool_t *p, server_rec *s)
{
    alx_shared_t *sh = alexalink_server_conf_get(s)->shared;
    apr_status_t rv;

    if (!sh || !sh->mutex)
        return APR_SUCCESS;
    rv = apr_global_mutex_child_init(&sh->mutex,
                                     apr_global_mutex_lockfile(sh->mutex), p);
    if (rv != APR_SUCCESS)
        sh->store_name = NULL;
    return rv;
}

apr_status_t alexalink_shared_lock(server_rec *s)
{
    return apr_global_mutex_lock(alexalink_server_conf_get(s)->shared->mutex);
}

void alexalink_shared_unlock(server_rec *s)
{
    apr_global_mutex_unlock(alexalink_server_conf_get(s)->shared->mutex);
}

alx_store_shared_t *alexalink_shared_store(server_rec *s)
{
    return alexalink_server_conf_get(s)->shared->store;
}

alx_flight_t *alexalink_shared_flight(server_rec *s)
{
    return alexalink_server_conf_get(s)->shared->flight;
}

void alexalink_shared_store_figures(server_rec *s, const char **name,
                                    apr_uint64_t *capacity)
{
    const alx_shared_t *sh = alexalink_server_conf_get(s)->shared;

    *name = sh && sh->store_name ? sh->store_name : "none";
    *capacity = sh && sh->store_name ? sh->store_capacity : 0;
}

/* ---- the store's figures in the counters' segment ----------------------- */

static alx_stats_head_t *head_of(request_rec *r)
{
    alx_stats_t *st = alexalink_server_conf_get(r->server)->stats;

    return st ? alx_stats_head(st) : NULL;
}

void alexalink_shared_recorded(request_rec *r)
{
    alx_stats_head_t *h = head_of(r);

    if (h)
        apr_atomic_inc32(&h->records);
}

void alexalink_shared_outage(request_rec *r)
{
    alx_stats_head_t *h = head_of(r);

    if (h)
        apr_atomic_inc32(&h->outages);
}

void alexalink_shared_survival(request_rec *r, apr_uint64_t lost,
                               apr_int64_t survival_s)
{
    alx_stats_head_t *h = head_of(r);

    if (!h)
        return;
    apr_atomic_set32(&h->evictions, (apr_uint32_t)lost);
    apr_atomic_set32(&h->survival_s, survival_s > 0 ? (apr_uint32_t)survival_s
                                                    : 0);
}
