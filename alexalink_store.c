/* The grace store: any mod_socache provider (shmcb by default, redis or
 * memcache for a fleet), its global mutex when the provider needs one, and
 * carrying entries across a graceful restart. Values are framed as an 8-byte
 * big-endian expiry followed by the sealed record, so entries copied across
 * a restart keep their expiry (socache iterators do not report it). */

#include "mod_alexalink.h"
#include "ap_mpm.h"
#include "ap_provider.h"
#include "util_mutex.h"

#define ALX_MUTEX_TYPE       "alexalink-cache"
#define ALX_CACHE_NAME       "alexalink"
#define ALX_DEFAULT_PROVIDER "shmcb"
#define ALX_DEFAULT_ARGS     "alexalink(4194304)"
#define ALX_RETAINED_KEY     "mod_alexalink-store-retained"
#define ALX_EXPIRY_LEN       8
#define ALX_FAILURE_LOG_GAP  apr_time_from_sec(60)

struct alx_store {
    const ap_socache_provider_t *provider;
    const char *name;
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex;      /* claims always; every call when the
                                       provider is not MP-safe (shmcb) */
    int lock_all;
    server_rec *s;
    /* Per process, after fork. */
    apr_time_t last_failure_log;
    apr_uint64_t failures;
    apr_uint64_t unreported;
};

/* Lives in the process pool, so it outlives the configuration pool that a
 * graceful restart clears. */
typedef struct {
    apr_pool_t *pool;
    apr_array_header_t *entries;
} alx_retained_t;

typedef struct {
    unsigned char *id;
    unsigned int idlen;
    unsigned char *data;
    unsigned int datalen;
} alx_retained_entry_t;

const char *alexalink_store_set_cache(cmd_parms *cmd, void *cfg, const char *arg)
{
    alx_server_conf *sc = alexalink_server_conf_get(cmd->server);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *colon;

    (void)cfg;
    if (err)
        return err;
    colon = ap_strchr_c(arg, ':');
    sc->provider_name = colon ? apr_pstrmemdup(cmd->pool, arg, colon - arg)
                              : arg;
    sc->provider_args = colon ? colon + 1 : NULL;
    if (!strcasecmp(sc->provider_name, "none")) {
        sc->disabled = 1;
        return NULL;
    }
    sc->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP,
                                      sc->provider_name,
                                      AP_SOCACHE_PROVIDER_VERSION);
    if (!sc->provider)
        return apr_psprintf(cmd->pool, "%s: no socache provider '%s' is "
                            "loaded; use shmcb, redis, memcache, dbm or none "
                            "and load its module first (e.g. a2enmod "
                            "socache_%s)", cmd->cmd->name, sc->provider_name,
                            sc->provider_name);
    return NULL;
}

int alexalink_store_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    return ap_mutex_register(pconf, ALX_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
}

static apr_status_t lock(alx_store_t *st)
{
    return apr_global_mutex_lock(st->mutex);
}

static void unlock(alx_store_t *st)
{
    apr_global_mutex_unlock(st->mutex);
}

/* Plain calls need the mutex only when the provider is not MP-safe. */
static apr_status_t lock_call(alx_store_t *st)
{
    return st->lock_all ? lock(st) : APR_SUCCESS;
}

static void unlock_call(alx_store_t *st)
{
    if (st->lock_all)
        unlock(st);
}

static apr_status_t retain_one(ap_socache_instance_t *instance, server_rec *s,
                               void *userctx, const unsigned char *id,
                               unsigned int idlen, const unsigned char *data,
                               unsigned int datalen, apr_pool_t *pool)
{
    alx_retained_t *ret = userctx;
    alx_retained_entry_t *e;

    (void)instance;
    (void)s;
    (void)pool;
    if (datalen <= ALX_EXPIRY_LEN)
        return APR_SUCCESS;
    e = apr_array_push(ret->entries);
    e->id = apr_pmemdup(ret->pool, id, idlen);
    e->idlen = idlen;
    e->data = apr_pmemdup(ret->pool, data, datalen);
    e->datalen = datalen;
    return APR_SUCCESS;
}

static apr_time_t frame_expiry(const unsigned char *data)
{
    apr_uint64_t v = 0;
    int i;

    for (i = 0; i < ALX_EXPIRY_LEN; i++)
        v = (v << 8) | data[i];
    return (apr_time_t)v;
}

/* On a graceful restart the parent copies what the store holds before the
 * configuration pool destroys it (shmcb and dbm start empty otherwise). */
static void retain_entries(alx_store_t *st)
{
    alx_retained_t *ret;
    apr_pool_t *tmp;

    if (!st->provider->iterate
        || ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_DESTROY_CONFIG)
        return;
    ret = ap_retained_data_get(ALX_RETAINED_KEY);
    if (!ret) {
        ret = ap_retained_data_create(ALX_RETAINED_KEY, sizeof(*ret));
        apr_pool_create(&ret->pool, st->s->process->pool);
    }
    apr_pool_clear(ret->pool);
    ret->entries = apr_array_make(ret->pool, 16, sizeof(alx_retained_entry_t));
    apr_pool_create(&tmp, ret->pool);
    if (lock(st) == APR_SUCCESS) {
        st->provider->iterate(st->instance, st->s, ret, retain_one, tmp);
        unlock(st);
    }
    apr_pool_destroy(tmp);
}

static void restore_entries(alx_store_t *st, server_rec *s, apr_pool_t *ptemp)
{
    alx_retained_t *ret = ap_retained_data_get(ALX_RETAINED_KEY);
    apr_time_t now = apr_time_now();
    int i, restored = 0;

    if (!ret || !ret->entries)
        return;
    if (lock(st) == APR_SUCCESS) {
        for (i = 0; i < ret->entries->nelts; i++) {
            alx_retained_entry_t *e = &APR_ARRAY_IDX(ret->entries, i,
                                                     alx_retained_entry_t);
            apr_time_t expiry = frame_expiry(e->data);

            if (expiry > now
                && st->provider->store(st->instance, s, e->id, e->idlen,
                                       expiry, e->data, e->datalen,
                                       ptemp) == APR_SUCCESS)
                restored++;
        }
        unlock(st);
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "ALX0204: grace store: %d "
                 "of %d entries carried over the restart", restored,
                 ret->entries->nelts);
    apr_pool_clear(ret->pool);
    ret->entries = NULL;
}

static apr_status_t store_cleanup(void *data)
{
    alx_store_t *st = data;

    retain_entries(st);
    st->provider->destroy(st->instance, st->s);
    return APR_SUCCESS;
}

int alexalink_store_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    alx_server_conf *sc = alexalink_server_conf_get(s);
    struct ap_socache_hints hints = {32, 2048, 30};
    const ap_socache_provider_t *provider = sc->provider;
    const char *name = sc->provider_name, *args = sc->provider_args, *err;
    alx_store_t *st;
    server_rec *vs;
    apr_status_t rv;

    (void)plog;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG
        || sc->disabled)
        return OK;
    if (!provider) {
        name = ALX_DEFAULT_PROVIDER;
        args = ALX_DEFAULT_ARGS;
        provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                      AP_SOCACHE_PROVIDER_VERSION);
        if (!provider) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ALX0200: refresh "
                         "grace is off: mod_socache_shmcb is not loaded "
                         "(a2enmod socache_shmcb) and AlexaLinkCache is not "
                         "set");
            return OK;
        }
    }
    st = apr_pcalloc(pconf, sizeof(*st));
    st->provider = provider;
    st->name = name;
    st->s = s;
    err = provider->create(&st->instance, args, ptemp, pconf);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "ALX0201: AlexaLinkCache "
                     "%s: %s", name, err);
        return !OK;
    }
    /* Also for MP-safe providers: a claim is a read and a write that must
     * not interleave with another child's. */
    st->lock_all = (provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) != 0;
    rv = ap_global_mutex_create(&st->mutex, NULL, ALX_MUTEX_TYPE, NULL, s,
                                pconf, 0);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ALX0202: cannot create "
                     "the grace store's mutex");
        return !OK;
    }
    rv = provider->init(st->instance, ALX_CACHE_NAME, &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ALX0203: cannot "
                     "initialise the grace store (AlexaLinkCache %s)", name);
        return !OK;
    }
    restore_entries(st, s, ptemp);
    apr_pool_cleanup_register(pconf, st, store_cleanup,
                              apr_pool_cleanup_null);
    for (vs = s; vs; vs = vs->next)
        alexalink_server_conf_get(vs)->store = st;
    return OK;
}

void alexalink_store_child_init(apr_pool_t *p, server_rec *s)
{
    alx_store_t *st = alexalink_server_conf_get(s)->store;
    apr_status_t rv;

    if (!st)
        return;
    rv = apr_global_mutex_child_init(&st->mutex,
                                     apr_global_mutex_lockfile(st->mutex), p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ALX0206: cannot attach "
                     "to the grace store's mutex; refresh grace is off");
        alexalink_server_conf_get(s)->store = NULL;
    }
}

static alx_store_t *store_of(request_rec *r)
{
    return alexalink_server_conf_get(r->server)->store;
}

int alexalink_store_available(request_rec *r)
{
    return store_of(r) != NULL;
}

/* MP-safe providers (redis, memcache) are the ones a fleet shares; shmcb
 * and dbm need our mutex and live on this machine. */
int alexalink_store_shared(request_rec *r)
{
    alx_store_t *st = store_of(r);

    return st && !st->lock_all;
}

/* Logged once a minute per process: an outage must not flood the log. */
static apr_status_t failed(request_rec *r, alx_store_t *st, apr_status_t rv,
                           const char *op)
{
    apr_time_t now = apr_time_now();

    st->failures++;
    st->unreported++;
    if (now - st->last_failure_log >= ALX_FAILURE_LOG_GAP) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, "ALX0205: grace store "
                      "(%s) failed to %s; %" APR_UINT64_T_FMT " failures in "
                      "this process since the last report; token requests "
                      "are proxied without refresh grace", st->name, op,
                      st->unreported);
        st->last_failure_log = now;
        st->unreported = 0;
    }
    return rv;
}

/* Strips the expiry frame from what retrieve gave. */
static apr_status_t unframe(request_rec *r, alx_store_t *st, apr_status_t rv,
                            unsigned char *buf, unsigned int *len,
                            unsigned int cap)
{
    if (rv == APR_NOTFOUND)
        return rv;
    if (rv != APR_SUCCESS)
        return failed(r, st, rv, "read");
    if (*len <= ALX_EXPIRY_LEN || *len > cap)
        return APR_NOTFOUND;
    *len -= ALX_EXPIRY_LEN;
    memmove(buf, buf + ALX_EXPIRY_LEN, *len);
    return APR_SUCCESS;
}

apr_status_t alexalink_store_get(request_rec *r, const unsigned char *id,
                           unsigned char *buf, unsigned int *len)
{
    alx_store_t *st = store_of(r);
    unsigned int cap = *len;
    apr_status_t rv;

    if (!st)
        return APR_ENOTIMPL;
    if ((rv = lock_call(st)) != APR_SUCCESS)
        return failed(r, st, rv, "lock");
    rv = st->provider->retrieve(st->instance, r->server, id, ALX_GRACE_ID_LEN,
                                buf, len, r->pool);
    unlock_call(st);
    return unframe(r, st, rv, buf, len, cap);
}

static unsigned char *frame(apr_pool_t *p, apr_time_t expiry,
                            const unsigned char *data, unsigned int len)
{
    unsigned char *framed = apr_palloc(p, len + ALX_EXPIRY_LEN);
    apr_uint64_t v = (apr_uint64_t)expiry;
    int i;

    for (i = ALX_EXPIRY_LEN - 1; i >= 0; i--, v >>= 8)
        framed[i] = (unsigned char)(v & 0xff);
    memcpy(framed + ALX_EXPIRY_LEN, data, len);
    return framed;
}

apr_status_t alexalink_store_put(request_rec *r, const unsigned char *id,
                           apr_time_t expiry, const unsigned char *data,
                           unsigned int len)
{
    alx_store_t *st = store_of(r);
    unsigned char *framed;
    apr_status_t rv;

    if (!st)
        return APR_ENOTIMPL;
    framed = frame(r->pool, expiry, data, len);
    if ((rv = lock_call(st)) != APR_SUCCESS)
        return failed(r, st, rv, "lock");
    rv = st->provider->store(st->instance, r->server, id, ALX_GRACE_ID_LEN,
                             expiry, framed, len + ALX_EXPIRY_LEN, r->pool);
    unlock_call(st);
    return rv == APR_SUCCESS ? rv : failed(r, st, rv, "write");
}

/* Stores data under id unless something is there already (APR_EEXIST):
 * atomic among the children of this server; across servers sharing redis
 * or memcached the caller reads its claim back. scratch (cap bytes, as large
 * as any value) receives what is there. */
apr_status_t alexalink_store_claim(request_rec *r, const unsigned char *id,
                                   apr_time_t expiry,
                                   const unsigned char *data, unsigned int len,
                                   unsigned char *scratch, unsigned int cap)
{
    alx_store_t *st = store_of(r);
    unsigned int got = cap;
    apr_status_t rv;

    if (!st)
        return APR_ENOTIMPL;
    if ((rv = lock(st)) != APR_SUCCESS)
        return failed(r, st, rv, "lock");
    rv = st->provider->retrieve(st->instance, r->server, id, ALX_GRACE_ID_LEN,
                                scratch, &got, r->pool);
    if (rv == APR_NOTFOUND)
        rv = st->provider->store(st->instance, r->server, id,
                                 ALX_GRACE_ID_LEN, expiry,
                                 frame(r->pool, expiry, data, len),
                                 len + ALX_EXPIRY_LEN, r->pool);
    else if (rv == APR_SUCCESS)
        rv = APR_EEXIST;
    unlock(st);
    return rv == APR_SUCCESS || rv == APR_EEXIST ? rv
                                                 : failed(r, st, rv, "claim");
}

apr_status_t alexalink_store_remove(request_rec *r, const unsigned char *id)
{
    alx_store_t *st = store_of(r);
    apr_status_t rv;

    if (!st)
        return APR_ENOTIMPL;
    if ((rv = lock_call(st)) != APR_SUCCESS)
        return failed(r, st, rv, "lock");
    rv = st->provider->remove(st->instance, r->server, id, ALX_GRACE_ID_LEN,
                              r->pool);
    unlock_call(st);
    return rv == APR_SUCCESS || rv == APR_NOTFOUND ? APR_SUCCESS
                                                   : failed(r, st, rv,
                                                            "remove");
}
