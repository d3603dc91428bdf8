/* An in-memory store behind lib/alx_store.h's table, for the refresh
 * protocol's unit tests and fuzz target: values in a hash shared by the
 * "servers" of a fleet (with a mutex, for tests that run threads), one
 * in-flight table per server, and one injected clock that only a sleep, or
 * the test, moves. A sleep may run the test's hook first: another request
 * acting while this one waits; an update may run one first: another
 * request acting between this one's look and its count. */
#ifndef ALX_MEMSTORE_H
#define ALX_MEMSTORE_H

#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_thread_mutex.h>

#include "alx_store.h"

#define MEM_ID_LEN 32

typedef struct {
    apr_pool_t *pool;
    apr_hash_t *values;          /* id -> mem_value_t */
    apr_thread_mutex_t *lock;
    apr_time_t clock;
    apr_time_t tick;             /* every look at the clock moves it this far */
    apr_uint64_t next_ticket;
    unsigned int gets, puts, updates;
    int fail;                    /* every operation fails (an outage) */
    int dead[8];                 /* owners that died */
} mem_fleet_t;

typedef struct {
    unsigned char *data;
    unsigned int len;
    apr_time_t expiry;
} mem_value_t;

typedef struct {
    alx_store_ops_t ops;
    mem_fleet_t *fleet;
    alx_flight_t *flight;
    apr_thread_mutex_t *flight_lock;
    void (*on_sleep)(void *hook_baton);
    void *hook_baton;
    /* before an update reads: another request acting between this one's
     * look and its read-modify-write */
    void (*on_update)(void *update_baton);
    void *update_baton;
} mem_server_t;

static void mem_lock(mem_fleet_t *f)
{
    if (f->lock)
        apr_thread_mutex_lock(f->lock);
}

static void mem_unlock(mem_fleet_t *f)
{
    if (f->lock)
        apr_thread_mutex_unlock(f->lock);
}

static mem_value_t *mem_find(mem_fleet_t *f, const unsigned char *id)
{
    mem_value_t *v = apr_hash_get(f->values, id, MEM_ID_LEN);

    return v && v->expiry > f->clock ? v : NULL;
}

static void mem_set(mem_fleet_t *f, const unsigned char *id,
                    const unsigned char *data, unsigned int len,
                    apr_time_t expiry)
{
    mem_value_t *v = apr_hash_get(f->values, id, MEM_ID_LEN);

    if (!v) {
        unsigned char *key = apr_pmemdup(f->pool, id, MEM_ID_LEN);

        v = apr_pcalloc(f->pool, sizeof(*v));
        apr_hash_set(f->values, key, MEM_ID_LEN, v);
    }
    free(v->data);
    v->data = malloc(len ? len : 1);
    memcpy(v->data, data, len);
    v->len = len;
    v->expiry = expiry;
}

static apr_status_t mem_get(void *baton, const unsigned char *id,
                            unsigned char *buf, unsigned int *len)
{
    mem_server_t *s = baton;
    mem_value_t *v;
    apr_status_t rv = APR_NOTFOUND;

    if (s->fleet->fail)
        return APR_EGENERAL;
    mem_lock(s->fleet);
    s->fleet->gets++;
    if ((v = mem_find(s->fleet, id)) && v->len <= *len) {
        memcpy(buf, v->data, v->len);
        *len = v->len;
        rv = APR_SUCCESS;
    }
    mem_unlock(s->fleet);
    return rv;
}

static apr_status_t mem_put(void *baton, const unsigned char *id,
                            apr_time_t expiry, const unsigned char *data,
                            unsigned int len, apr_interval_time_t window)
{
    mem_server_t *s = baton;

    (void)window;
    if (s->fleet->fail)
        return APR_EGENERAL;
    mem_lock(s->fleet);
    s->fleet->puts++;
    mem_set(s->fleet, id, data, len, expiry);
    mem_unlock(s->fleet);
    return APR_SUCCESS;
}

static apr_status_t mem_update(void *baton, const unsigned char *id,
                               unsigned char *scratch, unsigned int cap,
                               alx_store_update_fn fn, void *fn_baton)
{
    mem_server_t *s = baton;
    mem_value_t *v;
    const unsigned char *out = NULL;
    unsigned int out_len = 0, len = 0;
    apr_time_t expiry = 0;
    alx_store_change_e change;

    if (s->on_update)
        s->on_update(s->update_baton);
    if (s->fleet->fail)
        return APR_EGENERAL;
    mem_lock(s->fleet);
    s->fleet->updates++;
    if ((v = mem_find(s->fleet, id)) && v->len <= cap) {
        memcpy(scratch, v->data, v->len);
        len = v->len;
    }
    change = fn(fn_baton, v ? scratch : NULL, len, &out, &out_len, &expiry);
    if (change == ALX_STORE_PUT)
        mem_set(s->fleet, id, out, out_len, expiry);
    else if (change == ALX_STORE_REMOVE && v)
        v->expiry = 0;
    mem_unlock(s->fleet);
    return APR_SUCCESS;
}

static alx_flight_t *mem_flight_lock(void *baton)
{
    mem_server_t *s = baton;

    if (s->flight_lock)
        apr_thread_mutex_lock(s->flight_lock);
    return s->flight;
}

static void mem_flight_unlock(void *baton)
{
    mem_server_t *s = baton;

    if (s->flight_lock)
        apr_thread_mutex_unlock(s->flight_lock);
}

static int mem_alive(void *baton, apr_uint32_t owner)
{
    mem_server_t *s = baton;

    return owner >= 8 || !s->fleet->dead[owner];
}

static apr_time_t mem_now(void *baton)
{
    mem_server_t *s = baton;
    apr_time_t t;

    mem_lock(s->fleet);
    t = s->fleet->clock;
    s->fleet->clock += s->fleet->tick;
    mem_unlock(s->fleet);
    return t;
}

static void mem_sleep(void *baton, apr_interval_time_t t)
{
    mem_server_t *s = baton;

    if (s->on_sleep)
        s->on_sleep(s->hook_baton);
    mem_lock(s->fleet);
    s->fleet->clock += t;
    mem_unlock(s->fleet);
}

static apr_status_t mem_random(void *baton, unsigned char *buf,
                               apr_size_t len)
{
    mem_server_t *s = baton;
    apr_uint64_t ticket;

    mem_lock(s->fleet);
    ticket = ++s->fleet->next_ticket;
    mem_unlock(s->fleet);
    memset(buf, 0, len);
    memcpy(buf, &ticket, len < sizeof(ticket) ? len : sizeof(ticket));
    return APR_SUCCESS;
}

static mem_fleet_t *mem_fleet(apr_pool_t *p, int threads)
{
    mem_fleet_t *f = apr_pcalloc(p, sizeof(*f));

    f->pool = p;
    f->values = apr_hash_make(p);
    f->clock = apr_time_from_sec(1000000);
    if (threads)
        apr_thread_mutex_create(&f->lock, APR_THREAD_MUTEX_DEFAULT, p);
    return f;
}

/* A server of the fleet with an in-flight table of slots; shared: its
 * claims go to the fleet's store too. */
static mem_server_t *mem_server(apr_pool_t *p, mem_fleet_t *f,
                                unsigned int slots, int shared,
                                apr_uint32_t owner, int threads)
{
    mem_server_t *s = apr_pcalloc(p, sizeof(*s));
    apr_size_t size = alx_flight_size(slots);

    s->fleet = f;
    s->flight = alx_flight_init(apr_pcalloc(p, size), size, slots);
    if (threads)
        apr_thread_mutex_create(&s->flight_lock, APR_THREAD_MUTEX_DEFAULT, p);
    s->ops.baton = s;
    s->ops.get = mem_get;
    s->ops.put = mem_put;
    s->ops.update = mem_update;
    s->ops.flight_lock = mem_flight_lock;
    s->ops.flight_unlock = mem_flight_unlock;
    s->ops.alive = mem_alive;
    s->ops.owner = owner;
    s->ops.shared = shared;
    s->ops.now = mem_now;
    s->ops.sleep = mem_sleep;
    s->ops.random = mem_random;
    return s;
}

/* The values malloc'd for the fleet. */
static void mem_fleet_free(mem_fleet_t *f)
{
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(f->pool, f->values); hi; hi = apr_hash_next(hi)) {
        mem_value_t *v = apr_hash_this_val(hi);

        free(v->data);
        v->data = NULL;
    }
}

#endif
