/* The grace store: any mod_socache provider (shmcb by default, redis or
 * memcache for a fleet), carrying entries across a graceful restart, under
 * the module's mutex where the provider needs it (alexalink_shared.c, whose
 * segment holds what must never compete with records for room: the
 * in-flight table, the eviction probes, the failure counts). Values are
 * framed as an 8-byte big-endian expiry followed by the sealed value, so
 * entries copied across a restart keep their expiry (socache iterators do
 * not report it); on dbm, which keeps only small values, split over keys
 * (lib/alx_chunk), each piece framed the same way. */

#include "alexalink_store.h"
#include "alexalink_shared.h"
#include "ap_provider.h"
#include "apr_atomic.h"
#include "alx_chunk.h"
#include "alx_probe.h"

#define ALX_CACHE_NAME       "alexalink"
#define ALX_DEFAULT_PROVIDER "shmcb"
#define ALX_DEFAULT_ARGS     "alexalink(4194304)"
#define ALX_RETAINED_KEY     "mod_alexalink-store-retained"
#define ALX_EXPIRY_LEN       ALX_STORE_FRAME_LEN  /* the frame: an expiry */
#define ALX_DEFAULT_SIZE     4194304
#define ALX_LOG_GAP          60          /* seconds between repeated lines */
/* shmcb sizes its index from the average value: a record is the answer plus
 * 82 bytes, and a typical answer with opaque tokens about 240 (README,
 * "Sizing"); too high a guess leaves the data area idle once the index is
 * full, so the guess errs low. */
#define ALX_HINT_ID_LEN      ALX_GRACE_ID_LEN
#define ALX_HINT_VALUE_LEN   320
/* mod_socache_dbm refuses a key and value of 950 bytes or more together
 * (its guess at sdbm's PAIRMAX, which it cannot see). With sdbm (APR's
 * default DBM; Debian's apr-util uses Berkeley DB instead) the key, the
 * provider's own 8-byte expiry and the value are one pair in a 1024-byte
 * page, 1008 bytes at most; a page holds two pairs of up to 507 bytes (its
 * count and offsets take 10), and a page of two always splits. So a value
 * goes to dbm in pieces whose pair stays within ALX_DBM_PAIR: key (id and
 * piece index), expiry, our frame, the piece's head and its bytes. */
#define ALX_DBM_LIMIT        950
#define ALX_DBM_PAIR         500
#define ALX_DBM_KEY_MAX      (ALX_GRACE_ID_LEN + ALX_CHUNK_KEY_EXTRA)
#define ALX_DBM_PIECE        (ALX_DBM_PAIR - ALX_DBM_KEY_MAX - 8 \
                              - ALX_EXPIRY_LEN - ALX_CHUNK_HEAD_LEN)
#define ALX_DBM_VALUE_MAX    (ALX_EXPIRY_LEN + ALX_CHUNK_HEAD_LEN + ALX_DBM_PIECE)
#if ALX_DBM_KEY_MAX + ALX_DBM_VALUE_MAX >= ALX_DBM_LIMIT
#error "a dbm piece must stay below mod_socache_dbm's limit"
#endif
/* Every record the grace store keeps (alexalink_grace.c's ALX0215) fits. */
#if (ALX_STORE_MAX_VALUE + ALX_DBM_PIECE - 1) / ALX_DBM_PIECE > ALX_CHUNK_MAX
#error "ALX_STORE_MAX_VALUE takes more dbm pieces than a record may have"
#endif

struct alx_store {
    const ap_socache_provider_t *provider;
    const char *name;
    const char *args;
    ap_socache_instance_t *instance;
    ap_socache_instance_t *flows;   /* authorization flows, apart so that a
                                       flood of them never evicts a record */
    int lock_all;                   /* the shared mutex around every call:
                                       the provider is not MP-safe (shmcb,
                                       dbm) */
    int missing_is_egeneral;        /* dbm: see retrieve() */
    server_rec *s;
    alx_store_shared_t *shared;     /* our part of the shared segment */
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

static apr_status_t lock(alx_store_t *st)
{
    return alexalink_shared_lock(st->s);
}

static void unlock(alx_store_t *st)
{
    alexalink_shared_unlock(st->s);
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
    /* redis and memcached cannot list what they hold, and need not: their
     * records live in the server, not in Apache */
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "ALX0204: grace store: %s",
                 !st->lock_all && ret->entries->nelts == 0
                 ? apr_psprintf(ptemp, "records stay in the %s server across "
                                "the restart", st->name)
                 : apr_psprintf(ptemp, "%d of %d entries carried over the "
                                "restart", restored, ret->entries->nelts));
    apr_pool_clear(ret->pool);
    ret->entries = NULL;
}

static apr_status_t store_cleanup(void *data)
{
    alx_store_t *st = data;

    retain_entries(st);
    st->provider->destroy(st->instance, st->s);
    if (st->flows)
        st->provider->destroy(st->flows, st->s);
    return APR_SUCCESS;
}

/* The segment size AlexaLinkCache gave shmcb, or 0 for other providers. */
static apr_uint64_t shmcb_size(const alx_store_t *st)
{
    const char *open;

    if (strcasecmp(st->name, "shmcb"))
        return 0;
    open = st->args ? strrchr(st->args, '(') : NULL;
    return open ? (apr_uint64_t)apr_atoi64(open + 1) : 512 * 1024;
}

/* The flows' own instance of the same provider: shmcb and dbm get files
 * next to the records' ("-flows"), shmcb an eighth of the size (at least
 * 64 KiB); redis and memcache the same server, apart by namespace. */
static const char *flows_args(apr_pool_t *p, const char *name,
                              const char *args)
{
    const char *open;
    apr_int64_t size;

    if (!strcasecmp(name, "shmcb")) {
        args = args ? args : ALX_DEFAULT_ARGS;
        open = strrchr(args, '(');
        size = open ? apr_atoi64(open + 1) / 8 : 0;
        return apr_psprintf(p, "%.*s-flows(%" APR_INT64_T_FMT ")",
                            (int)(open ? open - args : (int)strlen(args)),
                            args, size < 65536 ? 65536 : size);
    }
    if (!strcasecmp(name, "dbm") && args)
        return apr_pstrcat(p, args, "-flows", NULL);
    return args;
}

static apr_status_t create_flows(alx_store_t *st, server_rec *s,
                                 apr_pool_t *ptemp, apr_pool_t *pconf)
{
    struct ap_socache_hints hints = {ALX_HINT_ID_LEN, 160,
                                     apr_time_from_sec(60)};
    const char *err = st->provider->create(&st->flows,
                                           flows_args(pconf, st->name,
                                                      st->args),
                                           ptemp, pconf);

    if (err) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "ALX0208: AlexaLinkCache "
                     "%s, the authorization flows' store: %s", st->name, err);
        st->flows = NULL;
        return APR_EGENERAL;
    }
    return st->provider->init(st->flows, ALX_CACHE_NAME "-flows", &hints, s,
                              pconf);
}

int alexalink_store_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    alx_server_conf *sc = alexalink_server_conf_get(s);
    struct ap_socache_hints hints = {ALX_HINT_ID_LEN, ALX_HINT_VALUE_LEN,
                                     apr_time_from_sec(30)};
    const ap_socache_provider_t *provider = sc->provider;
    const char *name = sc->provider_name, *args = sc->provider_args, *err;
    ap_socache_instance_t *instance = sc->instance;
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
        err = provider->create(&instance, args, ptemp, pconf);
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "ALX0201: "
                         "AlexaLinkCache %s: %s", name, err);
            return !OK;
        }
    }
    st = apr_pcalloc(pconf, sizeof(*st));
    st->provider = provider;
    st->name = name;
    st->args = args;
    st->s = s;
    st->instance = instance;
    st->lock_all = (provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) != 0;
    st->missing_is_egeneral = !strcasecmp(name, "dbm");
    rv = alexalink_shared_attach_store(s, name, shmcb_size(st));
    st->shared = alexalink_shared_store(s);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ALX0202: cannot create "
                     "the grace store's mutex or its shared memory for "
                     "in-flight refreshes");
        return !OK;
    }
    rv = provider->init(st->instance, ALX_CACHE_NAME, &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ALX0203: cannot "
                     "initialise the grace store (AlexaLinkCache %s)", name);
        return !OK;
    }
    if (create_flows(st, s, ptemp, pconf) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "ALX0209: cannot "
                     "initialise the authorization flows' store "
                     "(AlexaLinkCache %s)", name);
        return !OK;
    }
    restore_entries(st, s, ptemp);
    /* before pconf's subpools go: the providers keep theirs there
     * (mod_socache_dbm's iterate and destroy allocate from one), and a
     * plain cleanup runs after they are destroyed */
    apr_pool_pre_cleanup_register(pconf, st, store_cleanup);
    for (vs = s; vs; vs = vs->next)
        alexalink_server_conf_get(vs)->store = st;
    return OK;
}

void alexalink_store_child_init(apr_pool_t *p, server_rec *s)
{
    alx_store_t *st = alexalink_server_conf_get(s)->store;
    server_rec *vs;
    apr_status_t rv;

    if (!st)
        return;
    rv = alexalink_shared_child_init(p, s);
    if (rv == APR_SUCCESS)
        return;
    ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ALX0206: cannot attach "
                 "to the grace store's mutex; refresh grace is off in this "
                 "process");
    for (vs = s; vs; vs = vs->next)   /* every vhost shares the one store */
        alexalink_server_conf_get(vs)->store = NULL;
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

/* Counted in every child and logged once a minute by whichever sees it
 * first: an outage must not flood the log. */
static apr_status_t failed(request_rec *r, alx_store_t *st, apr_status_t rv,
                           const char *op)
{
    alx_store_shared_t *sh = st->shared;
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t last = apr_atomic_read32(&sh->last_failure_log);

    apr_atomic_inc32(&sh->failures);
    apr_atomic_inc32(&sh->unreported);
    alexalink_shared_outage(r);
    if (now - last >= ALX_LOG_GAP
        && apr_atomic_cas32(&sh->last_failure_log, now, last) == last)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, "ALX0205: grace store "
                      "(%s) failed to %s; %u failures since the last report; "
                      "token requests are proxied without refresh grace "
                      "meanwhile", st->name, op,
                      apr_atomic_xchg32(&sh->unreported, 0));
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
    if (*len <= ALX_EXPIRY_LEN || *len > cap
        || frame_expiry(buf) <= apr_time_now())
        return APR_NOTFOUND;
    *len -= ALX_EXPIRY_LEN;
    memmove(buf, buf + ALX_EXPIRY_LEN, *len);
    return APR_SUCCESS;
}

static void put_expiry(unsigned char *d, apr_time_t expiry)
{
    apr_uint64_t v = (apr_uint64_t)expiry;
    int i;

    for (i = ALX_EXPIRY_LEN - 1; i >= 0; i--, v >>= 8)
        d[i] = (unsigned char)(v & 0xff);
}

static unsigned char *frame(apr_pool_t *p, apr_time_t expiry,
                            const unsigned char *data, unsigned int len)
{
    unsigned char *framed = apr_palloc(p, len + ALX_EXPIRY_LEN);

    put_expiry(framed, expiry);
    memcpy(framed + ALX_EXPIRY_LEN, data, len);
    return framed;
}

/* mod_socache_dbm answers a key it does not hold with APR_EGENERAL, not
 * APR_NOTFOUND: apr_dbm_fetch succeeds with a NULL datum for a missing key
 * (every apr_dbm type) and the provider maps that to APR_EGENERAL, while
 * its real failures (opening the file) return their own status. */
static apr_status_t retrieve_key(request_rec *r, alx_store_t *st,
                                 const unsigned char *key, unsigned int keylen,
                                 unsigned char *buf, unsigned int *len)
{
    apr_status_t rv = st->provider->retrieve(st->instance, r->server, key,
                                             keylen, buf, len, r->pool);

    return rv == APR_EGENERAL && st->missing_is_egeneral ? APR_NOTFOUND : rv;
}

static apr_status_t retrieve(request_rec *r, alx_store_t *st,
                             const unsigned char *id, unsigned char *buf,
                             unsigned int *len)
{
    return retrieve_key(r, st, id, ALX_GRACE_ID_LEN, buf, len);
}

/* Values are split over keys where the provider keeps only small ones:
 * mod_socache_dbm, the provider that says a missing key with EGENERAL. */
static int split_values(const alx_store_t *st)
{
    return st->missing_is_egeneral;
}

/* A record from its pieces (alx_chunk), whole or APR_NOTFOUND: a missing
 * piece, or one of another write, is no record. */
static apr_status_t split_get(request_rec *r, alx_store_t *st,
                              const unsigned char *id, unsigned char *buf,
                              unsigned int *len)
{
    /* room for an older single-key value too, which then reads as none */
    unsigned char piece[ALX_DBM_LIMIT], key[ALX_DBM_KEY_MAX];
    alx_chunk_join_t j;
    apr_status_t rv = APR_INCOMPLETE;
    unsigned int n;
    unsigned i;

    alx_chunk_join_start(&j, buf, *len);
    for (i = 0; rv == APR_INCOMPLETE; i++) {
        n = sizeof(piece);
        rv = retrieve_key(r, st, key, (unsigned int)alx_chunk_key(key, id,
                          ALX_GRACE_ID_LEN, i), piece, &n);
        if (rv == APR_NOTFOUND)
            return rv;
        if (rv != APR_SUCCESS)
            return failed(r, st, rv, "read");
        if (n <= ALX_EXPIRY_LEN)
            return APR_NOTFOUND;
        rv = alx_chunk_join_add(&j, (apr_uint64_t)frame_expiry(piece),
                                piece + ALX_EXPIRY_LEN, n - ALX_EXPIRY_LEN);
    }
    if (rv != APR_SUCCESS)
        return APR_NOTFOUND;
    *len = (unsigned int)j.got;
    return APR_SUCCESS;
}

/* Pieces from the last to the first, which names them: a write cut short
 * leaves no first piece, or pieces another first piece does not match. */
static apr_status_t split_put(request_rec *r, alx_store_t *st,
                              const unsigned char *id, apr_time_t expiry,
                              const unsigned char *data, unsigned int len)
{
    unsigned char *value = apr_palloc(r->pool, ALX_DBM_VALUE_MAX);
    unsigned char key[ALX_DBM_KEY_MAX], *d;
    alx_chunk_head_t h;
    apr_size_t at, n;
    apr_status_t rv;
    unsigned i;

    h.count = alx_chunk_count(len, ALX_DBM_PIECE);
    if (h.count == 0)   /* beyond ALX_STORE_MAX_VALUE, which the #if keeps */
        return APR_ENOSPC;
    h.total = len;
    h.tag = alx_chunk_tag((apr_uint64_t)expiry, data, len);
    for (i = h.count; i-- > 0;) {
        at = (apr_size_t)i * ALX_DBM_PIECE;
        n = len - at < ALX_DBM_PIECE ? len - at : ALX_DBM_PIECE;
        h.index = i;
        put_expiry(value, expiry);
        d = alx_chunk_put_head(value + ALX_EXPIRY_LEN, &h);
        memcpy(d, data + at, n);
        rv = st->provider->store(st->instance, r->server, key,
                                 (unsigned int)alx_chunk_key(key, id,
                                 ALX_GRACE_ID_LEN, i), expiry, value,
                                 (unsigned int)(d + n - value), r->pool);
        if (rv != APR_SUCCESS)
            return rv;
    }
    return APR_SUCCESS;
}

/* The first piece goes first (the record is gone at once), then the rest
 * it names; a piece left over (a failure between) expires with it. */
static apr_status_t split_remove(request_rec *r, alx_store_t *st,
                                 const unsigned char *id)
{
    unsigned char piece[ALX_DBM_LIMIT], key[ALX_DBM_KEY_MAX];
    unsigned int n = sizeof(piece);
    alx_chunk_head_t h;
    apr_status_t rv;
    unsigned i;

    if (retrieve(r, st, id, piece, &n) != APR_SUCCESS || n <= ALX_EXPIRY_LEN
        || !alx_chunk_get_head(piece + ALX_EXPIRY_LEN, n - ALX_EXPIRY_LEN, &h))
        h.count = 1;
    rv = st->provider->remove(st->instance, r->server, id, ALX_GRACE_ID_LEN,
                              r->pool);
    for (i = 1; i < h.count; i++)
        st->provider->remove(st->instance, r->server, key,
                             (unsigned int)alx_chunk_key(key, id,
                             ALX_GRACE_ID_LEN, i), r->pool);
    return rv;
}

/* The provider calls, the mutex already held when the caller needs it. */
static apr_status_t raw_get(request_rec *r, alx_store_t *st,
                            const unsigned char *id, unsigned char *buf,
                            unsigned int *len)
{
    unsigned int cap = *len;
    apr_status_t rv;

    if (split_values(st))
        return split_get(r, st, id, buf, len);
    rv = retrieve(r, st, id, buf, len);
    return unframe(r, st, rv, buf, len, cap);
}

static apr_status_t raw_put(request_rec *r, alx_store_t *st,
                            const unsigned char *id, apr_time_t expiry,
                            const unsigned char *data, unsigned int len)
{
    /* redis and memcached are told whole seconds from now, cut down (a
     * value meant to live less than one is refused), and memcached's clock
     * ticks once a second: a value could go up to two seconds early. The
     * provider keeps it two seconds longer; the frame holds the real
     * expiry, and unframe() enforces it. */
    apr_time_t now = apr_time_now();
    apr_status_t rv = split_values(st)
        ? split_put(r, st, id, expiry, data, len)
        : st->provider->store(st->instance, r->server, id, ALX_GRACE_ID_LEN,
                              (expiry > now ? expiry : now)
                              + apr_time_from_sec(2),
                              frame(r->pool, expiry, data, len),
                              len + ALX_EXPIRY_LEN, r->pool);

    return rv == APR_SUCCESS ? rv : failed(r, st, rv, "write");
}

static apr_status_t raw_remove(request_rec *r, alx_store_t *st,
                               const unsigned char *id)
{
    apr_status_t rv = split_values(st)
        ? split_remove(r, st, id)
        : st->provider->remove(st->instance, r->server, id, ALX_GRACE_ID_LEN,
                               r->pool);

    return rv == APR_SUCCESS || rv == APR_NOTFOUND
           ? APR_SUCCESS : failed(r, st, rv, "remove");
}

/* Plain calls need the mutex only when the provider is not MP-safe. */
static apr_status_t lock_call(request_rec *r, alx_store_t *st)
{
    apr_status_t rv = st->lock_all ? lock(st) : APR_SUCCESS;

    return rv == APR_SUCCESS ? rv : failed(r, st, rv, "lock");
}

static void unlock_call(alx_store_t *st)
{
    if (st->lock_all)
        unlock(st);
}

apr_status_t alexalink_store_get(request_rec *r, const unsigned char *id,
                           unsigned char *buf, unsigned int *len)
{
    alx_store_t *st = store_of(r);
    apr_status_t rv;

    if (!st)
        return APR_ENOTIMPL;
    if ((rv = lock_call(r, st)) != APR_SUCCESS)
        return rv;
    rv = raw_get(r, st, id, buf, len);
    unlock_call(st);
    return rv;
}

apr_status_t alexalink_store_put(request_rec *r, const unsigned char *id,
                           apr_time_t expiry, const unsigned char *data,
                           unsigned int len)
{
    alx_store_t *st = store_of(r);
    apr_status_t rv;

    if (!st)
        return APR_ENOTIMPL;
    if ((rv = lock_call(r, st)) != APR_SUCCESS)
        return rv;
    rv = raw_put(r, st, id, expiry, data, len);
    unlock_call(st);
    return rv;
}

/* Read, decide, write, with no other child of this server in between
 * (across servers sharing redis or memcached there is no such lock). */
apr_status_t alexalink_store_update(request_rec *r, const unsigned char *id,
                                    unsigned char *scratch, unsigned int cap,
                                    alx_store_update_fn fn, void *baton)
{
    alx_store_t *st = store_of(r);
    const unsigned char *out = NULL;
    unsigned int len = cap, out_len = 0;
    apr_time_t expiry = 0;
    apr_status_t rv;

    if (!st)
        return APR_ENOTIMPL;
    if ((rv = lock(st)) != APR_SUCCESS)
        return failed(r, st, rv, "lock");
    rv = raw_get(r, st, id, scratch, &len);
    if (rv == APR_SUCCESS || rv == APR_NOTFOUND) {
        switch (fn(baton, rv == APR_SUCCESS ? scratch : NULL,
                   rv == APR_SUCCESS ? len : 0, &out, &out_len, &expiry)) {
        case ALX_STORE_PUT:
            rv = raw_put(r, st, id, expiry, out, out_len);
            break;
        case ALX_STORE_REMOVE:
            rv = raw_remove(r, st, id);
            break;
        default:
            rv = APR_SUCCESS;
            break;
        }
    }
    unlock(st);
    return rv;
}

alx_flight_t *alexalink_store_flight_lock(request_rec *r)
{
    alx_store_t *st = store_of(r);
    apr_status_t rv;

    if (!st)
        return NULL;
    if ((rv = lock(st)) != APR_SUCCESS) {
        failed(r, st, rv, "lock");
        return NULL;
    }
    return alexalink_shared_flight(r->server);
}

void alexalink_store_flight_unlock(request_rec *r)
{
    unlock(store_of(r));
}

void alexalink_store_flight_full(request_rec *r)
{
    alx_store_t *st = store_of(r);

    if (st)
        failed(r, st, APR_ENOSPC, "claim a refresh token (the in-flight "
               "table is full of claims)");
}

typedef struct {
    request_rec *r;
    alx_store_t *st;
    unsigned char *buf;     /* ALX_STORE_MAX_VALUE: providers complain (or
                               say NOTFOUND) when a value does not fit */
    apr_time_t now;
    apr_interval_time_t window;
} alx_probe_baton_t;

/* redis and memcached evict the least recently used entries, and a lookup
 * is a use: a probe looked at every few seconds would outlive the records
 * it stands for (redis with allkeys-lru evicted 1240 records in 32 s and no
 * probe). So there each probe is looked at once, at an age of its own
 * between 1/16 and 15/16 of the window (from its id), and then forgotten
 * (an expiry of now); the youngest lost still tells how long records live.
 * shmcb pushes out the oldest whatever was read, and is looked at every
 * time. False: not looked at yet. */
static int probe_once(alx_probe_baton_t *b, const unsigned char *id,
                      alx_probe_t **probe)
{
    alx_probes_t *ps = &b->st->shared->probes;
    apr_uint32_t i;

    for (i = 0; i < ps->used; i++) {
        alx_probe_t *p = &ps->probe[i];

        if (memcmp(p->id, id, ALX_PROBE_ID_LEN))
            continue;
        *probe = p;
        return b->now - p->written
               >= b->window / ALX_PROBES * (1 + id[0] % (ALX_PROBES - 1));
    }
    *probe = NULL;
    return 1;
}

static int probe_found(void *baton, const unsigned char *id)
{
    alx_probe_baton_t *b = baton;
    unsigned int len = ALX_STORE_MAX_VALUE;
    alx_probe_t *p = NULL;
    int found;

    if (!b->st->lock_all && !probe_once(b, id, &p))
        return 1;
    /* a failing store is not a lost record */
    found = retrieve(b->r, b->st, id, b->buf, &len) != APR_NOTFOUND;
    if (found && p)
        p->expiry = b->now;
    return found;
}

static void log_loss(request_rec *r, alx_store_t *st,
                     apr_interval_time_t window)
{
    const alx_probes_t *ps = &st->shared->probes;
    apr_uint64_t size = shmcb_size(st);
    apr_int64_t survival = apr_time_sec(ps->survival);
    apr_int64_t window_s = apr_time_sec(window);

    if (size)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0220: grace store "
                      "full: records are pushed out after about %" APR_INT64_T_FMT
                      " s, before AlexaLinkRefreshGrace (%" APR_INT64_T_FMT
                      " s) ends (%" APR_UINT64_T_FMT " lost so far); a rotated "
                      "refresh token presented after that goes to the "
                      "upstream. A segment of %" APR_UINT64_T_FMT " bytes "
                      "would hold the window: AlexaLinkCache shmcb:PATH(%"
                      APR_UINT64_T_FMT ")", survival, window_s, ps->lost,
                      alx_probes_size_for(size, window, ps->survival),
                      alx_probes_size_for(size, window, ps->survival));
    else
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0221: grace store "
                      "(%s) full: records are pushed out after about %"
                      APR_INT64_T_FMT " s, before AlexaLinkRefreshGrace (%"
                      APR_INT64_T_FMT " s) ends (%" APR_UINT64_T_FMT " lost so "
                      "far); give it about %" APR_INT64_T_FMT " times the "
                      "memory it has", st->name, survival, window_s, ps->lost,
                      survival > 0 ? (window_s + survival - 1) / survival : 1);
}

/* The bookkeeping of a record just written (how long records survive),
 * the mutex held. */
static void recorded_locked(request_rec *r, alx_store_t *st,
                            const unsigned char *id, apr_time_t expiry,
                            apr_interval_time_t window)
{
    alx_store_shared_t *sh = st->shared;
    apr_interval_time_t interval = window / ALX_PROBES;
    apr_time_t now = apr_time_now();
    alx_probe_baton_t b = {r, st, NULL, now, window};

    if (interval < apr_time_from_sec(1))
        interval = apr_time_from_sec(1);
    alexalink_shared_recorded(r);
    alx_probes_add(&sh->probes, id, now, expiry, interval);
    if (alx_probes_due(&sh->probes, now, interval < apr_time_from_sec(10)
                                         ? interval : apr_time_from_sec(10))
        && (b.buf = apr_palloc(r->pool, ALX_STORE_MAX_VALUE))
        && alx_probes_check(&sh->probes, now, probe_found, &b) > 0) {
        alexalink_shared_survival(r, sh->probes.lost,
                                  apr_time_sec(sh->probes.survival));
        if (now - sh->last_loss_log >= apr_time_from_sec(ALX_LOG_GAP)) {
            sh->last_loss_log = now;
            log_loss(r, st, window);
        }
    }
}

/* A record and its bookkeeping under one hold of the mutex when the
 * provider needs it anyway: each hold is a system call with a file or
 * semaphore lock, and a queue under load. */
apr_status_t alexalink_store_put_record(request_rec *r,
                                        const unsigned char *id,
                                        apr_time_t expiry,
                                        const unsigned char *data,
                                        unsigned int len,
                                        apr_interval_time_t window)
{
    alx_store_t *st = store_of(r);
    apr_status_t rv;

    if (!st)
        return APR_ENOTIMPL;
    if (!st->lock_all && (rv = raw_put(r, st, id, expiry, data, len))
                         != APR_SUCCESS)
        return rv;
    if ((rv = lock(st)) != APR_SUCCESS)
        return st->lock_all ? failed(r, st, rv, "lock") : APR_SUCCESS;
    rv = st->lock_all ? raw_put(r, st, id, expiry, data, len) : APR_SUCCESS;
    if (rv == APR_SUCCESS)
        recorded_locked(r, st, id, expiry, window);
    unlock(st);
    return rv;
}

/* Flows: best effort; a failure only loses what a later login step could
 * have been told, so it is counted like any other. */
static apr_status_t flow_call(request_rec *r, alx_store_t *st, int put,
                              const unsigned char *id, apr_time_t expiry,
                              unsigned char *data, unsigned int *len)
{
    apr_status_t rv;

    if (!st || !st->flows)
        return APR_ENOTIMPL;
    if ((rv = lock_call(r, st)) != APR_SUCCESS)
        return rv;
    rv = put ? st->provider->store(st->flows, r->server, id, ALX_GRACE_ID_LEN,
                                   expiry, data, *len, r->pool)
             : st->provider->retrieve(st->flows, r->server, id,
                                      ALX_GRACE_ID_LEN, data, len, r->pool);
    unlock_call(st);
    if (!put && rv == APR_EGENERAL && st->missing_is_egeneral)
        rv = APR_NOTFOUND;
    return rv == APR_SUCCESS || rv == APR_NOTFOUND
           ? rv : failed(r, st, rv, put ? "write a flow" : "read a flow");
}

apr_status_t alexalink_store_flow_put(request_rec *r, const unsigned char *id,
                                      apr_time_t expiry, const char *data,
                                      apr_size_t len)
{
    unsigned int n = (unsigned int)len;

    return flow_call(r, store_of(r), 1, id, expiry, (unsigned char *)data, &n);
}

apr_status_t alexalink_store_flow_get(request_rec *r, const unsigned char *id,
                                      char *buf, apr_size_t *len)
{
    unsigned int n = (unsigned int)*len;
    apr_status_t rv = flow_call(r, store_of(r), 0, id, 0,
                                (unsigned char *)buf, &n);

    *len = n;
    return rv;
}
